import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// One line per request on stderr: method, target, status, bytes and time, written once the
/// body has gone out. A body cut short (a damaged file found mid-stream, a client that went
/// away, a stop) says so with the bytes actually sent, instead of the length promised.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    var log: @Sendable (String) -> Void

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        let started = ContinuousClock.now
        @Sendable func line(_ status: Int, _ length: String) {
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
            let target = request.uri.description.unicodeScalars.map {
                $0.value < 0x20 || $0.value == 0x7F ? "%" + String(format: "%02X", $0.value) : String($0)
            }.joined()
            log("\(request.method) \(target) \(status) \(length) \(String(format: "%.1f", milliseconds))ms")
        }
        do {
            var response = try await next(request, context)
            let status = response.status.code
            let body = response.body
            let promised = body.contentLength
            response.body = ResponseBody(contentLength: promised) { writer in
                let sent = SentBytes()
                do {
                    try await body.write(CountingWriter(base: writer, sent: sent))
                    line(status, "\(sent.count)B")
                } catch {
                    let reason = "\(error)".prefix(200)
                    line(status, "cut after \(sent.count) of \(promised.map { "\($0)B" } ?? "?"): \(reason)")
                    throw error
                }
            }
            return response
        } catch let error as any HTTPResponseError {
            line(error.status.code, "-")
            throw error
        } catch {
            line(500, "-")
            throw error
        }
    }
}

/// The bytes a response body has handed to the connection so far.
private final class SentBytes: Sendable {
    private let total = Mutex(0)
    var count: Int { total.withLock { $0 } }
    func add(_ bytes: Int) { total.withLock { $0 += bytes } }
}

/// A body writer that counts what passes through it.
private struct CountingWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    let sent: SentBytes

    mutating func write(_ buffer: ByteBuffer) async throws {
        try await base.write(buffer)
        sent.add(buffer.readableBytes)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await base.finish(trailingHeaders)
    }
}

/// Every request but a CORS preflight presents the bearer token or the user and password
/// (HTTP basic); otherwise 401 with the challenge.
struct Authentication<Context: RequestContext>: RouterMiddleware {
    var token: String?
    var credentials: (user: String, password: String)?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        if request.method == .options { return try await next(request, context) }
        let presented = request.headers[.authorization] ?? ""
        var allowed = false
        if let token, presented.lowercased().hasPrefix("bearer ") {
            allowed = Self.same(String(presented.dropFirst(7)).trimmingSpaces, token)
        }
        if let credentials, presented.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(presented.dropFirst(6)).trimmingSpaces),
            let pair = String(data: data, encoding: .utf8)
        {
            allowed = Self.same(pair, "\(credentials.user):\(credentials.password)")
        }
        guard allowed else {
            var challenges: [String] = []
            if credentials != nil { challenges.append("Basic realm=\"dql\"") }
            if token != nil { challenges.append("Bearer realm=\"dql\"") }
            let error = DICOMwebError(.unauthorized, "this server needs credentials (Authorization: Bearer or Basic)")
            var response = try error.response(from: request, context: context)
            response.headers[.wwwAuthenticate] = challenges.joined(separator: ", ")
            return response
        }
        return try await next(request, context)
    }

    /// Compares by digest, so the time taken says nothing about the secret.
    static func same(_ a: String, _ b: String) -> Bool {
        SHA256.hash(data: Data(a.utf8)) == SHA256.hash(data: Data(b.utf8))
    }
}

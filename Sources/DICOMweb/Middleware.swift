import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// One line per request on stderr: method, target, status, bytes and time, written once the
/// body has been handed to the connection; a server error says why. A body cut short (a
/// damaged file found mid-stream, a client that went away, a stop) says so, with the bytes
/// handed over by then. Those are written in slices of at most 1 MiB, each waiting
/// for the connection to take it, so a client that stops reading stops the count too (give or
/// take the sockets' buffers). Nothing from the request or the store reaches the log
/// unescaped: control characters are written as `%XX`.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    var log: @Sendable (String) -> Void

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        let started = ContinuousClock.now
        @Sendable func line(_ status: Int, _ length: String, _ reason: String? = nil) {
            let elapsed = ContinuousClock.now - started
            // Tenths of a millisecond, written without Foundation's formatter (every request
            // writes this line).
            let tenths = elapsed.components.seconds * 10_000 + elapsed.components.attoseconds / 100_000_000_000_000
            let text =
                "\(request.method) \(request.uri.description) \(status) \(length) \(tenths / 10).\(tenths % 10)ms"
                + (reason.map { ": " + $0.prefix(300) } ?? "")
            log(Self.escaped(text))
        }
        do {
            var response = try await next(request, context)
            let status = response.status.code
            let body = response.body
            let promised = body.contentLength
            // HEAD answers GET's headers; its body is never written.
            if request.method == .head {
                line(status, "-")
                return response
            }
            response.body = ResponseBody(contentLength: promised) { writer in
                let sent = SentBytes()
                do {
                    try await body.write(CountingWriter(base: writer, sent: sent))
                    line(status, "\(sent.count)B")
                } catch {
                    line(status, "cut after \(sent.count) of \(promised.map { "\($0)B" } ?? "?")", "\(error)")
                    throw error
                }
            }
            return response
        } catch let error as DICOMwebError {
            line(error.status.code, "-", error.status.code >= 500 ? error.message : nil)
            throw error
        } catch let error as any HTTPResponseError {
            line(error.status.code, "-")
            throw error
        } catch {
            line(500, "-", "\(error)")
            throw error
        }
    }

    /// Control characters as `%XX`, so a line is one line whatever a URL or a file name holds.
    static func escaped(_ text: String) -> String {
        // The common line, printable ASCII only, as it is.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}"
                || scalar == "\u{2029}"
            {
                result += String(format: "%%%02X", scalar.value)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

}

/// A method the server does not serve is 405 with the methods it does (HEAD is answered as
/// GET, without the body: the router's `autoGenerateHeadEndpoints`).
struct MethodPolicy<Context: RequestContext>: RouterMiddleware {
    static var served: [HTTPRequest.Method] { [.get, .head, .post, .options] }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        guard Self.served.contains(request.method) else {
            var response = try DICOMwebError(
                .methodNotAllowed, "\(request.method) is not served; this server takes GET, HEAD and POST"
            ).response(from: request, context: context)
            response.headers[.allow] = Self.served.map(\.rawValue).joined(separator: ", ")
            return response
        }
        return try await next(request, context)
    }
}

/// The bytes a response body has handed to the connection so far.
private final class SentBytes: Sendable {
    private let total = Mutex(0)
    var count: Int { total.withLock { $0 } }
    func add(_ bytes: Int) { total.withLock { $0 += bytes } }
}

/// A body writer that counts what passes through it, in slices the connection takes one at a
/// time.
private struct CountingWriter: ResponseBodyWriter {
    static let sliceBytes = 1 << 20

    var base: any ResponseBodyWriter
    let sent: SentBytes

    mutating func write(_ buffer: ByteBuffer) async throws {
        var rest = buffer
        while rest.readableBytes > 0 {
            let size = min(rest.readableBytes, Self.sliceBytes)
            guard let slice = rest.readSlice(length: size) else { break }
            try await base.write(slice)
            sent.add(size)
        }
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
        let allowed = Self.allows(request.headers[.authorization], token: token, credentials: credentials)
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

    /// Whether an `Authorization` header presents the token or the credentials.
    static func allows(
        _ authorization: String?, token: String?, credentials: (user: String, password: String)?
    ) -> Bool {
        let presented = authorization ?? ""
        if let token, presented.lowercased().hasPrefix("bearer "),
            same(String(presented.dropFirst(7)).trimmingSpaces, token)
        {
            return true
        }
        if let credentials, presented.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(presented.dropFirst(6)).trimmingSpaces),
            let pair = String(data: data, encoding: .utf8)
        {
            return same(pair, "\(credentials.user):\(credentials.password)")
        }
        return false
    }

    /// Compares by digest, so the time taken says nothing about the secret.
    static func same(_ a: String, _ b: String) -> Bool {
        SHA256.hash(data: Data(a.utf8)) == SHA256.hash(data: Data(b.utf8))
    }
}

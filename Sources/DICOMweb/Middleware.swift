import Crypto
import Foundation
import Hummingbird

/// One line per request on stderr: client, method, target, status, bytes and time.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    var log: @Sendable (String) -> Void

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        let started = ContinuousClock.now
        func line(_ status: Int, _ length: String) {
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
            let target = request.uri.description.unicodeScalars.map {
                $0.value < 0x20 || $0.value == 0x7F ? "%" + String(format: "%02X", $0.value) : String($0)
            }.joined()
            log("\(request.method) \(target) \(status) \(length) \(String(format: "%.1f", milliseconds))ms")
        }
        do {
            let response = try await next(request, context)
            line(response.status.code, response.body.contentLength.map { "\($0)B" } ?? "-")
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

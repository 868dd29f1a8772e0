/// An error from talking to Redis, saying which server and what failed.
///
/// Server error replies inside a pipeline are values (``RedisReply/error(_:)``); this type is
/// thrown when a command cannot be carried out at all, or when a caller asked for a reply to be
/// checked.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in categories a caller can act on.
    public enum Kind: Sendable, Equatable {
        /// The URL could not be parsed.
        case invalidURL
        /// No connection could be made (refused, unreachable, name not found).
        case connect
        /// Connecting or waiting for a reply took longer than the configured timeout.
        case timeout
        /// The server rejected the credentials.
        case authentication
        /// The connection failed while sending or receiving (server gone, reset, EOF).
        case io
        /// The server sent bytes that are not valid RESP.
        case protocolViolation
        /// The server answered with an error reply.
        case server
        /// The reply had a shape the caller did not expect.
        case unexpectedReply
        /// The client cannot do what was asked.
        case unsupported
        /// TLS failed: the handshake, a certificate check, or the encrypted stream.
        case tls
        /// The user interrupted a wait on the server (Ctrl-C); the connection is dropped, as
        /// its stream position is unknown.
        case cancelled
        /// The client's own TLS files cannot be used (not PEM, encrypted, a key of another
        /// certificate): a mistake in the settings, not in the server.
        case tlsSettings
    }

    public var kind: Kind
    /// `host:port` of the server, or the socket path; empty where no server is involved.
    public var endpoint: String
    /// A human-readable explanation. Never contains a password.
    public var message: String

    /// True when the connection itself failed (unreachable, timed out, refused credentials,
    /// dropped): retrying the next item on the same server will fail the same way.
    public var isConnectionFailure: Bool {
        switch kind {
        case .connect, .timeout, .authentication, .io, .protocolViolation, .tls, .cancelled: true
        case .invalidURL, .server, .unexpectedReply, .unsupported, .tlsSettings: false
        }
    }

    /// True when the server says a search index does not exist (RediSearch words it as "no
    /// such index" or "Unknown index name").
    public var isMissingIndex: Bool { kind == .server && Self.saysIndexIsMissing(message) }

    /// Whether a server's error message says a search index does not exist.
    public static func saysIndexIsMissing(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("no such index") || lowered.contains("unknown index")
    }

    public init(_ kind: Kind, endpoint: String = "", _ message: String) {
        self.kind = kind
        self.endpoint = endpoint
        self.message = message
    }

    public var description: String {
        endpoint.isEmpty ? message : "redis \(endpoint): \(message)"
    }

    /// For server error replies: the error code, such as `WRONGTYPE` or `ERR`.
    public var serverErrorCode: Substring? {
        guard kind == .server else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }
}

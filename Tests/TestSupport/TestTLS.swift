import Foundation
import RedisIO

/// The TLS endpoints `scripts/test.sh` started: stunnel in front of the test server (one
/// service per certificate case, all signed by a test CA made in the run) and Debian's own
/// TLS-capable redis-server 7.0.
public enum TestTLS {
    public enum Endpoint: String, Sendable, CaseIterable {
        /// The test server, with a valid certificate for 127.0.0.1 and localhost.
        case main = "DQL_TEST_TLS_URL"
        /// The test server, requiring a client certificate from the test CA.
        case clientCertificate = "DQL_TEST_TLS_CLIENT_CERT_URL"
        /// The test server, showing a certificate that expired yesterday.
        case expired = "DQL_TEST_TLS_EXPIRED_URL"
        /// The test server, showing a certificate from an unrelated CA.
        case otherCA = "DQL_TEST_TLS_OTHER_CA_URL"
        /// Debian's redis-server 7.0 with its own TLS (no modules).
        case debian = "DQL_TEST_DEBIAN_TLS_URL"
    }

    /// The directory holding the test CA and certificates.
    public static func directory() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["DQL_TEST_TLS_DIR"], !path.isEmpty else {
            throw TestSetupError("DQL_TEST_TLS_DIR is not set: run the tests with scripts/test.sh")
        }
        return path
    }

    public static func url(_ endpoint: Endpoint) throws -> RedisURL {
        guard let text = ProcessInfo.processInfo.environment[endpoint.rawValue], !text.isEmpty else {
            throw TestSetupError("\(endpoint.rawValue) is not set: run the tests with scripts/test.sh")
        }
        return try RedisURL(parsing: text)
    }

    /// A file of the test PKI: `ca.pem`, `client.pem`, `client.key`, `other-ca.pem`, ….
    public static func file(_ name: String) throws -> String {
        try directory() + "/" + name
    }

    /// Trusting the test CA; with the client certificate when `asClient`.
    public static func options(asClient: Bool = false) throws -> TLSOptions {
        TLSOptions(
            caFile: try file("ca.pem"), certificateFile: asClient ? try file("client.pem") : nil,
            keyFile: asClient ? try file("client.key") : nil)
    }

    public static func configuration(_ endpoint: Endpoint, options: TLSOptions? = nil) throws -> RedisConfiguration {
        RedisConfiguration(
            url: try url(endpoint), connectTimeout: 5, commandTimeout: 30, tls: try options ?? self.options())
    }
}

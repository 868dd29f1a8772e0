import COpenSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An OpenSSL client context (`SSL_CTX`) made from ``TLSOptions``: trust, client certificate,
/// TLS 1.2 at least. One per distinct options for the process's life, shared by every
/// connection (OpenSSL makes sessions from one context on any thread).
public final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer

    private init(pointer: OpaquePointer) { self.pointer = pointer }

    private static let contexts = Mutex<[TLSOptions: TLSContext]>([:])

    /// The context for `options`, made on first use. Errors (a CA file that cannot be read, a
    /// key that does not match its certificate) name the file and OpenSSL's reason.
    static func shared(for options: TLSOptions, endpoint: String) throws -> TLSContext {
        try contexts.withLock { contexts in
            if let context = contexts[options] { return context }
            let context = try make(options, endpoint: endpoint)
            contexts[options] = context
            return context
        }
    }

    private static func make(_ options: TLSOptions, endpoint: String) throws -> TLSContext {
        ERR_clear_error()
        guard let pointer = SSL_CTX_new(TLS_client_method()) else {
            throw RedisError(.tls, endpoint: endpoint, "TLS: cannot create a context: \(lastErrorText())")
        }
        func fail(_ message: String) -> RedisError {
            SSL_CTX_free(pointer)
            return RedisError(.tlsSettings, endpoint: endpoint, "TLS: \(message)")
        }
        // An encrypted key would make OpenSSL ask for its pass phrase on the terminal.
        SSL_CTX_set_default_passwd_cb(pointer) { _, _, _, _ in 0 }
        _ = dql_ssl_ctx_set_min_proto_version(pointer, TLS1_2_VERSION)
        if options.verifiesServer {
            SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, nil)
            if options.caFile != nil || options.caDirectory != nil {
                guard SSL_CTX_load_verify_locations(pointer, options.caFile, options.caDirectory) == 1 else {
                    throw fail(
                        "cannot use \(options.trustDescription): \(plainReason(lastErrorText(), what: "CA certificates"))"
                    )
                }
            } else if SSL_CTX_set_default_verify_paths(pointer) != 1 {
                throw fail("cannot read the system's trusted CAs: \(lastErrorText())")
            }
        } else {
            SSL_CTX_set_verify(pointer, SSL_VERIFY_NONE, nil)
        }
        if let certificate = options.certificateFile {
            guard SSL_CTX_use_certificate_chain_file(pointer, certificate) == 1 else {
                throw fail(
                    "cannot use the client certificate \(certificate): \(plainReason(lastErrorText(), what: "certificate"))"
                )
            }
            let key = options.keyFile ?? certificate
            guard SSL_CTX_use_PrivateKey_file(pointer, key, SSL_FILETYPE_PEM) == 1 else {
                let reason = lastErrorText()
                if reason.contains("key values mismatch") {
                    throw fail("the client key \(key) does not belong to the certificate \(certificate)")
                }
                throw fail("cannot use the client key \(key): \(plainReason(reason, what: "private key", file: key))")
            }
            guard SSL_CTX_check_private_key(pointer) == 1 else {
                throw fail("the client key \(key) does not belong to the certificate \(certificate)")
            }
        }
        return TLSContext(pointer: pointer)
    }

    /// Why `certificate` and `key` cannot serve TLS together, in plain words, or nil: for
    /// checking a server's files (`dql server start --tls`) before anything is started.
    public static func problemWithKeyPair(certificate: String, key: String) -> String? {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { return "cannot check: \(lastErrorText())" }
        defer { SSL_CTX_free(context) }
        SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
        guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
            return "\(certificate): \(plainReason(lastErrorText(), what: "certificate"))"
        }
        guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
            let reason = lastErrorText()
            if reason.contains("key values mismatch") { return "\(key) is not the key of \(certificate)" }
            return "\(key): \(plainReason(reason, what: "private key", file: key))"
        }
        guard SSL_CTX_check_private_key(context) == 1 else { return "\(key) is not the key of \(certificate)" }
        return nil
    }

    /// OpenSSL's reason for a file it could not use, in plain words.
    static func plainReason(_ reason: String, what: String, file: String? = nil) -> String {
        if let file, let text = try? String(contentsOfFile: file, encoding: .utf8), text.contains("ENCRYPTED") {
            return
                "the key is encrypted; dql needs it unencrypted (`openssl pkey -in KEY -out PLAIN.key`), kept readable by you alone"
        }
        switch reason {
        case "PEM lib", "no start line", "bad base64 decode", "bad end line", "ASN1 lib":
            return "not a PEM \(what) file (\(reason))"
        case "no certificate or crl found": return "the file holds no certificate (\(reason))"
        case "system lib": return "it could not be read (\(reason))"
        default: return reason
        }
    }

    /// OpenSSL's reason for the newest error on this thread's queue (then clears the queue).
    static func lastErrorText() -> String {
        let code = ERR_peek_last_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        if let reason = ERR_reason_error_string(code) { return String(cString: reason) }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A certificate check that failed during the handshake, in words a user can act on.
    static func describeVerificationFailure(_ result: Int, name: String, options: TLSOptions) -> String {
        let reason = X509_verify_cert_error_string(result).map { String(cString: $0) } ?? "error \(result)"
        let check: String
        switch Int32(result) {
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            check =
                "the server's certificate is not for '\(name)' (\(reason)); --tls-server-name sets the name to expect"
        case X509_V_ERR_CERT_HAS_EXPIRED:
            check = "the server's certificate has expired"
        case X509_V_ERR_CERT_NOT_YET_VALID:
            check = "the server's certificate is not valid yet"
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            check =
                "the server's certificate is not signed by \(options.trustDescription) (\(reason)); --tls-ca names the CA to trust"
        default:
            check = "the server's certificate failed verification: \(reason)"
        }
        return "TLS: \(check)"
    }

    /// An OpenSSL error reason met while talking, with what it most likely means.
    static func explain(_ reason: String, doing what: String) -> String {
        let lowered = reason.lowercased()
        if lowered.contains("certificate required") {
            return "TLS: the server requires a client certificate (give --tls-cert and --tls-key): \(reason)"
        }
        if lowered.contains("wrong version number") || lowered.contains("packet length too long")
            || lowered.contains("record layer failure")
        {
            return
                "TLS: the server does not speak TLS on this port (\(reason)) while trying to \(what); use redis:// for a plain connection"
        }
        if lowered.contains("unknown ca") || lowered.contains("bad certificate") {
            return "TLS: the server refused the client certificate (\(reason))"
        }
        return "TLS: \(reason) while trying to \(what)"
    }
}

import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// A connected byte stream to one server: a TCP socket, plain or with TLS on it. Owns the
/// socket; ``RedisConnection`` speaks RESP over it (hiredis as the codec) and ``RawChannel``
/// moves chunk bytes over it, so both work the same over TLS.
///
/// Blocking, like a file handle, but every wait is a `poll` bounded by the command timeout and
/// ended early by ``NetworkInterruption`` (Ctrl-C), so a silent server never holds dql longer
/// than the user wants. The socket itself is non-blocking.
final class Transport {
    let endpoint: String
    /// The socket; -1 once closed (closing twice could close a descriptor that was reused).
    private var descriptor: Int32
    /// The TLS session (`SSL *`), or nil on plain TCP.
    private var session: OpaquePointer?
    /// Small parts of a TLS write, gathered so a command's header does not become a TLS record
    /// of its own.
    private var staging: [UInt8] = []
    /// Whether any reply bytes have arrived: a server that refuses the client (no certificate,
    /// or a TLS port meeting plain text) ends the connection before the first reply.
    private var hasRead = false
    /// Whether a client certificate was offered, for what a close right after the handshake means.
    private var offersCertificate = false

    init(descriptor: Int32, endpoint: String) {
        self.descriptor = descriptor
        self.endpoint = endpoint
    }

    deinit { close() }

    /// Connects to `host:port` within `connectTimeout` seconds, then (with `tls`) does the TLS
    /// handshake and verifies the server's certificate. Replies are then awaited up to
    /// `commandTimeout` seconds (nil: forever).
    static func connect(
        host: String, port: Int, connectTimeout: Double, commandTimeout: Double?, tls: TLSOptions?
    ) throws -> Transport {
        let endpoint = RedisURL(host: host, port: port).endpoint
        let descriptor = try openSocket(host: host, port: port, timeout: connectTimeout, endpoint: endpoint)
        let transport = Transport(descriptor: descriptor, endpoint: endpoint)
        if let tls {
            transport.commandTimeout = connectTimeout
            try transport.startTLS(tls, host: host)
        }
        transport.commandTimeout = commandTimeout
        return transport
    }

    /// Whether the bytes on the wire are encrypted.
    var usesTLS: Bool { session != nil }

    /// The TLS protocol and cipher agreed (`TLSv1.3, TLS_AES_256_GCM_SHA384`), nil on plain TCP.
    var tlsDescription: String? {
        guard let session else { return nil }
        let version = SSL_get_version(session).map { String(cString: $0) } ?? "TLS"
        let cipher = SSL_get_current_cipher(session).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) }
        return cipher.map { "\(version), \($0)" } ?? version
    }

    func close() {
        if let session {
            SSL_free(session)
            self.session = nil
        }
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    // MARK: Writing

    /// Writes every byte of `parts`, in order; `what` names the operation in errors.
    func write(_ parts: [UnsafeRawBufferPointer], doing what: String) throws {
        do {
            if session != nil {
                for part in parts {
                    if part.count < Self.stagingLimit {
                        staging.append(contentsOf: part)
                        if staging.count >= Self.stagingLimit { try flushStaging(doing: what) }
                    } else {
                        try flushStaging(doing: what)
                        try writeTLS(part, doing: what)
                    }
                }
                try flushStaging(doing: what)
            } else {
                try writePlain(parts, doing: what)
            }
        } catch let error as RedisError {
            throw explainedBeforeFirstReply(error)
        }
    }

    /// A connection the server ends before its first reply most likely met a refusal: a TLS
    /// server wanting a client certificate, or a TLS port that got plain text.
    private func explainedBeforeFirstReply(_ error: RedisError) -> RedisError {
        guard !hasRead, error.kind == .io else { return error }
        if session != nil {
            guard !offersCertificate else { return error }
            return RedisError(
                .tls, endpoint: endpoint,
                "TLS: the server ended the connection before its first reply (\(error.message)); if it requires a client certificate, give --tls-cert and --tls-key"
            )
        }
        var explained = error
        explained.message += "; if the port speaks TLS, use rediss://"
        return explained
    }

    private static let stagingLimit = 16 << 10

    private func flushStaging(doing what: String) throws {
        guard !staging.isEmpty else { return }
        try staging.withUnsafeBytes { try writeTLS($0, doing: what) }
        staging.removeAll(keepingCapacity: staging.capacity <= 4 * Self.stagingLimit)
    }

    private func writeTLS(_ bytes: UnsafeRawBufferPointer, doing what: String) throws {
        guard let session, let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let piece = Int32(clamping: bytes.count - done)
            let written = SSL_write(session, base + done, piece)
            if written > 0 {
                done += Int(written)
                continue
            }
            try waitForTLS(result: written, doing: what)
        }
    }

    private func writePlain(_ parts: [UnsafeRawBufferPointer], doing what: String) throws {
        var vectors = parts.filter { $0.count > 0 }.map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        var index = 0
        while index < vectors.count {
            let batch = min(vectors.count - index, 1024)  // IOV_MAX on Linux
            let written = vectors[index..<index + batch].withUnsafeBufferPointer { slice in
                writev(descriptor, slice.baseAddress, Int32(slice.count))
            }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    try wait(for: Int16(POLLOUT), doing: what)
                    continue
                }
                throw systemError(doing: what)
            }
            var remaining = written
            while index < vectors.count && remaining >= vectors[index].iov_len {
                remaining -= vectors[index].iov_len
                index += 1
            }
            if index < vectors.count && remaining > 0 {
                vectors[index].iov_base = vectors[index].iov_base.map { $0 + remaining }
                vectors[index].iov_len -= remaining
            }
        }
    }

    // MARK: Reading

    /// Reads at least one byte into `buffer`; returns how many. Throws when the server closed
    /// the connection, the timeout passed, or the connection failed.
    func read(into buffer: UnsafeMutableRawBufferPointer, doing what: String) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if let session {
            while true {
                let count = SSL_read(session, base, Int32(clamping: buffer.count))
                if count > 0 {
                    hasRead = true
                    return Int(count)
                }
                do {
                    try waitForTLS(result: count, doing: what)
                } catch let error as RedisError {
                    throw explainedBeforeFirstReply(error)
                }
            }
        }
        while true {
            let count = Glibc.read(descriptor, base, buffer.count)
            if count > 0 {
                hasRead = true
                return count
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try wait(for: Int16(POLLIN), doing: what)
                continue
            }
            throw explainedBeforeFirstReply(count == 0 ? closedError(doing: what) : systemError(doing: what))
        }
    }

    /// Whether the server has closed this idle connection or sent something nobody asked for,
    /// found out without blocking and without taking any reply bytes.
    var isClosedByPeer: Bool {
        var byte: UInt8 = 0
        let peeked = recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if peeked < 0 { return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR }
        if peeked == 0 { return true }
        guard let session else { return true }
        // TLS records arrived: session tickets (TLS 1.3 sends them after the handshake) are
        // housekeeping; application data or a close alert means the connection is not idle.
        if SSL_pending(session) > 0 { return true }
        let result = SSL_peek(session, &byte, 1)
        if result > 0 { return true }
        let reason = SSL_get_error(session, result)
        ERR_clear_error()
        return reason != SSL_ERROR_WANT_READ && reason != SSL_ERROR_WANT_WRITE
    }

    // MARK: Connecting

    private static func openSocket(host: String, port: Int, timeout: Double, endpoint: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let first = found else {
            throw RedisError(.connect, endpoint: endpoint, "cannot connect: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0.001, timeout) * 1000))
        var lastError: RedisError?
        var address: UnsafeMutablePointer<addrinfo>? = first
        while let current = address {
            address = current.pointee.ai_next
            let descriptor = socket(
                current.pointee.ai_family,
                current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                current.pointee.ai_protocol)
            guard descriptor >= 0 else { continue }
            do {
                try connectSocket(descriptor, to: current, deadline: deadline, timeout: timeout, endpoint: endpoint)
                var on: Int32 = 1
                setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                setsockopt(descriptor, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
                return descriptor
            } catch let error as RedisError {
                Glibc.close(descriptor)
                lastError = error
                if error.kind == .timeout { break }
            }
        }
        throw lastError ?? RedisError(.connect, endpoint: endpoint, "cannot connect: no usable address")
    }

    private static func connectSocket(
        _ descriptor: Int32, to address: UnsafeMutablePointer<addrinfo>, deadline: ContinuousClock.Instant,
        timeout: Double, endpoint: String
    ) throws {
        if Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return }
        guard errno == EINPROGRESS else {
            throw RedisError(.connect, endpoint: endpoint, "cannot connect: \(String(cString: strerror(errno)))")
        }
        switch NetworkInterruption.wait(on: descriptor, for: Int16(POLLOUT), until: deadline) {
        case .ready: break
        case .interrupted: throw NetworkInterruption.error(endpoint: endpoint, doing: "connect")
        case .timedOut:
            throw RedisError(
                .timeout, endpoint: endpoint, "connect timed out after \(RedisConnection.formatSeconds(timeout))")
        case .failed(let code):
            throw RedisError(.connect, endpoint: endpoint, "cannot connect: \(String(cString: strerror(code)))")
        }
        var problem: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &problem, &length)
        guard problem == 0 else {
            throw RedisError(.connect, endpoint: endpoint, "cannot connect: \(String(cString: strerror(problem)))")
        }
    }

    /// How long one wait for the server may last (nil: forever); during the handshake, the
    /// connect timeout.
    private var commandTimeout: Double?

    /// Waits until the socket is ready for `events`, the timeout passes (a timeout error), or
    /// the user interrupts (a cancellation error).
    private func wait(for events: Int16, doing what: String) throws {
        let deadline = commandTimeout.map { ContinuousClock.now + .milliseconds(Int64(($0 * 1000).rounded(.up))) }
        switch NetworkInterruption.wait(on: descriptor, for: events, until: deadline) {
        case .ready: return
        case .interrupted: throw NetworkInterruption.error(endpoint: endpoint, doing: what)
        case .timedOut:
            errno = EAGAIN
            throw systemError(doing: what)
        case .failed(let code):
            errno = code
            throw systemError(doing: what)
        }
    }

    /// After an SSL call returned `result`: waits when OpenSSL wants the socket (then the call
    /// is repeated), else throws what the failure means.
    private func waitForTLS(result: Int32, doing what: String) throws {
        guard let session else { throw closedError(doing: what) }
        switch SSL_get_error(session, result) {
        case SSL_ERROR_WANT_READ: try wait(for: Int16(POLLIN), doing: what)
        case SSL_ERROR_WANT_WRITE: try wait(for: Int16(POLLOUT), doing: what)
        default: throw tlsError(result: result, doing: what)
        }
    }

    private func startTLS(_ options: TLSOptions, host: String) throws {
        let context = try TLSContext.shared(for: options, endpoint: endpoint)
        guard let session = SSL_new(context.pointer) else {
            throw RedisError(.tls, endpoint: endpoint, "TLS: cannot start a session: \(TLSContext.lastErrorText())")
        }
        self.session = session
        offersCertificate = options.certificateFile != nil
        SSL_set_fd(session, descriptor)
        let name = options.serverName ?? host
        let isAddress = Self.isIPAddress(name)
        if !isAddress { _ = dql_ssl_set_server_name(session, name) }
        if options.verifiesServer {
            let parameters = SSL_get0_param(session)
            if isAddress {
                X509_VERIFY_PARAM_set1_ip_asc(parameters, name)
            } else {
                X509_VERIFY_PARAM_set1_host(parameters, name, 0)
            }
        }
        ERR_clear_error()
        var result = SSL_connect(session)
        while result != 1 {
            let reason = SSL_get_error(session, result)
            guard reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE else { break }
            do {
                try waitForTLS(result: result, doing: "do the TLS handshake")
            } catch let error as RedisError where error.kind == .timeout {
                throw RedisError(
                    .tls, endpoint: endpoint,
                    "TLS: no answer to the TLS handshake within \(commandTimeout.map(RedisConnection.formatSeconds) ?? "the timeout"); the port may not speak TLS (redis:// connects without it)"
                )
            }
            result = SSL_connect(session)
        }
        guard result == 1 else {
            let verification = SSL_get_verify_result(session)
            if verification != X509_V_OK {
                throw RedisError(
                    .tls, endpoint: endpoint,
                    TLSContext.describeVerificationFailure(verification, name: name, options: options))
            }
            let error = tlsError(result: result, doing: "do the TLS handshake")
            if error.kind == .timeout {
                throw RedisError(
                    .tls, endpoint: endpoint,
                    "TLS: no answer to the TLS handshake within \(commandTimeout.map(RedisConnection.formatSeconds) ?? "the timeout"); the port may not speak TLS (redis:// connects without it)"
                )
            }
            throw error
        }
    }

    static func isIPAddress(_ text: String) -> Bool {
        var buffer = in6_addr()
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }

    // MARK: Errors

    private func systemError(doing what: String) -> RedisError {
        if errno == EAGAIN || errno == EWOULDBLOCK {
            let seconds = commandTimeout.map(RedisConnection.formatSeconds) ?? "the timeout"
            return RedisError(.timeout, endpoint: endpoint, "no reply within \(seconds) while trying to \(what)")
        }
        return RedisError(
            .io, endpoint: endpoint, "connection failed while trying to \(what): \(String(cString: strerror(errno)))")
    }

    private func closedError(doing what: String) -> RedisError {
        RedisError(.io, endpoint: endpoint, "server closed the connection while trying to \(what)")
    }

    /// What a failed SSL_read, SSL_write or SSL_connect means, in words.
    private func tlsError(result: Int32, doing what: String) -> RedisError {
        guard let session else { return closedError(doing: what) }
        let savedErrno = errno
        let reason = SSL_get_error(session, result)
        switch reason {
        case SSL_ERROR_ZERO_RETURN:
            ERR_clear_error()
            return closedError(doing: what)
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            errno = savedErrno
            if result == 0 || savedErrno == 0 { return closedError(doing: what) }
            return systemError(doing: what)
        default:
            let text = TLSContext.lastErrorText()
            return RedisError(.tls, endpoint: endpoint, TLSContext.explain(text, doing: what))
        }
    }
}

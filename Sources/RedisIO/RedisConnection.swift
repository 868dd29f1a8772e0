import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One blocking connection to one Redis server: a ``Transport`` (TCP, or TLS for
/// `rediss://`) with hiredis's reader as the RESP codec.
///
/// A connection is used by one thread at a time (like a file handle); ``RedisPool`` hands
/// connections between threads. Calls block, so run them on dedicated threads
/// (``DedicatedThreads``), never on the Swift concurrency pool.
///
/// After an I/O error the stream position is unknown; the connection drops its transport
/// and connects afresh on the next call, so one dropped connection does not poison a
/// long-lived client.
public final class RedisConnection: @unchecked Sendable {
    public let configuration: RedisConfiguration
    private var transport: Transport?
    /// hiredis's RESP parser, fed with what the transport reads.
    private var reader: UnsafeMutablePointer<redisReader>?
    /// Commands queued by ``append(_:)``, sent with the next read.
    private var output: [UInt8] = []
    /// Where reads land before hiredis parses them (allocated on first read).
    private var input: UnsafeMutableRawBufferPointer?
    /// Commands appended whose replies have not been read yet.
    public private(set) var pendingReplies = 0

    /// `host:port` for messages.
    public var endpoint: String { configuration.url.endpoint }

    /// Opens a connection, authenticates and selects the database.
    public init(_ configuration: RedisConfiguration) throws {
        ignoreBrokenPipeSignals()
        self.configuration = configuration
        try connect()
    }

    /// Opens a connection to `url` with default timeouts.
    public convenience init(url: RedisURL) throws {
        try self.init(RedisConfiguration(url: url))
    }

    deinit {
        discardTransport()
        input?.deallocate()
    }

    /// True while the connection has seen no error.
    public var isHealthy: Bool { transport != nil }

    /// Whether the server has closed this idle connection, or sent something nobody asked
    /// for: looked at without blocking or reading, so a pool never lends a connection that is
    /// sure to fail.
    public var isClosedByServer: Bool {
        guard let transport, pendingReplies == 0, !readerHoldsBytes else { return true }
        return transport.isClosedByPeer
    }

    /// Whether the connection is encrypted (TLS).
    public var usesTLS: Bool { transport?.usesTLS ?? false }

    /// The TLS protocol and cipher in use (`TLSv1.3, TLS_AES_256_GCM_SHA384`), nil without TLS.
    public var tlsDescription: String? { transport?.tlsDescription }

    /// Closes the connection now rather than at deinit.
    public func close() {
        discardTransport()
    }

    // MARK: Commands

    /// Sends one command and waits for its reply. Error replies are returned, not thrown.
    public func send(_ command: RedisCommand) throws -> RedisReply {
        try ensureUsable()
        try append(command)
        return try readReply()
    }

    /// Sends one command and returns its reply, throwing if the server answered with an error.
    @discardableResult
    public func call(_ command: RedisCommand) throws -> RedisReply {
        try send(command).checked(endpoint: endpoint)
    }

    /// Convenience for `call(RedisCommand(words))`.
    @discardableResult
    public func call(_ words: String...) throws -> RedisReply {
        try call(RedisCommand(words))
    }

    /// Sends all commands in one write and reads all replies, in order. Error replies are
    /// returned in place; an I/O error throws and leaves the connection to be rebuilt.
    public func pipeline(_ commands: [RedisCommand]) throws -> [RedisReply] {
        try ensureUsable()
        for command in commands { try append(command) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    /// Queues a command in the output buffer without sending it; it goes out with the next
    /// read. Pair every append with one read.
    public func append(_ command: RedisCommand) throws {
        try ensureUsable()
        RequestEncoding.appendArrayHeader(command.arguments.count, to: &output)
        for argument in command.arguments { RequestEncoding.appendBulk(argument, to: &output) }
        pendingReplies += 1
    }

    /// Queues a command whose arguments are raw memory (for bulk values that should not be
    /// copied into Swift arrays first); they are copied into the output buffer.
    public func append(arguments: [UnsafeRawBufferPointer]) throws {
        try ensureUsable()
        RequestEncoding.appendArrayHeader(arguments.count, to: &output)
        for argument in arguments { RequestEncoding.appendBulk(argument, to: &output) }
        pendingReplies += 1
    }

    /// Sends anything queued and reads the next reply as Swift values.
    public func readReply() throws -> RedisReply {
        try withNextReply { $0.materialized }
    }

    /// Sends anything queued, reads the next reply and lends it to `body` in place, without
    /// copying. The reply is freed when `body` returns.
    public func withNextReply<Result>(_ body: (RawRedisReply) throws -> Result) throws -> Result {
        guard let transport, let reader, pendingReplies > 0 else {
            throw RedisError(.unexpectedReply, endpoint: endpoint, "read a reply with no command pending")
        }
        do {
            try flushOutput(transport)
            let replyPointer = try nextReply(transport, reader)
            pendingReplies -= 1
            defer { freeReplyObject(replyPointer) }
            return try body(RawRedisReply(replyPointer.assumingMemoryBound(to: redisReply.self)))
        } catch let error as RedisError where error.isConnectionFailure {
            discardTransport()
            throw error
        }
    }

    private func flushOutput(_ transport: Transport) throws {
        guard !output.isEmpty else { return }
        try output.withUnsafeBytes { try transport.write([$0], doing: "send a command") }
        output.removeAll(keepingCapacity: output.capacity <= Self.inputSize)
    }

    /// Parses the next reply, reading from the transport until hiredis has a whole one.
    private func nextReply(
        _ transport: Transport, _ reader: UnsafeMutablePointer<redisReader>
    ) throws
        -> UnsafeMutableRawPointer
    {
        let buffer = inputBuffer()
        while true {
            var replyPointer: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &replyPointer) == REDIS_OK else {
                let text = withUnsafeBytes(of: reader.pointee.errstr) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                throw RedisError(
                    .protocolViolation, endpoint: endpoint, "protocol error while trying to read a reply: \(text)")
            }
            if let replyPointer { return replyPointer }
            let count = try transport.read(into: buffer, doing: "read a reply")
            guard let base = buffer.baseAddress,
                redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), count) == REDIS_OK
            else {
                throw RedisError(.io, endpoint: endpoint, "out of memory while trying to read a reply")
            }
        }
    }

    private static let inputSize = 256 << 10

    private func inputBuffer() -> UnsafeMutableRawBufferPointer {
        if let input { return input }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.inputSize, alignment: 16)
        input = buffer
        return buffer
    }

    /// Whether hiredis holds bytes it has not turned into replies yet.
    private var readerHoldsBytes: Bool {
        guard let reader else { return false }
        return reader.pointee.pos < reader.pointee.len
    }

    // MARK: Connecting

    private func connect() throws {
        let url = configuration.url
        transport = try Transport.connect(
            host: url.host, port: url.port, connectTimeout: configuration.connectTimeout,
            commandTimeout: configuration.commandTimeout, tls: configuration.effectiveTLS)
        reader = redisReaderCreate()
        output.removeAll(keepingCapacity: true)
        pendingReplies = 0
        do {
            try authenticate()
            if url.database != 0 {
                try call(RedisCommand("SELECT", String(url.database)))
            }
        } catch {
            discardTransport()
            throw error
        }
    }

    private func authenticate() throws {
        let url = configuration.url
        guard let password = url.password else { return }
        var command = RedisCommand("AUTH")
        if let username = url.username { command.append(username) }
        command.append(password)
        let reply = try send(command)
        if let message = reply.errorMessage {
            let who = url.username.map { "user '\($0)'" } ?? "the default user"
            throw RedisError(.authentication, endpoint: endpoint, "authentication as \(who) failed: \(message)")
        }
    }

    /// The transport, for ``withRawChannel(_:)``: only when nothing is queued, no reply is
    /// owed and hiredis holds no unparsed bytes, so the stream is at a command boundary.
    func rawTransport() throws -> Transport {
        try ensureUsable()
        guard let transport, pendingReplies == 0, output.isEmpty, !readerHoldsBytes else {
            throw RedisError(.unexpectedReply, endpoint: endpoint, "raw access with replies pending")
        }
        return transport
    }

    private func ensureUsable() throws {
        if transport == nil {
            discardTransport()
            try connect()
        }
    }

    private func discardTransport() {
        transport?.close()
        transport = nil
        if let reader { redisReaderFree(reader) }
        reader = nil
        output.removeAll()
        pendingReplies = 0
    }

    // MARK: Helpers

    static func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}

/// A write to a closed socket must become an error, not kill the process.
private let brokenPipeSignalsIgnored: Void = {
    _ = signal(SIGPIPE, SIG_IGN)
}()

func ignoreBrokenPipeSignals() {
    brokenPipeSignalsIgnored
}

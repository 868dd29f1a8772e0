import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One blocking connection to one Redis server, over hiredis.
///
/// A connection is used by one thread at a time (like a file handle); ``RedisPool`` hands
/// connections between threads. Calls block, so run them on dedicated threads
/// (``DedicatedThreads``), never on the Swift concurrency pool.
///
/// After an I/O error hiredis's context is unusable; the connection discards it and connects
/// afresh on the next call, so one dropped connection does not poison a long-lived client.
public final class RedisConnection: @unchecked Sendable {
    public let configuration: RedisConfiguration
    private var context: UnsafeMutablePointer<redisContext>?
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
        if let context { redisFree(context) }
    }

    /// True while the underlying context has seen no error.
    public var isHealthy: Bool {
        guard let context else { return false }
        return context.pointee.err == 0
    }

    /// Whether the server has closed this idle connection, or sent something nobody asked
    /// for: looked at without blocking or reading (a peek at the socket), so a pool never lends
    /// a connection that is sure to fail.
    public var isClosedByServer: Bool {
        guard let context, context.pointee.err == 0, pendingReplies == 0 else { return true }
        var byte: UInt8 = 0
        let peeked = recv(context.pointee.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return peeked >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    }

    /// Closes the connection now rather than at deinit.
    public func close() {
        discardContext()
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
        try withArgv(command.arguments) { try append(arguments: $0) }
    }

    /// Queues a command whose arguments are raw memory (for bulk values that should not be
    /// copied into Swift arrays first). hiredis copies them into its output buffer.
    public func append(arguments: [UnsafeRawBufferPointer]) throws {
        try ensureUsable()
        guard let context else { throw notConnected() }
        var pointers: [UnsafePointer<CChar>?] = arguments.map {
            $0.baseAddress?.assumingMemoryBound(to: CChar.self) ?? Self.emptyArgument
        }
        var lengths: [Int] = arguments.map(\.count)
        let status = pointers.withUnsafeMutableBufferPointer { pointerBuffer in
            lengths.withUnsafeMutableBufferPointer { lengthBuffer in
                redisAppendCommandArgv(
                    context, Int32(arguments.count), pointerBuffer.baseAddress, lengthBuffer.baseAddress)
            }
        }
        guard status == REDIS_OK else { throw contextError(doing: "queue a command") }
        pendingReplies += 1
    }

    /// Sends anything queued and reads the next reply as Swift values.
    public func readReply() throws -> RedisReply {
        try withNextReply { $0.materialized }
    }

    /// Sends anything queued, reads the next reply and lends it to `body` in place, without
    /// copying. The reply is freed when `body` returns.
    public func withNextReply<Result>(_ body: (RawRedisReply) throws -> Result) throws -> Result {
        guard let context, pendingReplies > 0 else {
            throw RedisError(.unexpectedReply, endpoint: endpoint, "read a reply with no command pending")
        }
        var replyPointer: UnsafeMutableRawPointer?
        let status = redisGetReply(context, &replyPointer)
        guard status == REDIS_OK, let replyPointer else {
            throw contextError(doing: "read a reply")
        }
        pendingReplies -= 1
        defer { freeReplyObject(replyPointer) }
        return try body(RawRedisReply(replyPointer.assumingMemoryBound(to: redisReply.self)))
    }

    // MARK: Connecting

    private func connect() throws {
        let url = configuration.url
        let timeout = Self.makeTimeval(seconds: configuration.connectTimeout)
        guard let newContext = redisConnectWithTimeout(url.host, Int32(url.port), timeout) else {
            throw RedisError(.connect, endpoint: endpoint, "cannot allocate a connection")
        }
        if newContext.pointee.err != 0 {
            let message = Self.errorText(newContext)
            redisFree(newContext)
            let kind: RedisError.Kind = message.contains("timed out") ? .timeout : .connect
            let detail =
                kind == .timeout
                ? "connect timed out after \(Self.formatSeconds(configuration.connectTimeout))"
                : "cannot connect: \(message)"
            throw RedisError(kind, endpoint: endpoint, detail)
        }
        if let commandTimeout = configuration.commandTimeout {
            _ = redisSetTimeout(newContext, Self.makeTimeval(seconds: commandTimeout))
        }
        _ = redisEnableKeepAlive(newContext)
        context = newContext
        pendingReplies = 0
        do {
            try authenticate()
            if url.database != 0 {
                try call(RedisCommand("SELECT", String(url.database)))
            }
        } catch {
            discardContext()
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

    /// The socket, for ``withRawChannel(_:)``: only when hiredis holds nothing unsent and no
    /// reply is owed, so the stream is at a command boundary.
    func rawDescriptor() throws -> Int32 {
        try ensureUsable()
        guard let context else { throw notConnected() }
        guard pendingReplies == 0, context.pointee.obuf == nil || sdslen(context.pointee.obuf) == 0 else {
            throw RedisError(.unexpectedReply, endpoint: endpoint, "raw access with replies pending")
        }
        return context.pointee.fd
    }

    private func ensureUsable() throws {
        if context == nil || context?.pointee.err != 0 {
            discardContext()
            try connect()
        }
    }

    private func discardContext() {
        if let context { redisFree(context) }
        context = nil
        pendingReplies = 0
    }

    private func notConnected() -> RedisError {
        RedisError(.io, endpoint: endpoint, "not connected")
    }

    /// Converts the context's sticky error into a ``RedisError``. The context stays broken
    /// until the next call rebuilds it.
    private func contextError(doing what: String) -> RedisError {
        guard let context else { return notConnected() }
        let text = Self.errorText(context)
        switch context.pointee.err {
        case REDIS_ERR_EOF:
            return RedisError(.io, endpoint: endpoint, "server closed the connection while trying to \(what)")
        case REDIS_ERR_PROTOCOL:
            return RedisError(.protocolViolation, endpoint: endpoint, "protocol error while trying to \(what): \(text)")
        case REDIS_ERR_IO where text.contains("temporarily unavailable") || text.contains("timed out"):
            let seconds = configuration.commandTimeout.map(Self.formatSeconds) ?? "the timeout"
            return RedisError(.timeout, endpoint: endpoint, "no reply within \(seconds) while trying to \(what)")
        case REDIS_ERR_OOM:
            return RedisError(.io, endpoint: endpoint, "out of memory while trying to \(what)")
        default:
            return RedisError(.io, endpoint: endpoint, "connection failed while trying to \(what): \(text)")
        }
    }

    // MARK: Helpers

    /// A valid pointer for zero-length arguments; never written.
    nonisolated(unsafe) private static let emptyArgument: UnsafePointer<CChar> = {
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func makeTimeval(seconds: Double) -> timeval {
        let clamped = max(0.001, min(seconds, 86_400 * 365))
        let whole = clamped.rounded(.towardZero)
        return timeval(tv_sec: Int(whole), tv_usec: Int((clamped - whole) * 1_000_000))
    }

    static func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}

/// Lays out text/byte arguments contiguously and lends them as raw buffers.
func withArgv<Result>(
    _ arguments: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws -> Result
) rethrows -> Result {
    let total = arguments.reduce(0) { $0 + $1.count }
    let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
    defer { storage.deallocate() }
    var buffers: [UnsafeRawBufferPointer] = []
    buffers.reserveCapacity(arguments.count)
    var offset = 0
    for argument in arguments {
        let slice = UnsafeMutableRawBufferPointer(rebasing: storage[offset..<offset + argument.count])
        slice.copyBytes(from: argument)
        buffers.append(UnsafeRawBufferPointer(slice))
        offset += argument.count
    }
    return try body(buffers)
}

/// A write to a closed socket must become an error, not kill the process.
private let brokenPipeSignalsIgnored: Void = {
    _ = signal(SIGPIPE, SIG_IGN)
}()

func ignoreBrokenPipeSignals() {
    brokenPipeSignalsIgnored
}

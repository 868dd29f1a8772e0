import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Moves a byte range to and from Redis as fixed-size chunks in plain strings, over several
/// connections at once. Each connection keeps a bounded window of pipelined commands in flight
/// (a sliding window, not waves that wait for their slowest member), and chunks are claimed
/// one at a time from a shared counter, so fast connections do more. Memory stays bounded by
/// connections × window × chunk size, whatever the total size.
public struct ChunkTransfer: Sendable {
    /// Bytes per chunk; the last chunk may be shorter.
    public var chunkSize: Int
    /// Connections used at once.
    public var connections: Int
    /// Commands in flight per connection.
    public var window: Int

    public init(chunkSize: Int, connections: Int = 8, window: Int = 8) {
        precondition(
            chunkSize > 0 && connections > 0 && window > 0, "chunk size, connections and window must be positive")
        self.chunkSize = chunkSize
        self.connections = connections
        self.window = window
    }

    /// The number of chunks for `totalSize` bytes.
    public func chunkCount(totalSize: Int) -> Int {
        totalSize == 0 ? 0 : (totalSize + chunkSize - 1) / chunkSize
    }

    /// Writes `source` as chunks: `SET key(i) bytes[i*chunkSize ..< …]`, each sent straight
    /// from `source`. `source` must stay valid until this returns. Calls `progress` with the
    /// size of each chunk written (from worker threads).
    public func upload(
        _ source: UnsafeRawBufferPointer, key: @escaping @Sendable (Int) -> String, pool: RedisPool,
        progress: (@Sendable (Int) -> Void)? = nil, isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws {
        let base = SendableBuffer(source)
        let chunkSize = chunkSize
        try run(totalSize: source.count, scratchSize: 0, pool: pool, progress: progress, isCancelled: isCancelled) {
            index, channel, _ in
            let start = index * chunkSize
            let chunk = UnsafeRawBufferPointer(rebasing: base.buffer[start..<min(start + chunkSize, base.buffer.count)])
            try channel.send(["SET", key(index)], body: chunk)
        } receive: { index, channel, _ in
            if let message = try channel.readStatus() {
                throw RedisError(
                    .server, endpoint: channel.endpoint, "writing chunk \(index) (\(key(index))): \(message)")
            }
        }
    }

    /// Reads chunks into the file open as `descriptor`, each written at its offset. A
    /// missing chunk, or one of the wrong length, is an error naming it. The file is not
    /// truncated or renamed here; the caller owns it. Calls `progress` with the size of each
    /// chunk written (from worker threads). Returns the time spent in writes, summed over the
    /// connections.
    @discardableResult
    public func download(
        into descriptor: Int32, totalSize: Int, key: @escaping @Sendable (Int) -> String, pool: RedisPool,
        progress: (@Sendable (Int) -> Void)? = nil, isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws -> Duration {
        let chunkSize = chunkSize
        return try download(
            totalSize: totalSize, key: key, pool: pool, progress: progress, isCancelled: isCancelled
        ) { index, bytes in
            try writeFully(descriptor, bytes, at: index * chunkSize)
        }
    }

    /// Reads chunks and hands each to `deliver` with its index, straight from the buffer its
    /// reply was read into (valid only during the call; calls come from worker threads, in
    /// any order). Returns the time spent in `deliver`, summed over the connections.
    @discardableResult
    public func download(
        totalSize: Int, key: @escaping @Sendable (Int) -> String, pool: RedisPool,
        progress: (@Sendable (Int) -> Void)? = nil, isCancelled: @escaping @Sendable () -> Bool = { false },
        deliver: @escaping @Sendable (Int, UnsafeRawBufferPointer) throws -> Void
    ) throws -> Duration {
        let chunkSize = chunkSize
        let deliverNanoseconds = Atomic<Int>(0)
        try run(totalSize: totalSize, scratchSize: chunkSize, pool: pool, progress: progress, isCancelled: isCancelled)
        {
            index, channel, _ in
            try channel.send(["GET", key(index)])
        } receive: { index, channel, scratch in
            let expected = min(chunkSize, totalSize - index * chunkSize)
            let destination = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<expected])
            switch try channel.readBulk(into: destination) {
            case .value:
                let started = ContinuousClock.now
                try deliver(index, UnsafeRawBufferPointer(destination))
                let elapsed = ContinuousClock.now - started
                deliverNanoseconds.wrappingAdd(
                    Int(elapsed.components.seconds) * 1_000_000_000
                        + Int(elapsed.components.attoseconds / 1_000_000_000),
                    ordering: .relaxed)
            case .missing:
                throw ChunkTransferError.missing(index: index, key: key(index))
            case .wrongLength(let found):
                throw ChunkTransferError.wrongLength(index: index, key: key(index), found: found, expected: expected)
            case .error(let message):
                throw RedisError(
                    .server, endpoint: channel.endpoint, "reading chunk \(index) (\(key(index))): \(message)")
            }
        }
        return .nanoseconds(deliverNanoseconds.load(ordering: .relaxed))
    }

    /// The engine both directions share: each connection claims chunks while it has fewer than
    /// `window` in flight, sends them with `send`, and takes replies in order with `receive`,
    /// on the connection's socket directly (``RawChannel``), with a scratch buffer of its own.
    private func run(
        totalSize: Int, scratchSize: Int, pool: RedisPool, progress: (@Sendable (Int) -> Void)?,
        isCancelled: @escaping @Sendable () -> Bool,
        send: @escaping @Sendable (Int, RawChannel, UnsafeMutableRawBufferPointer) throws -> Void,
        receive: @escaping @Sendable (Int, RawChannel, UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        let count = chunkCount(totalSize: totalSize)
        let claims = ChunkClaims(count: count)
        let chunkSize = chunkSize
        let window = window
        _ = try pool.parallel(min(connections, max(count, 1))) { _, connection in
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(scratchSize, 1), alignment: 4096)
            defer { scratch.deallocate() }
            try connection.withRawChannel { channel in
                var inFlight: [Int] = []
                inFlight.reserveCapacity(window)
                while true {
                    while inFlight.count < window, !claims.failed, !isCancelled(), let index = claims.claim() {
                        try claims.failing { try send(index, channel, scratch) }
                        inFlight.append(index)
                    }
                    guard let index = inFlight.first else { break }
                    inFlight.removeFirst()
                    try claims.failing { try receive(index, channel, scratch) }
                    progress?(min(chunkSize, totalSize - index * chunkSize))
                }
            }
            if isCancelled() { throw ChunkTransferError.cancelled }
        }
    }
}

/// Why a chunk transfer stopped.
public enum ChunkTransferError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(index: Int, key: String)
    case wrongLength(index: Int, key: String, found: Int, expected: Int)
    case write(offset: Int, message: String)
    case cancelled

    public var description: String {
        switch self {
        case .missing(let index, let key): "chunk \(index) (\(key)) is missing"
        case .wrongLength(let index, let key, let found, let expected):
            found < 0
                ? "chunk \(index) (\(key)) is not a string value"
                : "chunk \(index) (\(key)) has \(found) bytes, expected \(expected)"
        case .write(let offset, let message): "cannot write at offset \(offset): \(message)"
        case .cancelled: "cancelled"
        }
    }
}

/// The shared state of one transfer: the next unclaimed chunk, and whether any
/// worker failed (the others then stop claiming).
private final class ChunkClaims: Sendable {
    private let next = Atomic<Int>(0)
    private let failure = Atomic<Bool>(false)
    let count: Int

    init(count: Int) { self.count = count }

    func claim() -> Int? {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < count ? index : nil
    }

    var failed: Bool { failure.load(ordering: .relaxed) }
    func fail() { failure.store(true, ordering: .relaxed) }

    /// Runs `body`, marking the transfer failed if it throws.
    func failing<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch {
            fail()
            throw error
        }
    }
}

/// A buffer handed to worker threads; the caller guarantees it outlives them.
private struct SendableBuffer: @unchecked Sendable {
    let buffer: UnsafeRawBufferPointer
    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }
}

/// pwrite until every byte is written; a failure names the offset.
public func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
    var written = 0
    while written < bytes.count {
        guard let base = bytes.baseAddress else { return }
        let result = pwrite(descriptor, base + written, bytes.count - written, off_t(offset + written))
        if result < 0 {
            if errno == EINTR { continue }
            throw ChunkTransferError.write(offset: offset + written, message: String(cString: strerror(errno)))
        }
        written += result
    }
}

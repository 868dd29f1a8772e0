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
    /// from `source` to the server that owns `key(i)`. `source` must stay valid until this
    /// returns. Calls `progress` with the size of each chunk written (from worker threads).
    public func upload(
        _ source: UnsafeRawBufferPointer, key: @escaping @Sendable (Int) -> String, client: RedisClient,
        progress: (@Sendable (Int) -> Void)? = nil, isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws {
        try upload([UploadPart(source, key: key)], client: client, progress: progress, isCancelled: isCancelled)
    }

    /// Writes the chunks of several byte ranges (the files of a batch) as one transfer, so the
    /// connections stay busy across the boundaries between them: chunk `i` of part `p` goes
    /// to `parts[p].key(i)`. Every part must stay valid until this returns.
    public func upload(
        _ parts: [UploadPart], client: RedisClient, progress: (@Sendable (Int) -> Void)? = nil,
        isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws {
        let chunkSize = chunkSize
        var chunks: [(part: Int, index: Int)] = []
        chunks.reserveCapacity(parts.reduce(0) { $0 + chunkCount(totalSize: $1.bytes.count) })
        for (part, upload) in parts.enumerated() {
            for index in 0..<chunkCount(totalSize: upload.bytes.count) { chunks.append((part, index)) }
        }
        let plan = UploadPlan(parts: parts, chunks: chunks, chunkSize: chunkSize)
        try run(
            count: chunks.count, length: plan.length, bufferSize: 0, key: plan.key, client: client, progress: progress,
            isCancelled: isCancelled
        ) { position, channel in
            try channel.send(["SET", plan.key(position)], body: plan.bytes(position))
        } receive: { position, channel, _ in
            guard let message = try channel.readStatus() else { return nil }
            if let redirect = ClusterRedirect(errorMessage: message) { return redirect }
            let chunk = plan.chunks[position]
            throw RedisError(
                .server, endpoint: channel.endpoint, "writing chunk \(chunk.index) (\(plan.key(position))): \(message)")
        }
    }

    /// Reads chunks and lends each to `deliver` in the buffer its reply was read into, which
    /// stays out of use until the loan is released (from any thread, at any time after). Each
    /// connection has `buffersPerConnection` buffers and waits when all are lent. If `deliver`
    /// throws, the loan is released for it, so it must not have passed the loan on. Calls come
    /// from worker threads, in any order, but the chunks are claimed in index order, so the
    /// lowest chunk not yet delivered always has a connection able to read it once the loans
    /// of lower chunks are released. `abandon` is called as soon as any worker fails, so a
    /// consumer can release what it holds and stop waiting. Returns the time spent in
    /// `deliver`, summed over the connections.
    @discardableResult
    public func download(
        totalSize: Int, key: @escaping @Sendable (Int) -> String, client: RedisClient, buffersPerConnection: Int,
        progress: (@Sendable (Int) -> Void)? = nil, isCancelled: @escaping @Sendable () -> Bool = { false },
        abandon: (@Sendable () -> Void)? = nil,
        deliver: @escaping @Sendable (ChunkLoan) throws -> Void
    ) throws -> Duration {
        let chunkSize = chunkSize
        let deliverNanoseconds = Atomic<Int>(0)
        try run(
            count: chunkCount(totalSize: totalSize), length: { min(chunkSize, totalSize - $0 * chunkSize) },
            bufferSize: min(chunkSize, totalSize), buffersPerConnection: buffersPerConnection, key: key,
            client: client, progress: progress, isCancelled: isCancelled, abandon: abandon
        ) { index, channel in
            try channel.send(["GET", key(index)])
        } receive: { index, channel, ring in
            let expected = min(chunkSize, totalSize - index * chunkSize)
            guard let ring else { preconditionFailure("a download has receive buffers") }
            let (slot, buffer) = ring.take()
            let destination = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<expected])
            let loan = ChunkLoan(index: index, bytes: UnsafeRawBufferPointer(destination)) { ring.giveBack(slot) }
            var lent = false
            defer { if !lent { loan.release() } }
            switch try channel.readBulk(into: destination) {
            case .value:
                let started = ContinuousClock.now
                try deliver(loan)
                lent = true
                let elapsed = ContinuousClock.now - started
                deliverNanoseconds.wrappingAdd(
                    Int(elapsed.components.seconds) * 1_000_000_000
                        + Int(elapsed.components.attoseconds / 1_000_000_000),
                    ordering: .relaxed)
                return nil
            case .missing:
                throw ChunkTransferError.missing(index: index, key: key(index))
            case .wrongLength(let found):
                throw ChunkTransferError.wrongLength(index: index, key: key(index), found: found, expected: expected)
            case .error(let message):
                if let redirect = ClusterRedirect(errorMessage: message) { return redirect }
                throw RedisError(
                    .server, endpoint: channel.endpoint, "reading chunk \(index) (\(key(index))): \(message)")
            }
        }
        return .nanoseconds(deliverNanoseconds.load(ordering: .relaxed))
    }

    /// The engine both directions share. Chunks are grouped by the server that owns their key
    /// (one group on a single server); each group gets its share of the connections. Each
    /// connection claims chunks of its group while it has fewer than `window` in flight,
    /// sends them with `send`, and takes replies in order with `receive`, on the socket
    /// directly (``RawChannel``), with receive buffers of its own (none for an upload). A
    /// chunk whose server redirects it (`MOVED`, `ASK`, `TRYAGAIN`: a cluster being
    /// resharded) is sent again where the redirect points, on a side connection, in its turn.
    private func run(
        count: Int, length: @escaping @Sendable (Int) -> Int, bufferSize: Int, buffersPerConnection: Int = 0,
        key: @escaping @Sendable (Int) -> String, client: RedisClient,
        progress: (@Sendable (Int) -> Void)?, isCancelled: @escaping @Sendable () -> Bool,
        abandon: (@Sendable () -> Void)? = nil,
        send: @escaping @Sendable (Int, RawChannel) throws -> Void,
        receive: @escaping @Sendable (Int, RawChannel, BufferRing?) throws -> ClusterRedirect?
    ) throws {
        let window = window
        let groups = try Self.group(count: count, key: key, client: client)
        // No more connections than chunks: also keeps the arithmetic small for any setting.
        let wanted = max(1, min(connections, count))
        let perGroup = max(1, (wanted + groups.count - 1) / max(groups.count, 1))
        let workers = groups.indices.flatMap { Array(repeating: $0, count: min(perGroup, groups[$0].queue.count)) }
        let failure = TransferFailure()
        let work: @Sendable (Int) throws -> Void = { worker in
            let group = groups[workers[worker]]
            let ring =
                buffersPerConnection > 0
                ? BufferRing(count: min(buffersPerConnection, group.queue.count), size: bufferSize)
                : nil
            var side: [String: RedisConnection] = [:]
            defer {
                // Loans may still be out (with a consumer that has yet to see the failure).
                ring?.drainAndDeallocate()
                side.values.forEach { $0.close() }
            }
            func done(_ index: Int) { progress?(length(index)) }
            /// Sends chunk `index` where `redirect` points (nil: to its owner by the current
            /// map), following further redirects within the bound.
            func resend(_ index: Int, _ first: ClusterRedirect?) throws {
                var redirect = first
                var budget = RedirectBudget()
                while true {
                    let pool =
                        try redirect?.target.map { client.pool(host: $0.host, port: $0.port) }
                        ?? client.pool(forKey: key(index))
                    let endpoint = pool.configuration.url.endpoint
                    if let redirect {
                        try budget.follow(
                            redirect, client: client, endpoint: endpoint, subject: "chunk \(index) (\(key(index)))")
                    }
                    let connection = try side[endpoint] ?? RedisConnection(pool.configuration)
                    side[endpoint] = connection
                    if redirect?.needsAsking == true { try connection.call("ASKING") }
                    let next = try connection.withRawChannel { channel in
                        try send(index, channel)
                        return try receive(index, channel, ring)
                    }
                    guard let next else { return done(index) }
                    redirect = next
                }
            }
            do {
                try group.pool.withConnection { connection in
                    try connection.withRawChannel { channel in
                        // In order of claim; a chunk whose slot moved since the grouping is
                        // not sent here but to its new owner when its turn comes, so chunks
                        // are delivered in claim order (a delivery may wait for lower chunks).
                        var inFlight: [(index: Int, sent: Bool)] = []
                        inFlight.reserveCapacity(window)
                        while true {
                            while inFlight.count < window, !failure.failed, !isCancelled(),
                                let index = group.queue.claim()
                            {
                                if client.isCluster, try client.pool(forKey: key(index)) !== group.pool {
                                    inFlight.append((index, false))
                                    continue
                                }
                                try send(index, channel)
                                inFlight.append((index, true))
                            }
                            guard let (index, sent) = inFlight.first else { break }
                            inFlight.removeFirst()
                            if !sent {
                                try resend(index, nil)
                            } else if let redirect = try receive(index, channel, ring) {
                                try resend(index, redirect)
                            } else {
                                done(index)
                            }
                        }
                    }
                }
            } catch let error as RedisError where client.isCluster && error.isConnectionFailure {
                failure.fail()
                abandon?()
                throw RedisError(
                    error.kind, endpoint: error.endpoint,
                    "cluster shard \(client.describeShard(error.endpoint)): \(error.message)")
            } catch {
                failure.fail()
                abandon?()
                throw error
            }
            if isCancelled() { throw ChunkTransferError.cancelled }
        }
        // (One connection's work runs on the calling thread: see DedicatedThreads.run.)
        _ = try DedicatedThreads.run(count: workers.count, name: "dql.redis", work)
        if count == 0 && isCancelled() { throw ChunkTransferError.cancelled }
    }

    /// The chunks of each server, in index order: one group of all chunks on a single server.
    private static func group(
        count: Int, key: (Int) -> String, client: RedisClient
    ) throws -> [(pool: RedisPool, queue: ChunkQueue)] {
        guard count > 0 else { return [] }
        guard client.isCluster else { return [(try client.pool(forKey: key(0)), ChunkQueue(Array(0..<count)))] }
        var order: [ObjectIdentifier] = []
        var groups: [ObjectIdentifier: (pool: RedisPool, indices: [Int])] = [:]
        for index in 0..<count {
            let pool = try client.pool(forKey: key(index))
            let id = ObjectIdentifier(pool)
            if groups[id] == nil {
                order.append(id)
                groups[id] = (pool, [])
            }
            groups[id]?.indices.append(index)
        }
        return order.compactMap { groups[$0] }.map { ($0.pool, ChunkQueue($0.indices)) }
    }
}

/// Why a chunk transfer stopped.
public enum ChunkTransferError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(index: Int, key: String)
    case wrongLength(index: Int, key: String, found: Int, expected: Int)
    case cancelled

    public var description: String {
        switch self {
        case .missing(let index, let key): "chunk \(index) (\(key)) is missing"
        case .wrongLength(let index, let key, let found, let expected):
            found < 0
                ? "chunk \(index) (\(key)) is not a string value"
                : "chunk \(index) (\(key)) has \(found) bytes, expected \(expected)"
        case .cancelled: "cancelled"
        }
    }
}

/// The chunks one group of connections has left to claim.
private final class ChunkQueue: Sendable {
    private let next = Atomic<Int>(0)
    let indices: [Int]

    init(_ indices: [Int]) { self.indices = indices }

    var count: Int { indices.count }

    func claim() -> Int? {
        let position = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return position < indices.count ? indices[position] : nil
    }
}

/// Whether any worker of a transfer failed (the others then stop claiming).
private final class TransferFailure: Sendable {
    private let flag = Atomic<Bool>(false)

    var failed: Bool { flag.load(ordering: .relaxed) }
    func fail() { flag.store(true, ordering: .relaxed) }
}

/// One byte range to store as chunks, and the key of each of its chunks. The caller
/// guarantees the bytes outlive the transfer.
public struct UploadPart: @unchecked Sendable {
    public var bytes: UnsafeRawBufferPointer
    public var key: @Sendable (Int) -> String

    public init(_ bytes: UnsafeRawBufferPointer, key: @escaping @Sendable (Int) -> String) {
        self.bytes = bytes
        self.key = key
    }
}

/// The chunks of an upload of several parts, numbered across the parts.
private struct UploadPlan: Sendable {
    let parts: [UploadPart]
    let chunks: [(part: Int, index: Int)]
    let chunkSize: Int

    @Sendable func key(_ position: Int) -> String {
        let chunk = chunks[position]
        return parts[chunk.part].key(chunk.index)
    }

    @Sendable func length(_ position: Int) -> Int { bytes(position).count }

    func bytes(_ position: Int) -> UnsafeRawBufferPointer {
        let chunk = chunks[position]
        let buffer = parts[chunk.part].bytes
        let start = chunk.index * chunkSize
        return UnsafeRawBufferPointer(rebasing: buffer[start..<min(start + chunkSize, buffer.count)])
    }
}

import Foundation
import Synchronization

/// Where commands go: one server, or the masters of a Redis Cluster, found out by asking the
/// server (`INFO cluster`). Callers name the key a command is about; the client picks the
/// server.
///
/// A client keeps a connection pool per server. On a cluster it holds the slot map, routes
/// a key to the master of its slot, follows `MOVED` (and refreshes the map), `ASK` (one
/// `ASKING` at the target) and `TRYAGAIN` (a short wait), at most
/// ``ClusterRedirect/maximumFollowed`` times per command.
public final class RedisClient: @unchecked Sendable {
    /// How to connect: the URL given (any node of a cluster) and timeouts, shared by every
    /// server's pool.
    public let configuration: RedisConfiguration
    /// Connections each server's pool may open.
    public let connectionsPerServer: Int
    /// Whether the server runs in cluster mode.
    public let isCluster: Bool

    /// One master and the slots it serves; on a single server, that server and every slot.
    public struct Shard: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var slots: [ClosedRange<Int>]

        public var endpoint: String { RedisURL(host: host, port: port).endpoint }
        public var slotCount: Int { slots.reduce(0) { $0 + $1.count } }

        /// `5461-10922`, or `0-99,200` for several ranges.
        public var slotList: String {
            slots.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
                .joined(separator: ",")
        }

        /// `127.0.0.1:7101 (slots 5461-10922)`.
        public var description: String { "\(endpoint) (slots \(slotList))" }
    }

    private let seed: RedisPool
    private let lock = NSLock()
    private var pools: [String: RedisPool] = [:]
    /// On a cluster: the master of each slot as an index into `masters`, or -1.
    private var owners = [Int](repeating: -1, count: HashSlot.count)
    private var masters: [(host: String, port: Int)] = []
    private var lastRefresh = ContinuousClock.now
    private let redirectCounter = Atomic<Int>(0)

    /// Redirects (`MOVED`, `ASK`, `TRYAGAIN`) followed so far: non-zero only while a cluster's
    /// slots move, or after they moved without this client noticing.
    public var redirectsFollowed: Int { redirectCounter.load(ordering: .relaxed) }

    /// Connects to the server `configuration` names and finds out whether it is a cluster;
    /// on a cluster, reads the slot map and requires every slot to be served.
    public init(_ configuration: RedisConfiguration, connectionsPerServer: Int = 8) throws {
        self.configuration = configuration
        self.connectionsPerServer = connectionsPerServer
        seed = RedisPool(configuration, maximumConnections: connectionsPerServer)
        pools[configuration.url.endpoint] = seed
        isCluster = try seed.withConnection { try ClusterSlotMap.isCluster($0) }
        if isCluster {
            do {
                try refreshTopology()
            } catch {
                close()
                throw error
            }
        }
    }

    /// A client of the one server `pool` connects to, without asking whether it is a cluster.
    public init(pool: RedisPool) {
        configuration = pool.configuration
        connectionsPerServer = pool.maximumConnections
        seed = pool
        pools[configuration.url.endpoint] = pool
        isCluster = false
    }

    /// Closes every pool's idle connections.
    public func close() {
        let all = lock.withLock { Array(pools.values) }
        all.forEach { $0.close() }
    }

    // MARK: Routing

    /// The pool of the master serving `slot` (on one server, its only pool).
    public func pool(for slot: HashSlot) throws -> RedisPool {
        guard isCluster else { return seed }
        return try lock.withLock {
            let owner = owners[slot.value]
            guard owner >= 0 else {
                throw RedisError(
                    .server, endpoint: configuration.url.endpoint,
                    "no master of the cluster serves hash slot \(slot); the cluster is incomplete")
            }
            return poolLocked(host: masters[owner].host, port: masters[owner].port)
        }
    }

    /// The pool of the master serving `key`.
    public func pool(forKey key: String) throws -> RedisPool {
        isCluster ? try pool(for: HashSlot(key: key)) : seed
    }

    /// The pool of the server at `host:port` (a redirect's target, say).
    public func pool(host: String, port: Int) -> RedisPool {
        lock.withLock { poolLocked(host: host, port: port) }
    }

    /// One pool per master that serves slots (on one server, its only pool).
    public func masterPools() -> [RedisPool] {
        guard isCluster else { return [seed] }
        return shards.map { pool(host: $0.host, port: $0.port) }
    }

    /// The masters and their slots, as the client last saw them.
    public var shards: [Shard] {
        guard isCluster else {
            return [
                Shard(host: configuration.url.host, port: configuration.url.port, slots: [0...(HashSlot.count - 1)])
            ]
        }
        return lock.withLock {
            var slots = [[ClosedRange<Int>]](repeating: [], count: masters.count)
            var slot = 0
            while slot < HashSlot.count {
                let owner = owners[slot]
                var end = slot
                while end + 1 < HashSlot.count && owners[end + 1] == owner { end += 1 }
                if owner >= 0 { slots[owner].append(slot...end) }
                slot = end + 1
            }
            return zip(masters, slots).filter { !$0.1.isEmpty }.map {
                Shard(host: $0.0.host, port: $0.0.port, slots: $0.1)
            }
        }
    }

    /// The shard `endpoint` is, for messages: `127.0.0.1:7101 (slots 5461-10922)`, or the
    /// endpoint alone when it serves no slot.
    public func describeShard(_ endpoint: String) -> String {
        shards.first { $0.endpoint == endpoint }?.description ?? endpoint
    }

    /// Reads the slot map again from the first master (or the seed) that answers.
    public func refreshTopology() throws {
        guard isCluster else { return }
        let candidates = masterPools() + [seed]
        var lastError: (any Error)?
        for pool in candidates {
            do {
                let map = try pool.withConnection { try ClusterSlotMap.discover($0) }
                guard map.coversAllSlots else {
                    throw RedisError(
                        .server, endpoint: pool.configuration.url.endpoint,
                        "the cluster does not serve every hash slot (CLUSTER SLOTS covers "
                            + "\(map.ranges.reduce(0) { $0 + $1.slots.count }) of \(HashSlot.count))")
                }
                install(map)
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? RedisError(.connect, endpoint: configuration.url.endpoint, "no master answered")
    }

    /// Takes note of a redirect: a `MOVED` slot belongs to its new master from now on, and
    /// the whole map is read again (at most every 100 ms); a `TRYAGAIN` waits a little longer
    /// each attempt.
    public func follow(_ redirect: ClusterRedirect, attempt: Int) {
        redirectCounter.wrappingAdd(1, ordering: .relaxed)
        switch redirect {
        case .moved(let slot, let host, let port):
            let refreshDue: Bool = lock.withLock {
                owners[slot.value] = nodeIndexLocked(host: host, port: port)
                return ContinuousClock.now - lastRefresh > .milliseconds(100)
            }
            if refreshDue { try? refreshTopology() }
        case .ask: break
        case .tryAgain: Thread.sleep(forTimeInterval: 0.01 * Double(attempt))
        }
    }

    /// The masters the cluster itself counts as failed (`health` of CLUSTER SHARDS), as the
    /// first master that answers sees them: what a CLUSTERDOWN reply is about. Empty on one
    /// server, or when no master answers.
    public func failedMasters() -> [String] {
        guard isCluster else { return [] }
        for pool in masterPools() {
            guard let shards = (try? pool.withConnection { try $0.call("CLUSTER", "SHARDS") })?.array else { continue }
            var failed: [String] = []
            for shard in shards {
                for node in shard.pairs?.first(where: { $0.name == "nodes" })?.value.array ?? [] {
                    let fields = node.pairs ?? []
                    func text(_ name: String) -> String? {
                        fields.first { $0.name == name }.flatMap {
                            $0.value.string ?? $0.value.integer.map(String.init)
                        }
                    }
                    guard text("role") == "master", let health = text("health"), health != "online",
                        let host = text("ip") ?? text("endpoint"), let port = text("port")
                    else { continue }
                    failed.append(RedisURL(host: host, port: Int(port) ?? 0).endpoint)
                }
            }
            return failed.sorted()
        }
        return []
    }

    // MARK: Commands

    /// Borrows a connection to the master of `key` for `body`. A redirect thrown by `body`
    /// (an error reply of `call`) is followed and `body` run again there, so it must be safe
    /// to repeat.
    public func withConnection<Result>(
        routedBy key: String, _ body: (RedisConnection) throws -> Result
    ) throws -> Result {
        guard isCluster else { return try seed.withConnection(body) }
        var redirect: ClusterRedirect?
        var budget = RedirectBudget()
        while true {
            let pool = try redirect?.target.map { self.pool(host: $0.host, port: $0.port) } ?? self.pool(forKey: key)
            do {
                return try pool.withConnection { connection in
                    if redirect?.needsAsking == true { try connection.call("ASKING") }
                    return try body(connection)
                }
            } catch let error as RedisError where error.kind == .server {
                guard
                    let next = ClusterRedirect(
                        errorMessage: error.message, fallbackHost: pool.configuration.url.host)
                else { throw error }
                try budget.follow(next, client: self, endpoint: error.endpoint, subject: "'\(key)'")
                redirect = next
            }
        }
    }

    /// Sends `command` to the master of `key`, following redirects. Other error replies are
    /// returned, not thrown.
    public func send(_ command: RedisCommand, routedBy key: String) throws -> RedisReply {
        try withConnection(routedBy: key) { connection in
            let reply = try connection.send(command)
            if isCluster, let message = reply.errorMessage, ClusterRedirect(errorMessage: message) != nil {
                throw RedisError(.server, endpoint: connection.endpoint, message)
            }
            return reply
        }
    }

    /// Sends `command` to the master of `key`, following redirects; error replies throw.
    @discardableResult
    public func call(_ command: RedisCommand, routedBy key: String) throws -> RedisReply {
        try withConnection(routedBy: key) { try $0.call(command) }
    }

    /// Sends `commands`, all about keys of `key`'s slot, as one pipeline on one connection to
    /// its master (so they run in order there), following a redirect of any of them by
    /// sending them all again. Other error replies are returned in place.
    public func pipeline(_ commands: [RedisCommand], allRoutedBy key: String) throws -> [RedisReply] {
        try withConnection(routedBy: key) { connection in
            let replies = try connection.pipeline(commands)
            if isCluster,
                let redirect = replies.lazy.compactMap(\.errorMessage).first(where: {
                    ClusterRedirect(errorMessage: $0) != nil
                })
            {
                throw RedisError(.server, endpoint: connection.endpoint, redirect)
            }
            return replies
        }
    }

    /// Sends `commands` (each about the key at the same position of `keys`) as one pipeline
    /// per master and returns the replies in the order of `commands`. Replies that are
    /// redirects are followed one by one; other error replies are returned in place.
    public func pipeline(_ commands: [RedisCommand], routedBy keys: [String]) throws -> [RedisReply] {
        precondition(commands.count == keys.count, "one routing key per command")
        guard isCluster else { return try seed.withConnection { try $0.pipeline(commands) } }
        var groups: [ObjectIdentifier: (pool: RedisPool, positions: [Int])] = [:]
        for (position, key) in keys.enumerated() {
            let pool = try pool(forKey: key)
            groups[ObjectIdentifier(pool), default: (pool, [])].positions.append(position)
        }
        var replies = [RedisReply](repeating: .null, count: commands.count)
        for (pool, positions) in groups.values {
            let answered = try pool.withConnection { connection in
                try connection.pipeline(positions.map { commands[$0] })
            }
            for (position, reply) in zip(positions, answered) {
                if let message = reply.errorMessage, ClusterRedirect(errorMessage: message) != nil {
                    replies[position] = try send(commands[position], routedBy: keys[position])
                } else {
                    replies[position] = reply
                }
            }
        }
        return replies
    }

    /// Deletes `keys` (UNLINK) and returns how many existed: in batches on one server, and
    /// one batch per hash slot on a cluster (a command's keys must share a slot there).
    @discardableResult
    public func unlink(_ keys: [String]) throws -> Int {
        var batches: [[String]] = []
        if isCluster {
            var bySlot: [HashSlot: [String]] = [:]
            for key in keys { bySlot[HashSlot(key: key), default: []].append(key) }
            batches = bySlot.keys.sorted().compactMap { bySlot[$0] }
        } else {
            batches = stride(from: 0, to: keys.count, by: 1000).map { Array(keys[$0..<min($0 + 1000, keys.count)]) }
        }
        var removed = 0
        for start in stride(from: 0, to: batches.count, by: 512) {
            let part = batches[start..<min(start + 512, batches.count)]
            let replies = try pipeline(
                part.map { RedisCommand(["UNLINK"] + $0) }, routedBy: part.map { $0[0] })
            for reply in replies { removed += Int(try reply.checked().integer ?? 0) }
        }
        return removed
    }

    // MARK: Private

    private func install(_ map: ClusterSlotMap) {
        lock.withLock {
            var fresh = [Int](repeating: -1, count: HashSlot.count)
            for range in map.ranges {
                let index = nodeIndexLocked(host: range.host, port: range.port)
                for slot in range.slots { fresh[slot] = index }
            }
            owners = fresh
            lastRefresh = ContinuousClock.now
        }
    }

    private func nodeIndexLocked(host: String, port: Int) -> Int {
        if let index = masters.firstIndex(where: { $0.host == host && $0.port == port }) { return index }
        masters.append((host, port))
        return masters.count - 1
    }

    private func poolLocked(host: String, port: Int) -> RedisPool {
        let endpoint = RedisURL(host: host, port: port).endpoint
        if let pool = pools[endpoint] { return pool }
        var node = configuration
        node.url.host = host
        node.url.port = port
        let pool = RedisPool(node, maximumConnections: connectionsPerServer)
        pools[endpoint] = pool
        return pool
    }
}

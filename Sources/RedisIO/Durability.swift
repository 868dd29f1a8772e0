import Foundation

/// Whether writes have reached the disk (and replicas): what `WAITAOF` and `WAIT` confirm.
///
/// Both wait for the writes of the connection they are sent on, up to its last write; the
/// append-only file is one stream per server, so once a connection's last write is on disk,
/// so is every write the server took before it, from any connection. A write of a marker key
/// (expiring at once) on the waiting connection, after all the statement's writes have been
/// answered, makes the one wait per master cover all of them: chunks on every master of a
/// cluster, documents on theirs.
public struct Durability: Sendable, Equatable {
    /// What one master said.
    public struct Master: Sendable, Equatable {
        public var endpoint: String
        /// The server writes an append-only file (`appendonly yes`).
        public var appendOnly: Bool
        /// The writes are in its append-only file on disk (false without one).
        public var onDisk: Bool
        /// Replicas that acknowledged the writes (their own disk when `appendOnly`).
        public var replicas: Int
    }

    public var masters: [Master]

    /// Whether any master keeps an append-only file: false means a restart loses the writes.
    public var persisted: Bool { masters.allSatisfy(\.appendOnly) }

    /// Masters that keep an append-only file but did not confirm the writes on disk in time,
    /// or had fewer than `replicas` replicas acknowledge them.
    public func unconfirmed(replicas: Int) -> [Master] {
        masters.filter { ($0.appendOnly && !$0.onDisk) || $0.replicas < replicas }
    }

    /// Waits on every master at once until what was written before is on its disk (when it
    /// keeps an append-only file) and on `replicas` of its replicas, for at most
    /// `timeoutMilliseconds`. `marker` names a key in a given hash tag; the key expires at
    /// once.
    public static func wait(
        client: RedisClient, replicas: Int, timeoutMilliseconds: Int, marker: @escaping @Sendable (String) -> String
    ) throws -> Durability {
        let shards = client.shards
        let masters = try DedicatedThreads.run(count: shards.count, name: "dql.durable") { index in
            let shard = shards[index]
            let pool = client.isCluster ? client.pool(host: shard.host, port: shard.port) : try client.pool(forKey: "")
            let tag = Self.tag(in: shard.slots.first ?? 0...0)
            return try pool.withConnection { connection -> Master in
                let info = try connection.call("INFO", "persistence").string ?? ""
                let appendOnly = info.split(whereSeparator: \.isNewline).contains { $0 == "aof_enabled:1" }
                guard appendOnly || replicas > 0 else {
                    return Master(endpoint: shard.endpoint, appendOnly: false, onDisk: false, replicas: 0)
                }
                let timeout = String(timeoutMilliseconds)
                let wait =
                    appendOnly
                    ? RedisCommand("WAITAOF", "1", String(replicas), timeout)
                    : RedisCommand("WAIT", String(replicas), timeout)
                let replies = try connection.pipeline([RedisCommand("SET", marker(tag), "1", "PX", "1"), wait])
                _ = try replies[0].checked(endpoint: shard.endpoint)
                let answer = try replies[1].checked(endpoint: shard.endpoint)
                if appendOnly {
                    let counts = answer.array?.compactMap(\.integer) ?? []
                    return Master(
                        endpoint: shard.endpoint, appendOnly: true, onDisk: (counts.first ?? 0) >= 1,
                        replicas: Int(counts.dropFirst().first ?? 0))
                }
                return Master(
                    endpoint: shard.endpoint, appendOnly: false, onDisk: false, replicas: Int(answer.integer ?? 0))
            }
        }
        return Durability(masters: masters)
    }

    /// A short hash tag whose slot is in `slots` (a few tries: any slot range of a master
    /// holds about one slot in 16384 / its size).
    static func tag(in slots: ClosedRange<Int>) -> String {
        for number in 0..<1_000_000 {
            let tag = String(number)
            if slots.contains(HashSlot(key: "{\(tag)}").value) { return tag }
        }
        return "0"
    }
}

/// Which master serves which hash slots of a Redis Cluster, from `CLUSTER SLOTS`.
public struct ClusterSlotMap: Sendable, Equatable {
    /// A range of slots and the master that serves it.
    public struct Range: Sendable, Equatable {
        public var slots: ClosedRange<Int>
        public var host: String
        public var port: Int

        /// `host:port`, as in error messages.
        public var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public var ranges: [Range]

    /// Parses a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id, …], replica…], …]`.
    public init(reply: RedisReply, endpoint: String = "") throws {
        guard let entries = reply.array else {
            throw RedisError(.unexpectedReply, endpoint: endpoint, "CLUSTER SLOTS replied \(reply)")
        }
        ranges = try entries.map { entry in
            guard let parts = entry.array, parts.count >= 3, let start = parts[0].integer, let end = parts[1].integer,
                let master = parts[2].array, master.count >= 2, let host = master[0].string,
                let port = master[1].integer, start <= end, start >= 0, end < Int64(HashSlot.count)
            else { throw RedisError(.unexpectedReply, endpoint: endpoint, "bad CLUSTER SLOTS entry \(entry)") }
            return Range(slots: Int(start)...Int(end), host: host, port: Int(port))
        }.sorted { $0.slots.lowerBound < $1.slots.lowerBound }
    }

    /// Reads the map from any node of the cluster.
    public static func discover(_ connection: RedisConnection) throws -> ClusterSlotMap {
        try ClusterSlotMap(reply: try connection.call("CLUSTER", "SLOTS"), endpoint: connection.endpoint)
    }

    /// The master serving `slot`, or nil when no master does (the cluster is incomplete).
    public func range(for slot: HashSlot) -> Range? {
        ranges.first { $0.slots.contains(slot.value) }
    }

    /// True when every slot has a master.
    public var coversAllSlots: Bool {
        var next = 0
        for range in ranges {
            guard range.slots.lowerBound == next else { return false }
            next = range.slots.upperBound + 1
        }
        return next == HashSlot.count
    }

    /// Whether the server at the other end of `connection` runs in cluster mode
    /// (`INFO cluster` says `cluster_enabled:1`).
    public static func isCluster(_ connection: RedisConnection) throws -> Bool {
        let info = try connection.call("INFO", "cluster").string ?? ""
        return info.split(whereSeparator: \.isNewline).contains { $0 == "cluster_enabled:1" }
    }
}

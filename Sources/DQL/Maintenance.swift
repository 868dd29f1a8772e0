import Foundation
import RedisIO

/// Removing stored files, and the chunks interrupted loads leave behind.
public struct Maintenance: Sendable {
    public var layout: StorageLayout

    public init(layout: StorageLayout) {
        self.layout = layout
    }

    /// What `vacuum` found and removed.
    public struct VacuumReport: Sendable, Equatable {
        /// Ids whose chunks had no document.
        public var orphanIds: [String]
        public var chunksRemoved: Int
    }

    /// Deletes chunks that no document refers to: what a load leaves when it is interrupted
    /// after writing chunks and before writing its document (which it writes last). Chunks of
    /// a load still under way (its lease key exists) are left alone.
    public func vacuum(_ connection: RedisConnection) throws -> VacuumReport {
        let pattern = "\(layout.prefix):chunk:*"
        let idStart = layout.prefix.count + ":chunk:".count
        var chunksById: [String: [String]] = [:]
        var cursor = "0"
        repeat {
            let reply = try connection.call("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                throw RedisError(.unexpectedReply, endpoint: connection.endpoint, "SCAN replied \(reply)")
            }
            cursor = next
            for key in (parts[1].array ?? []).compactMap(\.string) {
                let rest = key.dropFirst(idStart)
                guard let colon = rest.lastIndex(of: ":") else { continue }
                chunksById[String(rest[..<colon]), default: []].append(key)
            }
        } while cursor != "0"
        let ids = chunksById.keys.sorted()
        let exists = try connection.pipeline(
            ids.map { RedisCommand("EXISTS", layout.documentKey(id: $0), layout.loadingKey(id: $0)) })
        var orphans: [String] = []
        var removed = 0
        // Neither a document nor a live load: orphans.
        for (id, reply) in zip(ids, exists) where reply.integer == 0 {
            orphans.append(id)
            let keys = chunksById[id] ?? []
            for batch in stride(from: 0, to: keys.count, by: 1000) {
                removed += Int(
                    try connection.call(RedisCommand(["UNLINK"] + keys[batch..<min(batch + 1000, keys.count)])).integer
                        ?? 0)
            }
        }
        return VacuumReport(orphanIds: orphans, chunksRemoved: removed)
    }

    /// Deletes a stored file: its document first (so it disappears from every query at once),
    /// then its chunks. Returns false if there was no such file.
    @discardableResult
    public func delete(id: String, _ connection: RedisConnection) throws -> Bool {
        let documentKey = layout.documentKey(id: id)
        let count = try connection.call("JSON.GET", documentKey, "$.chunkCount").string
        guard let count, let chunkCount = Int(count.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))) else {
            return false
        }
        try connection.call("UNLINK", documentKey)
        for batch in stride(from: 0, to: chunkCount, by: 1000) {
            let keys = (batch..<min(batch + 1000, chunkCount)).map { layout.chunkKey(id: id, index: $0) }
            try connection.call(RedisCommand(["UNLINK"] + keys))
        }
        return true
    }
}

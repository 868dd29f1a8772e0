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
    /// a load still under way (its lease key exists) are left alone. On a cluster every master
    /// is scanned; documents and leases share the `{m}` slot, so one EXISTS asks about both.
    public func vacuum(_ client: RedisClient) throws -> VacuumReport {
        let chunkPrefix = "\(layout.prefix):chunk:"
        let pattern = RedisConnection.globEscaped(chunkPrefix) + "*"
        var chunksById: [String: [String]] = [:]
        for pool in client.masterPools() {
            try pool.withConnection { connection in
                try connection.scan(matching: pattern) { keys in
                    for key in keys {
                        // Only keys of dql's exact shape: another prefix that starts like this one
                        // (`lab` and `lab:chunk`) has keys that match the pattern too.
                        guard key.hasPrefix(chunkPrefix), let id = Self.chunkId(key.dropFirst(chunkPrefix.count))
                        else { continue }
                        chunksById[id, default: []].append(key)
                    }
                }
            }
        }
        let ids = chunksById.keys.sorted()
        let exists = try client.pipeline(
            ids.map { RedisCommand("EXISTS", layout.documentKey(id: $0), layout.loadingKey(id: $0)) },
            routedBy: ids.map { _ in layout.metadataRoutingKey })
        var orphans: [String] = []
        var removed = 0
        // Neither a document nor a live load: orphans.
        for (id, reply) in zip(ids, exists) where try reply.checked().integer == 0 {
            orphans.append(id)
            removed += try client.unlink(Array(Set(chunksById[id] ?? [])))
        }
        return VacuumReport(orphanIds: orphans, chunksRemoved: removed)
    }

    /// The id in the rest of a chunk key (`<id>:<index>`), where the id is a SHA-256 (64 hex
    /// digits) or a provisional `new-<uuid>`; nil for anything else.
    static func chunkId(_ rest: Substring) -> String? {
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        let index = rest[rest.index(after: colon)...]
        guard !index.isEmpty, index.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let id = rest[..<colon]
        let isHash = id.count == 64 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }
        let isProvisional =
            id.hasPrefix("new-") && id.count == 40
            && id.dropFirst(4).allSatisfy { ($0.isHexDigit && !$0.isUppercase) || $0 == "-" }
        return isHash || isProvisional ? String(id) : nil
    }

    /// Deletes a stored file: its document first (so it disappears from every query at once),
    /// then its chunks. Returns false if there was no such file.
    @discardableResult
    public func delete(id: String, client: RedisClient) throws -> Bool {
        let documentKey = layout.documentKey(id: id)
        let count = try client.call(RedisCommand("JSON.GET", documentKey, "$.chunkCount"), routedBy: documentKey).string
        guard let count, let chunkCount = Int(count.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))) else {
            return false
        }
        try client.call(RedisCommand("UNLINK", documentKey), routedBy: documentKey)
        try client.unlink((0..<chunkCount).map { layout.chunkKey(id: id, index: $0) })
        return true
    }
}

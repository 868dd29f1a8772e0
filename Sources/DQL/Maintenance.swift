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
        /// Loads whose chunks have no document yet but a live claim: under way, or killed
        /// less than a lease ago. Their chunks stay until the claim expires.
        public var leasedLoads = 0
        public var leasedChunks = 0
        /// Seconds until the last of those claims expires (0 when there is none): a vacuum
        /// after that reclaims the chunks of the loads that were interrupted.
        public var leaseSecondsLeft = 0

        public init(orphanIds: [String], chunksRemoved: Int) {
            self.orphanIds = orphanIds
            self.chunksRemoved = chunksRemoved
        }
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
        // Per id: is there a document, and how long has its load's claim left (-2: none). On a
        // spread store, documents are found by id and claims by their keys on every master
        // (both after the chunks: a chunk's claim was made before it, its document before the
        // claim went).
        let documents = try layout.documentKeys(ids: ids, client: client)
        let claims = layout.placement.usesBuckets ? try spreadClaims(client) : [:]
        // Per id: its claim, then the document keys to ask about. On a spread store the `{m}`
        // document is asked about as well: a chunk either layout's document points to stays.
        let asked = ids.map { id -> [String] in
            let spreadKey = layout.placement.usesBuckets ? documents[id] : nil
            return [claims[id] ?? layout.loadingKey(id: id), layout.documentKey(id: id)]
                + (spreadKey.map { [$0] } ?? [])
        }
        var commands: [RedisCommand] = []
        var routing: [String] = []
        for keys in asked {
            commands += [RedisCommand("PTTL", keys[0])] + keys.dropFirst().map { RedisCommand("EXISTS", $0) }
            routing += keys
        }
        let replies = try client.pipeline(commands, routedBy: routing)
        var orphans: [String] = []
        var removed = 0
        var leased = (loads: 0, chunks: 0, milliseconds: 0)
        var position = 0
        for (offset, id) in ids.enumerated() {
            let claim = replies[position]
            let documentsThere = try replies[(position + 1)..<(position + asked[offset].count)].reduce(0) {
                $0 + (try $1.checked().integer ?? 0)
            }
            position += asked[offset].count
            guard documentsThere == 0 else { continue }
            let chunks = Array(Set(chunksById[id] ?? []))
            if let left = try claim.checked().integer, left != -2 {
                leased.loads += 1
                leased.chunks += chunks.count
                leased.milliseconds = max(leased.milliseconds, left == -1 ? 0 : Int(clamping: left))
                continue
            }
            // Neither a document nor a live load: orphans.
            orphans.append(id)
            removed += try client.unlink(chunks)
        }
        var report = VacuumReport(orphanIds: orphans, chunksRemoved: removed)
        report.leasedLoads = leased.loads
        report.leasedChunks = leased.chunks
        report.leaseSecondsLeft = (leased.milliseconds + 999) / 1000
        return report
    }

    /// The claims of loads on a spread store, by id, from every master.
    func spreadClaims(_ client: RedisClient) throws -> [String: String] {
        let prefix = "\(layout.prefix):loading:{"
        var claims: [String: String] = [:]
        for pool in client.masterPools() {
            try pool.withConnection { connection in
                try connection.scan(matching: RedisConnection.globEscaped(prefix) + "*") { keys in
                    for key in keys where key.hasPrefix(prefix) {
                        guard let close = key.firstIndex(of: "}") else { continue }
                        let rest = key[key.index(after: close)...]
                        if rest.hasPrefix(":") { claims[String(rest.dropFirst())] = key }
                    }
                }
            }
        }
        return claims
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
        guard let documentKey = try layout.documentKeys(ids: [id], client: client)[id] else { return false }
        return try delete(id: id, documentKey: documentKey, client: client)
    }

    /// ``delete(id:client:)`` of a file whose document key a search gave.
    @discardableResult
    public func delete(id: String, documentKey: String, client: RedisClient) throws -> Bool {
        let reply = try client.call(
            RedisCommand("JSON.GET", documentKey, "$.size", "$.chunkSize", "$.chunkCount"), routedBy: documentKey)
        guard let text = reply.string,
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [Any]]
        else { return false }
        let size = object["$.size"]?.first as? Int ?? 0
        let chunkSize = object["$.chunkSize"]?.first as? Int ?? 0
        // Documents written before the count was left out of them still say it.
        let stored = object["$.chunkCount"]?.first as? Int
        let chunkCount = max(stored ?? 0, FileDocument.chunkCount(size: size, chunkSize: chunkSize))
        // The chunks go with the document only: a document gone meanwhile was deleted by
        // another statement, or moved by a `migrate` (whose copy still needs them).
        guard try client.call(RedisCommand("UNLINK", documentKey), routedBy: documentKey).integer == 1 else {
            return false
        }
        try client.unlink((0..<chunkCount).map { layout.chunkKey(id: id, index: $0) })
        return true
    }
}

import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// Creates dql's index on first use and brings an index made by an older dql up to date: an
/// outdated index is dropped without its documents, the documents gain any field the newer
/// schema derives from what they already hold, and the index is created again, so RediSearch
/// re-indexes them. No document is ever removed.
public struct IndexManager: Sendable {
    /// The version of ``Schema/indexDefinition(documentPrefix:)``; raise it whenever the
    /// definition changes.
    ///
    /// 1: the first schema. 2: `year` is the stored `studyYear` (grouping on a year computed in
    /// the query failed for files without a study date).
    public static let schemaVersion = 2

    public var layout: StorageLayout

    public init(layout: StorageLayout) {
        self.layout = layout
    }

    /// Where the version of the index definition is recorded (same slot as the index).
    public var versionKey: String { "\(layout.prefix):{m}:schema" }

    public enum Outcome: Sendable, Equatable {
        case existed
        case created
        case migrated(fromVersion: Int)
    }

    /// Makes sure the index exists with the current definition.
    @discardableResult
    public func ensureIndex(_ connection: RedisConnection) throws -> Outcome {
        let recorded = try connection.call("GET", versionKey).string.flatMap { Int($0) }
        let info = try connection.send(["FT.INFO", layout.indexName])
        let exists = info.errorMessage == nil
        if let message = info.errorMessage, !message.lowercased().contains("unknown index"),
            !message.lowercased().contains("no such index")
        {
            throw RedisError(.server, endpoint: connection.endpoint, "FT.INFO \(layout.indexName): \(message)")
        }
        if exists, let recorded, recorded > Self.schemaVersion {
            throw RedisError(
                .unsupported, endpoint: connection.endpoint,
                "the index \(layout.indexName) was made by a newer dql (schema \(recorded), this dql knows \(Self.schemaVersion)); upgrade dql"
            )
        }
        if exists && recorded == Self.schemaVersion { return .existed }
        if exists {
            // Without DD: the documents stay.
            try connection.call("FT.DROPINDEX", layout.indexName)
        }
        try addStudyYears(connection)
        try connection.call(
            RedisCommand(
                ["FT.CREATE", layout.indexName] + Schema.indexDefinition(documentPrefix: layout.documentPrefix)))
        try connection.call("SET", versionKey, String(Self.schemaVersion))
        try waitForIndexing(connection)
        return exists ? .migrated(fromVersion: recorded ?? 0) : .created
    }

    /// Schema 2: every document with a `studyDate` gets its `studyYear`. Idempotent (NX), so
    /// an interrupted migration simply runs again.
    func addStudyYears(_ connection: RedisConnection) throws {
        var cursor = "0"
        repeat {
            let reply = try connection.call("SCAN", cursor, "MATCH", layout.documentPrefix + "*", "COUNT", "1000")
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                throw RedisError(.unexpectedReply, endpoint: connection.endpoint, "SCAN replied \(reply)")
            }
            cursor = next
            let keys = (parts[1].array ?? []).compactMap(\.string)
            let dates = try connection.pipeline(keys.map { RedisCommand("JSON.GET", $0, "$.studyDate") })
            var updates: [RedisCommand] = []
            for (key, date) in zip(keys, dates) {
                guard let text = date.string, let number = Int(text.dropFirst().dropLast()) else { continue }
                updates.append(RedisCommand("JSON.SET", key, "$.studyYear", String(number / 10000), "NX"))
            }
            _ = try connection.pipeline(updates)
        } while cursor != "0"
    }

    /// A new index over existing documents fills in the background; until it is done a query
    /// would see only some of them. Waits until RediSearch reports the scan finished.
    func waitForIndexing(_ connection: RedisConnection) throws {
        while true {
            let info = try connection.call("FT.INFO", layout.indexName).array ?? []
            var indexing = false
            for position in stride(from: 0, to: info.count - 1, by: 2) where info[position].string == "indexing" {
                let value = info[position + 1]
                indexing = (value.integer ?? Int64(value.string ?? "0") ?? 0) != 0
            }
            if !indexing { return }
            usleep(10_000)
        }
    }
}

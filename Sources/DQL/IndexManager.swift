import RedisIO

/// Creates dql's index on first use and brings an index made by an older dql up to date.
/// Documents are never touched: an outdated index is dropped without its documents and
/// created again, and RediSearch re-indexes the documents already there.
public struct IndexManager: Sendable {
    /// The version of ``Schema/indexDefinition(documentPrefix:)``; raise it whenever the
    /// definition changes.
    public static let schemaVersion = 1

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
        try connection.call(
            RedisCommand(
                ["FT.CREATE", layout.indexName] + Schema.indexDefinition(documentPrefix: layout.documentPrefix)))
        try connection.call("SET", versionKey, String(Self.schemaVersion))
        return exists ? .migrated(fromVersion: recorded ?? 0) : .created
    }
}

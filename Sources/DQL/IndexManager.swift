import DicomCore
import Foundation
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
    /// the query failed for files without a study date). 3: `name` matches every name a file
    /// was loaded under (`names`, a list; documents gain it from their `name`). 4: `accession`
    /// and `referrer`, attributes of a study row (documents gain them from their headers). 5: the
    /// Patient ID also as a case-sensitive TAG, the key of a patient row. 6: words without
    /// positions or frequencies (NOOFFSETS, NOFREQS), a smaller index.
    public static let schemaVersion = 6

    /// Reads stored headers (chunks live on every master of a cluster, so the caller, which
    /// has the whole client, reads them).
    public typealias HeaderReader = @Sendable ([StoredHeader.Location]) throws -> [DicomFile]

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

    /// What the server holds under the prefix.
    public enum State: Sendable, Equatable {
        /// The index exists with the current definition.
        case current
        /// No index, no record of one, and no document: no dql data under this prefix.
        case absent
        /// An index made by an older dql.
        case outdated(version: Int)
        /// A record of an index but no index (dropped, or its slot moved to another master).
        case lost
    }

    /// What the server holds, without changing anything.
    public func state(_ connection: RedisConnection) throws -> State {
        let recorded = try connection.call("GET", versionKey).string.flatMap { Int($0) }
        let info = try connection.send(["FT.INFO", layout.indexName])
        if let message = info.errorMessage {
            guard RedisError.saysIndexIsMissing(message) else {
                throw RedisError(.server, endpoint: connection.endpoint, "FT.INFO \(layout.indexName): \(message)")
            }
            if recorded != nil { return .lost }
            // Documents without any record of their index (the record was removed, or a
            // session that did not notice a flush loaded into an empty server): rebuild it.
            let documents = RedisConnection.globEscaped(layout.documentPrefix) + "*"
            return try connection.hasKey(matching: documents) ? .lost : .absent
        }
        if let recorded, recorded > Self.schemaVersion {
            throw RedisError(
                .unsupported, endpoint: connection.endpoint,
                "the index \(layout.indexName) was made by a newer dql (schema \(recorded), this dql knows \(Self.schemaVersion)); upgrade dql"
            )
        }
        guard recorded == Self.schemaVersion else { return .outdated(version: recorded ?? 0) }
        // An index another client is (re)building answers from part of the documents: wait
        // until it has indexed them all.
        if Self.isIndexing(info) { try waitForIndexing(connection) }
        return .current
    }

    static func isIndexing(_ info: RedisReply) -> Bool {
        let pairs = info.pairs ?? []
        return pairs.first { $0.name == "indexing" }.map { ($0.value.integer ?? 0) != 0 } ?? false
    }

    /// Makes sure the index exists with the current definition.
    @discardableResult
    public func ensureIndex(_ connection: RedisConnection, headers: HeaderReader? = nil) throws -> Outcome {
        let state = try state(connection)
        if state == .current { return .existed }
        if case .outdated = state {
            // Without DD: the documents stay.
            let dropped = try connection.send(["FT.DROPINDEX", layout.indexName])
            // Another dql dropped it a moment ago, migrating too.
            if let message = dropped.errorMessage, !RedisError.saysIndexIsMissing(message) {
                throw RedisError(.server, endpoint: connection.endpoint, message)
            }
        }
        var fromVersion = Self.schemaVersion
        if case .outdated(let version) = state { fromVersion = version }
        try addDerivedFields(connection, headers: fromVersion < 4 ? headers : nil)
        // Attributes added with `index KEYWORD` are part of the index too.
        let attributes = try IndexedAttributes.read(connection, layout: layout).written
        let created = try connection.send(
            RedisCommand(
                ["FT.CREATE", layout.indexName] + Schema.indexDefinition(documentPrefix: layout.documentPrefix)
                    + attributes.flatMap(IndexedAttributes.schemaArguments)))
        // Another dql created it a moment ago (two first loads at once): the same index.
        if let message = created.errorMessage, !message.lowercased().contains("index already exists") {
            throw RedisError(.server, endpoint: connection.endpoint, message)
        }
        try connection.call("SET", versionKey, String(Self.schemaVersion))
        try waitForIndexing(connection)
        switch state {
        case .outdated(let version): return .migrated(fromVersion: version)
        default: return .created
        }
    }

    /// What later schemas index that older documents lack, derived from what they hold:
    /// schema 2, `studyYear` from `studyDate`; schema 3, `names` from `name`; schema 4 (with
    /// `headers`, when migrating from an older one), `accessionNumber` and `referringPhysician`
    /// from the stored header. Idempotent (NX), so an interrupted migration simply runs again.
    func addDerivedFields(_ connection: RedisConnection, headers: HeaderReader? = nil) throws {
        try connection.scan(matching: RedisConnection.globEscaped(layout.documentPrefix) + "*") { keys in
            let facts = try connection.pipeline(
                keys.map {
                    RedisCommand("JSON.GET", $0, "$.studyDate", "$.name", "$.size", "$.chunkSize", "$.headerLength")
                })
            var updates: [RedisCommand] = []
            var located: [(key: String, location: StoredHeader.Location)] = []
            for (key, reply) in zip(keys, facts) {
                guard let text = reply.string,
                    let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                else { continue }
                func first(_ path: String) -> Any? { (object[path] as? [Any])?.first }
                if let date = first("$.studyDate") as? Int {
                    updates.append(RedisCommand("JSON.SET", key, "$.studyYear", String(date / 10000), "NX"))
                }
                if let name = first("$.name") as? String {
                    updates.append(
                        RedisCommand("JSON.SET", key, "$.names", JSONValue.array([.string(name)]).serialized(), "NX"))
                }
                if headers != nil, let id = layout.id(fromDocumentKey: key),
                    let location = StoredHeader.Location(
                        id: id, size: first("$.size") as? Int, chunkSize: first("$.chunkSize") as? Int,
                        headerLength: first("$.headerLength") as? Int), location.headerLength != nil
                {
                    located.append((key, location))
                }
            }
            if let headers, !located.isEmpty {
                for (entry, file) in zip(located, try headers(located.map(\.location))) {
                    let fields = FileDocument.friendlyFields(
                        of: file, name: "", size: entry.location.size, id: entry.location.id)
                    for (member, value) in fields where Self.headerDerived.contains(member) {
                        updates.append(RedisCommand("JSON.SET", entry.key, "$." + member, value.serialized(), "NX"))
                    }
                }
            }
            _ = try connection.pipeline(updates)
        }
    }

    /// The document members schema 4 added, derived from the header.
    static let headerDerived: Set<String> = ["accessionNumber", "referringPhysician"]

    // MARK: Spread over a cluster

    /// On a spread store: every bucket's index exists with the current definition, or what is
    /// missing. The record of the version stays in the `{m}` slot.
    public func spreadState(_ client: RedisClient) throws -> State {
        try spreadState(client, added: addedAttributes(client))
    }

    /// ``spreadState(_:)`` with the attributes added with `index KEYWORD` already read. Every
    /// bucket's index is asked about in one pipeline per master.
    private func spreadState(_ client: RedisClient, added: [Field]) throws -> State {
        let recorded = try client.call(RedisCommand("GET", versionKey), routedBy: versionKey).string.flatMap { Int($0) }
        var missing = 0
        let expected = Set((Schema.fields + added).map(\.attribute))
        let indexes = (0..<StorageLayout.spreadBuckets).map { layout.spreadIndexName(bucket: $0) }
        let infos = try client.pipeline(indexes.map { RedisCommand("FT.INFO", $0) }, routedBy: indexes)
        for (index, info) in zip(indexes, infos) {
            if let message = info.errorMessage {
                guard RedisError.saysIndexIsMissing(message) else {
                    throw RedisError(
                        .server, endpoint: try client.pool(forKey: index).configuration.url.endpoint,
                        "\(message) (FT.INFO \(index))")
                }
                missing += 1
            } else if !expected.isSubset(of: Self.attributes(info)) {
                // An index left on a master when its bucket's slot moved away, found again
                // when the slot came back: older than the store's attributes. Rebuilt.
                let dropped = try client.send(RedisCommand("FT.DROPINDEX", index), routedBy: index)
                if let message = dropped.errorMessage, !RedisError.saysIndexIsMissing(message) {
                    throw RedisError(
                        .server, endpoint: try client.pool(forKey: index).configuration.url.endpoint, message)
                }
                missing += 1
            } else if Self.isIndexing(info) {
                try waitForIndexing(client, index: index)
            }
        }
        if missing == StorageLayout.spreadBuckets && recorded == nil { return .absent }
        if missing > 0 { return .lost }
        if let recorded, recorded > Self.schemaVersion {
            throw RedisError(
                .unsupported, endpoint: client.configuration.url.endpoint,
                "the indexes of \(layout.prefix) were made by a newer dql (schema \(recorded), this dql knows \(Self.schemaVersion)); upgrade dql"
            )
        }
        return recorded == Self.schemaVersion ? .current : .outdated(version: recorded ?? 0)
    }

    /// On a spread store: creates each bucket's index that is missing (a new store, or a bucket
    /// whose slot moved to a master without it), each on the master of its slot, and waits
    /// until it has indexed the documents there.
    @discardableResult
    public func ensureSpreadIndexes(_ client: RedisClient) throws -> Outcome {
        let attributes = try addedAttributes(client)
        let state = try spreadState(client, added: attributes)
        if state == .current { return .existed }
        if case .outdated(let version) = state {
            throw RedisError(
                .unsupported, endpoint: client.configuration.url.endpoint,
                "the indexes of \(layout.prefix) are of schema \(version); a spread store is migrated by the dql that made it"
            )
        }
        var created: [String] = []
        for bucket in 0..<StorageLayout.spreadBuckets {
            let index = layout.spreadIndexName(bucket: bucket)
            let reply = try client.send(
                RedisCommand(
                    ["FT.CREATE", index]
                        + Schema.indexDefinition(documentPrefix: layout.spreadDocumentPrefix(bucket: bucket))
                        + attributes.flatMap(IndexedAttributes.schemaArguments)), routedBy: index)
            if let message = reply.errorMessage {
                // There already (another dql made it a moment ago).
                guard message.lowercased().contains("index already exists") else {
                    throw RedisError(
                        .server, endpoint: try client.pool(forKey: index).configuration.url.endpoint, message)
                }
            } else {
                created.append(index)
            }
        }
        try client.call(RedisCommand("SET", versionKey, String(Self.schemaVersion)), routedBy: versionKey)
        for index in created { try waitForIndexing(client, index: index) }
        return .created
    }

    /// The attributes added with `index KEYWORD`, which every bucket's index must have too.
    func addedAttributes(_ client: RedisClient) throws -> [Field] {
        try client.withConnection(routedBy: versionKey) { try IndexedAttributes.read($0, layout: layout).written }
    }

    /// The attribute names an index has (FT.INFO's `attributes`).
    static func attributes(_ info: RedisReply) -> Set<String> {
        let list = (info.pairs ?? []).first { $0.name == "attributes" }?.value.array ?? []
        return Set(
            list.compactMap { attribute in
                guard let words = attribute.array, let at = words.firstIndex(where: { $0.string == "attribute" }),
                    at + 1 < words.count
                else { return nil }
                return words[at + 1].string
            })
    }

    func waitForIndexing(_ client: RedisClient, index: String) throws {
        while Self.isIndexing(try client.call(RedisCommand("FT.INFO", index), routedBy: index)) { usleep(10_000) }
    }

    /// A new index over existing documents fills in the background; until it is done a query
    /// would see only some of them. Waits until RediSearch reports the scan finished.
    func waitForIndexing(_ connection: RedisConnection) throws {
        while true {
            if !Self.isIndexing(try connection.call("FT.INFO", layout.indexName)) { return }
            usleep(10_000)
        }
    }
}

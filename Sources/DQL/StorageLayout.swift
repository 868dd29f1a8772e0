import Foundation
import RedisIO

/// Where dql keeps things in Redis (storage layout v1, DESIGN.md section 3).
///
/// Metadata documents and the index share the `{m}` hash tag, so on a cluster they live in
/// one slot and RediSearch works without a coordinator; chunks carry no hash tag and spread
/// over every shard.
public struct StorageLayout: Sendable, Hashable {
    /// The namespace prefix, `dql` unless configured.
    public var prefix: String
    /// Where the metadata lives on a cluster (on one server it is always ``Placement/single``).
    public var placement: Placement = .single

    /// How a store places its documents and indexes.
    public enum Placement: String, Sendable, Hashable {
        /// Every document and the one index in the `{m}` slot: one master holds and searches
        /// all of the metadata (every store on one server, and cluster stores made before
        /// metadata spread).
        case single
        /// Documents in ``StorageLayout/spreadBuckets`` buckets by study, each bucket a slot
        /// with its own index, so every master holds and searches its share; dql merges the
        /// buckets' answers (``SearchCoordinator``).
        case spread
        /// A `single` store on its way to `spread` (`migrate`, ``SpreadMigration``): documents
        /// are in both layouts, each in exactly one; queries ask both, and statements that
        /// change the store are refused until the move is done.
        case migrating

        /// Whether new documents, leases and bucket indexes use the spread layout.
        var usesBuckets: Bool { self != .single }
    }

    public init(prefix: String = "dql", placement: Placement = .single) {
        self.prefix = prefix
        self.placement = placement
    }

    /// Where the store's placement is recorded (a cluster store made spread says `spread`).
    public var placementKey: String { "\(prefix):{m}:placement" }

    /// Why `prefix` cannot name a namespace, or nil if it can: letters, digits and `- _ . :`,
    /// 1 to 100 of them. Braces would make a hash tag of it (and break cluster routing), and
    /// the characters of key patterns or blanks have no place in key names.
    public static func problem(with prefix: String) -> String? {
        if prefix.isEmpty { return "the prefix is empty" }
        if prefix.count > 100 { return "the prefix is longer than 100 characters" }
        if let bad = prefix.unicodeScalars.first(where: {
            !($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
                && !"-_.:".unicodeScalars.contains($0)
        }) {
            let shown = bad.value < 0x20 || bad.value == 0x7F ? "a control character" : "'\(bad)'"
            return "the prefix may hold letters, digits and - _ . : only, not \(shown)"
        }
        return nil
    }

    /// The index queries name. On a spread store, `PREFIX:idx:{s*}` stands for every bucket's
    /// (each query is sent to each of them, ``SearchCoordinator``).
    public var indexName: String { placement.usesBuckets ? "\(prefix):idx:{s*}" : singleIndexName }

    /// The index of the `{m}` layout (on a migrating store, the documents not yet moved).
    public var singleIndexName: String { "\(prefix):{m}:idx" }
    public var documentPrefix: String { "\(prefix):{m}:file:" }

    /// The metadata document of the file whose SHA-256 is `id`, on a store of ``Placement/single``.
    public func documentKey(id: String) -> String { documentPrefix + id }

    /// The metadata document of file `id` of study `study`, wherever the placement puts it.
    public func documentKey(id: String, study: String?) -> String {
        placement.usesBuckets
            ? spreadDocumentKey(id: id, bucket: Self.spreadBucket(study: study)) : documentKey(id: id)
    }

    /// Chunk `index` (0-based) of the file whose SHA-256 is `id`.
    public func chunkKey(id: String, index: Int) -> String { "\(prefix):chunk:\(id):\(index)" }

    /// Present (with an expiry) while a load of file `id` is writing chunks: `vacuum` leaves
    /// those chunks alone. A load that dies leaves it to expire.
    /// It shares the documents' `{m}` slot, so one EXISTS asks about both on a cluster too.
    public func loadingKey(id: String) -> String { "\(prefix):{m}:loading:\(id)" }

    /// The lease of file `id` of study `study`: in its document's slot, so one script checks
    /// the lease and writes the document.
    public func loadingKey(id: String, study: String?) -> String {
        placement.usesBuckets
            ? "\(prefix):loading:{\(Self.spreadTag(bucket: Self.spreadBucket(study: study)))}:\(id)"
            : loadingKey(id: id)
    }

    /// Present (with an expiry, renewed) while a load statement runs, from before it reads the
    /// record of indexed attributes until its last document: `index` waits for the loads that
    /// began before it, whose documents lack the new attribute, then fills those in too.
    public func loadRunKey(token: String) -> String { "\(prefix):{m}:loadrun:\(token)" }

    /// The marker a commit of the document `documentKey` checks: on a spread store the load
    /// holds one in every bucket's slot too (a script cannot reach the `{m}` slot from a
    /// bucket's), renewed before the `{m}` marker and with a shorter expiry, so it is gone
    /// whenever that one is.
    public func loadRunKey(token: String, documentKey: String) -> String {
        let bucketPrefix = "\(prefix):doc:{"
        guard placement.usesBuckets, documentKey.hasPrefix(bucketPrefix),
            let close = documentKey.firstIndex(of: "}")
        else { return loadRunKey(token: token) }
        let tag = documentKey[documentKey.index(documentKey.startIndex, offsetBy: bucketPrefix.count)..<close]
        return "\(prefix):loadrun:{\(tag)}:\(token)"
    }

    /// The markers a load holds in the buckets' slots (none on a `{m}` store).
    public func bucketLoadRunKeys(token: String) -> [String] {
        guard placement.usesBuckets else { return [] }
        return (0..<Self.spreadBuckets).map { "\(prefix):loadrun:{\(Self.spreadTag(bucket: $0))}:\(token)" }
    }

    /// The key that routes metadata commands (documents, index, leases) on a cluster: every
    /// one of them is in the `{m}` slot.
    public var metadataRoutingKey: String { "\(prefix):{m}:idx" }

    /// A key that never holds anything: statements that change the store first ask the
    /// server to delete it (a no-op) to find out whether the account may write.
    public var writeCheckKey: String { "\(prefix):{m}:write-check" }

    /// A key written (and expired at once) on each master a load wrote to, so one `WAITAOF`
    /// there covers every write before it (see ``Durability``); `tag` picks the master.
    public func durabilityMarker(tag: String) -> String { "\(prefix):durable:{\(tag)}" }

    /// How long a load's claim on its chunks lasts without being renewed, in seconds. A live
    /// load renews it every third of that; a dead one's chunks are reclaimable after it.
    public static let loadingLeaseSeconds = 30

    // MARK: Spread over a cluster

    /// Buckets of a store spread over a cluster's masters. A bucket is one hash slot: its
    /// documents and its index share a hash tag, because RediSearch (without its coordinator)
    /// loads the fields of only the documents in its index name's slot (elsewhere RETURN and
    /// LOAD come back empty). A study's documents go to one bucket, so to one master.
    public static let spreadBuckets = 16

    /// Bucket `bucket`'s hash tag: the first `sB-N` whose slot lies in the bucket's sixteenth
    /// of the slots, so the buckets spread over the masters as evenly as the slots do.
    public static func spreadTag(bucket: Int) -> String { spreadTags[bucket] }

    /// Every bucket's tag, found once (each key and index name of a spread store uses one).
    private static let spreadTags: [String] = (0..<spreadBuckets).map { bucket in
        let width = HashSlot.count / spreadBuckets
        let range = (bucket * width)..<((bucket + 1) * width)
        for number in 0... {
            let tag = "s\(bucket)-\(number)"
            if range.contains(HashSlot(key: tag).value) { return tag }
        }
        return "s\(bucket)"
    }

    /// The bucket of a file: a hash of its Study Instance UID, so a study's instances keep
    /// together and many studies spread over every bucket. Files without one share a bucket
    /// too: they are a group of their own wherever a query groups by study.
    public static func spreadBucket(study: String?) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (study ?? "").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(spreadBuckets))
    }

    /// Where bucket `bucket`'s documents start: its index takes exactly these.
    public func spreadDocumentPrefix(bucket: Int) -> String { "\(prefix):doc:{\(Self.spreadTag(bucket: bucket))}:" }

    /// The document of file `id` in bucket `bucket`.
    public func spreadDocumentKey(id: String, bucket: Int) -> String { spreadDocumentPrefix(bucket: bucket) + id }

    /// Bucket `bucket`'s index, on the master of the bucket's slot.
    public func spreadIndexName(bucket: Int) -> String { "\(prefix):idx:{\(Self.spreadTag(bucket: bucket))}" }

    // MARK: Moving a `{m}` store to buckets

    /// The progress of a `migrate` (a hash): `epoch`, even between steps and odd while one
    /// commits (queries that saw it change ask again), and the `moved` and `total` documents.
    public var migrationKey: String { "\(prefix):{m}:migration" }

    /// The step being committed: its documents' old, staged and new keys (written before the
    /// step begins, deleted once it is done), so an interrupted `migrate` finishes it.
    public var migrationStepKey: String { "\(prefix):{m}:migration:step" }

    /// Present (with a short expiry) while `migrate` waits to commit a step: a reading
    /// statement that begins meanwhile waits for the step, so steps are not put off for ever
    /// by statements that follow one another.
    public var migrationPendingKey: String { "\(prefix):{m}:migration:pending" }

    /// Where `migrate` copies a document before the step that makes it the bucket's: in the
    /// bucket's slot, under no index's prefix, so no query sees it.
    public func stagingKey(id: String, bucket: Int) -> String {
        "\(prefix):stage:{\(Self.spreadTag(bucket: bucket))}:\(id)"
    }

    /// The id in a document key, or nil if the key is not one of ours.
    public func id(fromDocumentKey key: String) -> String? {
        if key.hasPrefix(documentPrefix) { return String(key.dropFirst(documentPrefix.count)) }
        guard key.hasPrefix("\(prefix):doc:{"), let close = key.firstIndex(of: "}") else { return nil }
        let rest = key[key.index(after: close)...]
        return rest.hasPrefix(":") ? String(rest.dropFirst()) : nil
    }
}

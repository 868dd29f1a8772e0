import Foundation
import RedisIO

/// `migrate`: moves a store on a cluster that keeps all of its metadata in the `{m}` slot
/// (made before metadata spread) to the spread layout, study by study, readable throughout.
///
/// - The record of placement says `migrating` first. From then on statements that change the
///   store wait, and a load that began before is refused at its commit (the commit script
///   reads the record, which shares the `{m}` slot), so the `{m}` documents only leave.
///   Queries ask the `{m}` index and every bucket's index.
/// - Studies move whole, a step at a time: each document is copied to a staging key in its
///   bucket's slot, under no index's prefix; the step's keys are recorded; then, with the
///   move's epoch odd, the copies are renamed into their buckets and the `{m}` documents
///   deleted, and the epoch is made even again. A query that saw the epoch odd or changed asks
///   again (``SearchRunner/coordinate(_:)``), so it sees every document exactly once.
/// - Stopped anywhere (Ctrl-C, a lost connection, SIGKILL), `migrate` goes on where it
///   stopped: a recorded step is finished first; copies staged for an unrecorded one are
///   written again.
/// - When the `{m}` index holds nothing, the record says `spread`, the `{m}` index is dropped
///   and leftover staged copies are deleted.
public struct SpreadMigration {
    let layout: StorageLayout
    let client: RedisClient
    /// Documents a step moves at least (whole studies: one study may make it more).
    var documentsPerStep = 1000
    /// Studies asked for at once from the `{m}` index.
    var studiesPerRound = 1000
    /// Seconds the claim on the move lasts unrenewed (renewed at every step): a second
    /// `migrate` meanwhile is refused; one after a killed `migrate` waits at most this long.
    var claimSeconds = 10
    /// Called after every step with the documents it moved (tests stop a move part way).
    var afterStep: (@Sendable (Int) throws -> Void)?

    /// What a `migrate` did.
    public struct Report: Sendable, Equatable {
        /// Documents moved by this run (earlier, stopped runs not counted).
        public var moved = 0
        /// Documents the store holds once moved.
        public var total = 0
        /// Steps this run committed.
        public var steps = 0
        /// A stopped move was taken up again.
        public var resumed = false
        /// The store was spread already: nothing to do.
        public var alreadySpread = false
        /// Masters the buckets are on.
        public var masters = 0
        /// Statements reading the store that a step stopped waiting for (each is waited for
        /// once; they fail rather than mix two states of the store).
        public var outlastedReaders = 0

        public init(moved: Int = 0, total: Int = 0, steps: Int = 0, resumed: Bool = false, alreadySpread: Bool = false)
        {
            self.moved = moved
            self.total = total
            self.steps = steps
            self.resumed = resumed
            self.alreadySpread = alreadySpread
        }
    }

    /// One document of a step: where it is, where its copy waits, where it goes.
    struct Move: Codable, Equatable {
        var from: String
        var staged: String
        var to: String
    }

    init(layout: StorageLayout, client: RedisClient) {
        var layout = layout
        layout.placement = .migrating
        self.layout = layout
        self.client = client
    }

    // MARK: Scripts (each on the `{m}` slot)

    /// Marks the store migrating (KEYS: placement, progress; ARGV: documents in all): `spread`
    /// when it is already, `resumed` when a move was under way, else `begun`.
    static let beginScript = """
        local placement = redis.call('GET', KEYS[1])
        if placement == 'spread' then return 'spread' end
        if placement == 'migrating' and redis.call('EXISTS', KEYS[2]) == 1 then return 'resumed' end
        redis.call('HSET', KEYS[2], 'epoch', 0, 'moved', 0, 'total', ARGV[1])
        redis.call('SET', KEYS[1], 'migrating')
        return 'begun'
        """

    /// Takes (or renews) the claim on the move (KEYS: claim; ARGV: token, seconds): 1 when it
    /// is this run's.
    static let claimScript = """
        local holder = redis.call('GET', KEYS[1])
        if holder and holder ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        return 1
        """

    /// Records a step and makes the epoch odd (KEYS: progress, step; ARGV: the step's moves).
    static let stepBeginScript = """
        redis.call('SET', KEYS[2], ARGV[1])
        return redis.call('HINCRBY', KEYS[1], 'epoch', 1)
        """

    /// Makes the epoch odd for a recorded step taken up again (KEYS: progress).
    static let stepResumeScript = """
        if redis.call('HINCRBY', KEYS[1], 'epoch', 0) % 2 == 0 then redis.call('HINCRBY', KEYS[1], 'epoch', 1) end
        return 1
        """

    /// Ends a step: the epoch even again, its documents counted, its record gone (KEYS:
    /// progress, step; ARGV: documents moved).
    static let stepEndScript = """
        if redis.call('HINCRBY', KEYS[1], 'epoch', 0) % 2 == 1 then redis.call('HINCRBY', KEYS[1], 'epoch', 1) end
        redis.call('HINCRBY', KEYS[1], 'moved', ARGV[1])
        redis.call('DEL', KEYS[2])
        return 1
        """

    /// Ends the move (KEYS: placement, progress, step).
    static let finishScript = """
        redis.call('SET', KEYS[1], 'spread')
        redis.call('DEL', KEYS[2], KEYS[3])
        return 1
        """

    var claimKey: String { layout.migrationKey + ":claim" }

    // MARK: Running

    /// Moves every `{m}` document to its bucket, and the store to `spread`.
    func run(context: StatementContext) throws -> Report {
        var report = Report()
        // An `index` filling in an attribute writes to the `{m}` documents as it finds them:
        // a document moved meanwhile would miss it.
        let attributes = try client.withConnection(routedBy: layout.metadataRoutingKey) {
            try IndexedAttributes.read($0, layout: layout)
        }
        if let filling = attributes.entries.first(where: { $0.state == .filling }) {
            throw RedisError(
                .server, endpoint: try endpoint(),
                "`index \(filling.field.name)` has not finished filling in its attribute; run it again to finish, then migrate"
            )
        }
        let total = try remaining()
        // The buckets' indexes first: an account that may not make them (not an owner's) is
        // refused before anything is written.
        try IndexManager(layout: layout).ensureSpreadIndexes(client)
        let begun = try client.call(
            RedisCommand("EVAL", Self.beginScript, "2", layout.placementKey, layout.migrationKey, String(total)),
            routedBy: layout.placementKey
        ).string
        if begun == "spread" { return Report(alreadySpread: true) }
        report.resumed = begun == "resumed"
        let token = UUID().uuidString
        try claim(token: token, waiting: true, context: context)
        defer {
            _ = try? client.call(
                RedisCommand("EVAL", LoadLease.releaseScript, "1", claimKey, token), routedBy: claimKey)
        }
        // The migrate waited for may have finished the move meanwhile.
        if try client.call(RedisCommand("GET", layout.placementKey), routedBy: layout.placementKey).string
            == StorageLayout.Placement.spread.rawValue
        {
            return Report(alreadySpread: true)
        }
        let progress =
            try client.call(RedisCommand("HGETALL", layout.migrationKey), routedBy: layout.migrationKey)
            .textPairs ?? [:]
        let movedBefore = progress["moved"].flatMap { Int($0) } ?? 0
        context.activity.begin(files: movedBefore + total, bytes: 0)
        context.activity.finish(files: movedBefore)
        // A step recorded by a run that stopped in it is finished first.
        if let recorded = try client.call(
            RedisCommand("GET", layout.migrationStepKey), routedBy: layout.migrationStepKey
        )
        .string {
            let moves = try JSONDecoder().decode([Move].self, from: Data(recorded.utf8))
            let moved = try commit(moves, resuming: true)
            try endStep(moved: moved)
            report.moved += moved
            report.steps += 1
            context.activity.finish(files: moved)
        }
        // A move just begun first gives statements that began on the `{m}` layout a moment to
        // reach their next query, where they find it and say they are reading.
        var grace = begun == "begun" ? Self.graceSeconds : 0
        var outlived: Set<String> = []
        /// One step: the documents `keys` moved to their buckets, once no statement is reading.
        func move(_ keys: [String]) throws -> Int {
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            try claim(token: token, waiting: false, context: context)
            let moves = try stage(keys)
            guard !moves.isEmpty else { return 0 }
            try waitForReaders(context: context, grace: grace, outlived: &outlived)
            grace = 0
            let moved = try commit(moves, resuming: false)
            try endStep(moved: moved)
            _ = try? client.call(RedisCommand("DEL", layout.migrationPendingKey), routedBy: layout.migrationPendingKey)
            report.moved += moved
            report.steps += 1
            context.activity.finish(files: moved)
            try afterStep?(moved)
            return moved
        }
        while true {
            var moved = 0
            for step in Self.steps(of: try nextStudies(), documents: documentsPerStep) {
                moved += try move(try documentKeys(of: step))
            }
            if moved > 0 { continue }
            // What no study's query finds (a Study Instance UID of several values, which the
            // index groups as one odd value) moves by its keys, a step at a time.
            let left = try remainingKeys(count: documentsPerStep)
            if left.isEmpty { break }
            guard try move(left) > 0 else {
                let ids = left.prefix(3).compactMap { layout.id(fromDocumentKey: $0) }.joined(separator: ", ")
                throw RedisError(
                    .unexpectedReply, endpoint: try endpoint(),
                    "\(left.count) documents of the {m} index could not be read to be moved (\(ids)\(left.count > 3 ? ", …" : "")); nothing of them was changed"
                )
            }
        }
        guard try remaining() == 0 else {
            throw RedisError(
                .unexpectedReply, endpoint: try endpoint(),
                "the {m} index still holds documents that could not be moved; nothing of them was changed")
        }
        try waitForReaders(context: context, outlived: &outlived)
        try client.call(
            RedisCommand(
                "EVAL", Self.finishScript, "3", layout.placementKey, layout.migrationKey, layout.migrationStepKey),
            routedBy: layout.placementKey)
        let dropped = try client.send(
            RedisCommand("FT.DROPINDEX", layout.singleIndexName), routedBy: layout.metadataRoutingKey)
        if let message = dropped.errorMessage, !RedisError.saysIndexIsMissing(message) {
            throw RedisError(.server, endpoint: try endpoint(), message)
        }
        try removeLeftoverCopies()
        report.outlastedReaders = outlived.count
        var spread = layout
        spread.placement = .spread
        report.masters = Set(try spread.spreadShards(client).map(\.endpoint)).count
        report.total = try SearchPage(
            SearchRunner(client: client, layout: spread).coordinate(
                ["FT.SEARCH", spread.indexName, "*", "NOCONTENT", "LIMIT", "0", "0", "DIALECT", "2"]), returning: false
        ).total
        return report
    }

    /// Up to `count` document keys left in the `{m}` index.
    func remainingKeys(count: Int) throws -> [String] {
        let reply = try client.send(
            RedisCommand(
                "FT.SEARCH", layout.singleIndexName, "*", "NOCONTENT", "LIMIT", "0", String(count), "DIALECT", "2"),
            routedBy: layout.metadataRoutingKey)
        if let message = reply.errorMessage {
            if RedisError.saysIndexIsMissing(message) { return [] }
            throw RedisError(.server, endpoint: try endpoint(), message)
        }
        return try SearchPage(reply, returning: false).documents.map(\.key)
    }

    /// How long a step waits for statements reading the store (``StatementReading``) before
    /// it goes ahead (they then fail, rather than mix two states of the store).
    var readerPatience: Double = 60

    /// How long the first step of a move waits for statements begun before it (see
    /// ``StatementReading/joinMigration(layout:client:)``).
    static let graceSeconds: Double = 1

    /// Waits until no statement reads the store: no connection to the `{m}` slot's master is
    /// named as a reader of this prefix (CLIENT LIST), at most ``readerPatience``.
    ///
    /// Readers that outlived a whole wait (a statement stopped with SIGSTOP, a client that
    /// hangs) are in `outlived` and not waited for again: their statements fail anyway once
    /// a step has gone ahead of them.
    func waitForReaders(context: StatementContext, grace: Double = 0, outlived: inout Set<String>) throws {
        let name = "name=\(StatementReading.readerName(prefix: layout.prefix)) "
        let started = Date()
        let deadline = Date().addingTimeInterval(readerPatience)
        var announced = Date.distantPast
        var said = false
        var waitedFor: Set<String> = []
        while Date() < deadline {
            // Statements that begin from now on wait for the step (the mark expires by
            // itself if this run is killed).
            if Date().timeIntervalSince(announced) > 1 {
                try client.call(
                    RedisCommand(
                        "SET", layout.migrationPendingKey, "1", "EX", String(Int(StatementReading.stepPatience))),
                    routedBy: layout.migrationPendingKey)
                announced = Date()
            }
            let clients =
                try client.call(RedisCommand("CLIENT", "LIST", "TYPE", "normal"), routedBy: layout.metadataRoutingKey)
                .string ?? ""
            // Each line starts with the client's `id=N`.
            waitedFor = Set(
                clients.split(whereSeparator: \.isNewline).filter { $0.contains(name) }.compactMap {
                    $0.split(separator: " ").first.map(String.init)
                }
            ).subtracting(outlived)
            if waitedFor.isEmpty, Date().timeIntervalSince(started) >= grace { return }
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            if !said, !waitedFor.isEmpty, Date().timeIntervalSince(started) > 2 {
                context.note(
                    "waiting for \(waitedFor.count) statement(s) reading the store to finish before the next step (at most \(Int(readerPatience)) s)"
                )
                said = true
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        outlived.formUnion(waitedFor)
    }

    /// The `{m}` index's documents.
    func remaining() throws -> Int {
        let reply = try client.send(
            RedisCommand("FT.SEARCH", layout.singleIndexName, "*", "NOCONTENT", "LIMIT", "0", "0", "DIALECT", "2"),
            routedBy: layout.metadataRoutingKey)
        if let message = reply.errorMessage {
            if RedisError.saysIndexIsMissing(message) { return 0 }
            throw RedisError(.server, endpoint: try endpoint(), message)
        }
        return try SearchPage(reply, returning: false).total
    }

    private func endpoint() throws -> String {
        try client.pool(forKey: layout.metadataRoutingKey).configuration.url.endpoint
    }

    /// Takes or renews the claim on the move. `waiting`: a claim held by another (a `migrate`
    /// killed moments ago, whose claim expires within ``claimSeconds``) is waited for, as long
    /// as it is not renewed.
    private func claim(token: String, waiting: Bool, context: StatementContext) throws {
        func take() throws -> Bool {
            try client.call(
                RedisCommand("EVAL", Self.claimScript, "1", claimKey, token, String(claimSeconds)), routedBy: claimKey
            ).integer == 1
        }
        var held = try take()
        if !held, waiting {
            context.note(
                "another migrate holds the move (one killed moments ago holds it up to \(claimSeconds) s): waiting for it"
            )
            let deadline = Date().addingTimeInterval(Double(claimSeconds) + 2)
            while !held, Date() < deadline {
                if context.isCancelled() { throw ChunkTransferError.cancelled }
                Thread.sleep(forTimeInterval: 0.2)
                held = try take()
            }
        }
        guard held else {
            throw RedisError(
                .server, endpoint: try endpoint(),
                "another migrate is moving this store (it holds \(claimKey) and keeps renewing it); let it finish"
            )
        }
    }

    // MARK: Studies and steps

    /// A study still in the `{m}` index (nil: the files without a Study Instance UID) and
    /// how many documents it has.
    struct Study: Equatable {
        var uid: String?
        var documents: Int
    }

    /// Up to ``studiesPerRound`` studies left in the `{m}` index.
    func nextStudies() throws -> [Study] {
        let command = [
            "FT.AGGREGATE", layout.singleIndexName, "*", "LOAD", "1", "@studyUid", "GROUPBY", "1", "@studyUid",
            "REDUCE",
            "COUNT", "0", "AS", "n", "LIMIT", "0", String(studiesPerRound), "DIALECT", "2",
        ]
        let reply = try client.send(RedisCommand(command), routedBy: layout.metadataRoutingKey)
        if let message = reply.errorMessage {
            if RedisError.saysIndexIsMissing(message) { return [] }
            throw RedisError(.server, endpoint: try endpoint(), message)
        }
        return try AggregateRows(reply).rows.map { row in
            Study(uid: row["studyUid"].flatMap { $0.isEmpty ? nil : $0 }, documents: row["n"].flatMap { Int($0) } ?? 0)
        }
    }

    /// Studies in steps of at least `documents` documents (or as many studies as one query
    /// names); the files without a study in a step of their own.
    static func steps(of studies: [Study], documents: Int) -> [[Study]] {
        var steps: [[Study]] = []
        var current: [Study] = []
        var count = 0
        for study in studies {
            if study.uid == nil {
                steps.append([study])
                continue
            }
            current.append(study)
            count += study.documents
            if count >= documents || current.count >= LevelPlan.keysPerCommand {
                steps.append(current)
                current = []
                count = 0
            }
        }
        if !current.isEmpty { steps.append(current) }
        return steps
    }

    /// The `{m}` document keys of a step's studies.
    func documentKeys(of step: [Study]) throws -> [String] {
        guard let studyField = Schema.field(named: "studyUid") else { return [] }
        var builder = QueryBuilder()
        let uids = step.compactMap(\.uid)
        let text =
            uids.isEmpty ? "ismissing(@\(studyField.attribute))" : LevelPlan.keyMatch(studyField, uids, &builder)
        let query = SearchQuery(text: text, parameters: builder.parameters)
        var keys: [String] = []
        try SearchRunner.page(from: 0, limit: nil, pageSize: 1000) { offset, count in
            let command =
                ["FT.SEARCH", layout.singleIndexName] + query.queryArguments
                + ["NOCONTENT", "LIMIT", String(offset), String(count)] + query.paramsArguments + ["DIALECT", "2"]
            let page = try SearchPage(
                client.call(RedisCommand(command), routedBy: layout.metadataRoutingKey), returning: false)
            keys += page.documents.map(\.key)
            return page.documents.count
        }
        return keys
    }

    // MARK: Moving

    /// Copies the documents `keys` to their buckets' staging keys (no query sees them there).
    func stage(_ keys: [String]) throws -> [Move] {
        guard !keys.isEmpty else { return [] }
        let documents = try client.pipeline(
            keys.map { RedisCommand("JSON.GET", $0, "$") }, routedBy: keys)
        var moves: [Move] = []
        var writes: [RedisCommand] = []
        for (key, reply) in zip(keys, documents) {
            guard let id = layout.id(fromDocumentKey: key), let text = try reply.checked().string,
                text.hasPrefix("["), text.hasSuffix("]")
            else { continue }
            let json = String(text.dropFirst().dropLast())
            guard !json.isEmpty else { continue }
            let bucket = StorageLayout.spreadBucket(study: Self.study(ofDocument: json))
            let move = Move(
                from: key, staged: layout.stagingKey(id: id, bucket: bucket),
                to: layout.spreadDocumentKey(id: id, bucket: bucket))
            moves.append(move)
            writes.append(RedisCommand("JSON.SET", move.staged, "$", json))
        }
        for reply in try client.pipeline(writes, routedBy: moves.map(\.staged)) { _ = try reply.checked() }
        return moves
    }

    /// The Study Instance UID a document was bucketed by: its first value, as the loader
    /// reads it.
    static func study(ofDocument json: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            return nil
        }
        if let uid = object["studyUid"] as? String { return uid }
        return (object["studyUid"] as? [Any])?.first as? String
    }

    /// Makes a step's copies the documents: with the epoch odd, each copy is renamed into its
    /// bucket and the `{m}` document deleted; a document deleted meanwhile (by a `delete` that
    /// began before the move) takes its copy with it. Returns the documents moved. Safe to
    /// run again on a step a stopped run recorded (`resuming`): what it did stays done.
    func commit(_ moves: [Move], resuming: Bool) throws -> Int {
        let record = String(decoding: try JSONEncoder().encode(moves), as: UTF8.self)
        try client.call(
            resuming
                ? RedisCommand("EVAL", Self.stepResumeScript, "1", layout.migrationKey)
                : RedisCommand(
                    "EVAL", Self.stepBeginScript, "2", layout.migrationKey, layout.migrationStepKey, record),
            routedBy: layout.migrationKey)
        let renamed = try client.pipeline(
            moves.map { RedisCommand("RENAME", $0.staged, $0.to) }, routedBy: moves.map(\.staged))
        for reply in renamed {
            // A copy renamed by the run that stopped in this step is not there any more.
            if let message = reply.errorMessage, !message.lowercased().contains("no such key") {
                throw RedisError(.server, endpoint: try endpoint(), message)
            }
        }
        let deleted = try client.pipeline(
            moves.map { RedisCommand("DEL", $0.from) }, routedBy: moves.map(\.from))
        var gone: [String] = []
        for (move, reply) in zip(moves, deleted) {
            if try reply.checked().integer == 0, !resuming { gone.append(move.to) }
        }
        if !gone.isEmpty {
            for reply in try client.pipeline(gone.map { RedisCommand("DEL", $0) }, routedBy: gone) {
                _ = try reply.checked()
            }
        }
        return moves.count - gone.count
    }

    private func endStep(moved: Int) throws {
        try client.call(
            RedisCommand(
                "EVAL", Self.stepEndScript, "2", layout.migrationKey, layout.migrationStepKey, String(moved)),
            routedBy: layout.migrationKey)
    }

    /// Deletes staged copies a stopped run left (of documents a later step staged again and
    /// moved, or that a `delete` took).
    private func removeLeftoverCopies() throws {
        let pattern = RedisConnection.globEscaped("\(layout.prefix):stage:{") + "*"
        for pool in client.masterPools() {
            var leftovers: [String] = []
            try pool.withConnection { connection in
                try connection.scan(matching: pattern) { leftovers += $0 }
            }
            if !leftovers.isEmpty { try client.unlink(leftovers) }
        }
    }
}

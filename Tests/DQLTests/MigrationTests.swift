import Foundation
import RedisIO
import Synchronization
import TestSupport
import Testing

@testable import DQL

/// `migrate` on the test cluster: a store made before metadata spread (every document in the
/// `{m}` slot) moves to the spread layout, readable throughout, with the same answers before,
/// during and after, and a move stopped anywhere goes on where it stopped.
@Suite(.serialized) struct MigrationTests {
    struct StoppedOnPurpose: Error {}

    /// Statements whose answers the move must not change (no `limit` over tied sort keys,
    /// whose order is undefined).
    static let statements = [
        "count", "count by modality", "count studies", "count patients", "count series by modality",
        "count by modality, year order by year desc", "find name, modality, date where modality = 'CT' order by name",
        "find studies studyUid, numberOfSeries, numberOfInstances, size", "find patients",
        "find series where modality = 'MR'", "find name order by size desc limit 5 offset 3",
        "count where studyUid is missing", "find name where name = 'CT_small.dcm'",
        "find name, modality, studyUid order by name", "find id, name",
    ]

    static func answers(_ executor: Executor, _ statements: [String] = statements) throws -> [[StatementResult]] {
        try statements.map { ClusterTests.comparable(try executor.run($0)) }
    }

    @Test func aStoreOfTheOldLayoutMovesAndAnswersAsBeforeDuringAndAfter() throws {
        // With a file with two Study Instance UIDs (which the index groups as one odd value).
        let store = try ClusterTests.ArchiveStore(
            "migrate", single: true, patients: 10, studies: 3, series: 2, instances: 2
        ) { scratch in
            try SmallDicom.write(
                [
                    SmallDicom.Element(0x0008, 0x0060, "CS", "OT"),
                    SmallDicom.Element(
                        0x0020, 0x000D, "UI", "1.2.826.0.1.3680043.8.498.1\\1.2.826.0.1.3680043.8.498.2"),
                ], to: scratch.url.appendingPathComponent("two-studies.dcm").path)
        }
        let (layout, cluster, executor, scratch) = (store.layout, store.client, store.executor, store.scratch)
        let readerClient = try ClusterTests.clusterClient()
        defer { readerClient.close() }
        for root in try Corpus.roots() { _ = try executor.run("load '\(root)' recursive") }
        #expect(executor.layout.placement == .single)
        let before = try Self.answers(executor)
        let names = ["CT_small.dcm", "JPGExtended.dcm", "rtplan.dcm"]
        let shown = try names.map { try ClusterTests.document(executor.run("show '\($0)'").first) }
        guard case .count(let total) = try executor.run("count").first else { throw TestSetupError("no count") }
        guard case .count(let withoutStudy) = try executor.run("count where studyUid is missing").first else {
            throw TestSetupError("no count")
        }
        #expect(withoutStudy > 0, "the corpus has files without a Study Instance UID: they move as a step of their own")

        // Another session reads in a loop while a move runs: every answer as before.
        let reading = Atomic<Bool>(true)
        let wrong = Mutex<[String]>([])
        let rounds = Atomic<Int>(0)
        // Counts, and listings of many pages (30 rows a page) whose pages must fit together.
        let watched = [0, 1, 2, 7, 13, 14]
        let reader = Thread {
            let session = Executor(client: readerClient, layout: layout)
            session.pageSize = 30
            while reading.load(ordering: .relaxed) {
                for index in watched {
                    do {
                        let got = ClusterTests.comparable(try session.run(Self.statements[index]))
                        if got != before[index] { wrong.withLock { $0.append("\(Self.statements[index]): \(got)") } }
                    } catch {
                        wrong.withLock { $0.append("\(Self.statements[index]): \(error)") }
                    }
                }
                rounds.add(1, ordering: .relaxed)
            }
        }
        reader.start()
        while rounds.load(ordering: .relaxed) == 0 { Thread.sleep(forTimeInterval: 0.01) }
        let roundsBefore = rounds.load(ordering: .relaxed)

        // A move of small steps, stopped after twelve (Ctrl-C, a lost connection): the store is
        // readable, part of it moved, and statements that change it wait.
        var first = SpreadMigration(layout: executor.layout, client: cluster)
        first.documentsPerStep = 10
        let steps = Atomic<Int>(0)
        first.afterStep = { _ in
            Thread.sleep(forTimeInterval: 0.03)
            if steps.add(1, ordering: .relaxed).newValue == 12 { throw StoppedOnPurpose() }
        }
        #expect(throws: StoppedOnPurpose.self) { _ = try first.run(context: StatementContext()) }
        reading.store(false, ordering: .relaxed)
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        #expect(wrong.withLock { $0 }.isEmpty, "\(wrong.withLock { $0.prefix(5) })")
        #expect(rounds.load(ordering: .relaxed) > roundsBefore + 2, "the reader ran during the move")
        #expect(
            try cluster.call(RedisCommand("GET", layout.placementKey), routedBy: layout.placementKey).string
                == "migrating")
        let moved = try first.remaining()
        #expect(moved < total && moved > 0, "\(moved) of \(total) left in {m}")
        let fresh = Executor(client: try ClusterTests.clusterClient(), layout: layout)
        defer { fresh.client.close() }
        #expect(try Self.answers(fresh) == before)
        #expect(fresh.layout.placement == .migrating)
        for statement in [
            "load '\(scratch.path)' recursive", "delete where modality = 'CT'", "vacuum", "index SliceThickness",
        ] {
            let refusal = #expect(throws: ExecutionError.self, "\(statement)") { _ = try fresh.run(statement) }
            if case .storeMigrating(let movedSoFar, let all)? = refusal?.kind {
                #expect(all == total && movedSoFar == total - moved, "\(statement)")
            } else {
                Issue.record("\(statement): \(String(describing: refusal))")
            }
        }

        // A run killed inside a step: the step recorded, its epoch odd, half its copies renamed
        // into their buckets. Queries wait for the step instead of answering from half of it.
        var killed = SpreadMigration(layout: executor.layout, client: cluster)
        killed.studiesPerRound = 3
        let studies = try killed.nextStudies().filter { $0.uid != nil }
        let moves = try killed.stage(try killed.documentKeys(of: studies))
        #expect(moves.count >= 3)
        let record = String(decoding: try JSONEncoder().encode(moves), as: UTF8.self)
        try cluster.call(
            RedisCommand(
                "EVAL", SpreadMigration.stepBeginScript, "2", layout.migrationKey, layout.migrationStepKey, record),
            routedBy: layout.migrationKey)
        for move in moves.prefix(moves.count / 2) {
            try cluster.call(RedisCommand("RENAME", move.staged, move.to), routedBy: move.staged)
        }
        let busy = #expect(throws: ExecutionError.self) { _ = try fresh.run("count") }
        #expect(busy?.kind == .migrationBusy(tries: SearchRunner.migrationTries, unfinished: true))
        #expect(
            busy?.kind.text
                == "a step of the store's move to the spread layout is unfinished (a migrate stopped in it), so no answer would be exact"
        )

        // `migrate` goes on: the recorded step first, then the rest.
        guard case .migrated(let report) = try executor.run("migrate").first else {
            throw TestSetupError("no migrate report")
        }
        #expect(report.resumed && report.total == total && report.masters == 3, "\(report)")
        #expect(report.moved == moved, "\(report)")

        // After: the same answers from the spread layout, the `{m}` index gone, no copy left.
        #expect(executor.layout.placement == .spread)
        #expect(try Self.answers(executor) == before)
        #expect(try Self.answers(fresh) == before)
        #expect(try names.map { try ClusterTests.document(fresh.run("show '\($0)'").first) } == shown)
        let info = try cluster.send(
            RedisCommand("FT.INFO", layout.singleIndexName), routedBy: layout.metadataRoutingKey)
        #expect(info.errorMessage.map(RedisError.saysIndexIsMissing) == true)
        for pool in cluster.masterPools() {
            let left = try pool.withConnection { connection in
                var keys: [String] = []
                try connection.scan(matching: "\(layout.prefix):stage:*") { keys += $0 }
                try connection.scan(matching: "\(layout.prefix):{m}:file:*") { keys += $0 }
                return keys
            }
            #expect(left.isEmpty, "\(pool.configuration.url.endpoint): \(left.prefix(3))")
        }
        guard case .stats(let stats) = try executor.run("stats").first else { throw TestSetupError("no stats") }
        #expect(stats.files == total && stats.shards.allSatisfy { $0.documents > 0 }, "\(stats.shards)")
        // Every chunk still has its document, and the files come back whole.
        guard case .vacuumed(let vacuumed) = try executor.run("vacuum").first else { throw TestSetupError("no vacuum") }
        #expect(vacuumed.orphanIds.isEmpty && vacuumed.chunksRemoved == 0)
        let out = try ClusterTests.Scratch()
        guard case .rows(let fetched) = try executor.run("find name where modality = 'CT' fetch to '\(out.path)'").first
        else { throw TestSetupError("no fetch") }
        #expect(!fetched.fetched.isEmpty)
        for file in fetched.fetched { #expect(ClusterTests.sha256(file.path) == file.id, "\(file.path)") }
        // Loads go to the buckets now; `migrate` again has nothing to do.
        _ = try executor.run("load '\(scratch.path)' recursive")
        guard case .migrated(let again) = try executor.run("migrate").first else { throw TestSetupError("no report") }
        #expect(again.alreadySpread)
    }

    /// A statement reading the store that does not finish (stopped, hung) holds the move for
    /// one wait only, not one per step.
    @Test func aReaderThatNeverFinishesHoldsTheMoveOnce() throws {
        let store = try ClusterTests.ArchiveStore(
            "stuck", single: true, patients: 6, studies: 2, series: 1, instances: 2)
        let (layout, cluster, executor) = (store.layout, store.client, store.executor)
        // A connection named as a reader of the store, open for the whole move.
        let stuck = try RedisConnection(try cluster.pool(forKey: layout.migrationKey).configuration)
        defer { stuck.close() }
        try stuck.call("CLIENT", "SETNAME", StatementReading.readerName(prefix: layout.prefix))
        var migration = SpreadMigration(layout: executor.layout, client: cluster)
        migration.documentsPerStep = 2
        migration.readerPatience = 0.3
        let report = try migration.run(context: StatementContext())
        #expect(report.steps >= 6 && report.moved == 24, "\(report)")
        #expect(report.outlastedReaders == 1, "\(report)")
        guard case .count(let files) = try executor.run("count").first else { throw TestSetupError("no count") }
        #expect(files == 24)
    }

    @Test func migrateOnOneServerSaysThereIsNothingToSpread() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let refusal = #expect(throws: ExecutionError.self) { _ = try store.executor.run("migrate") }
        #expect(
            refusal?.kind
                == .migrateNeedsCluster(endpoint: store.executor.client.configuration.url.endpoint))
        #expect(
            refusal?.kind.text
                == "migrate spreads a store's metadata over a cluster's masters; \(store.executor.client.configuration.url.endpoint) is one server"
        )
    }
}

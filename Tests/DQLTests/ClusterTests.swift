import Crypto
import Foundation
import RedisIO
import Synchronization
import TestSupport
import Testing

@testable import DQL

#if canImport(Glibc)
    import Glibc
#endif

/// dql on the three-master test cluster (`scripts/cluster.sh`, started by `scripts/test.sh`):
/// the same answers as one server, chunks on every shard, transfers that follow slots being
/// moved under them, and a clear error, with no file left, when a shard stops.
@Suite(.serialized) struct ClusterTests {
    static func clusterClient(_ url: RedisURL? = nil) throws -> RedisClient {
        try RedisClient(
            RedisConfiguration(url: url ?? TestRedis.clusterURL(), commandTimeout: 30), connectionsPerServer: 16)
    }

    static func sha256(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map {
            SHA256.hash(data: $0).map { String(format: "%02x", $0) }.joined()
        }
    }

    static func layout(_ label: String) -> StorageLayout {
        StorageLayout(prefix: "dqltest-\(label)-\(UUID().uuidString.prefix(8))")
    }

    /// Makes a new store of `layout` keep every document in the `{m}` slot (as stores made
    /// before metadata spread do), by recording that placement before its first load.
    static func keepSingle(_ layout: StorageLayout, _ client: RedisClient) throws {
        try client.call(RedisCommand("SET", layout.placementKey, "single"), routedBy: layout.placementKey)
    }

    /// A scratch directory, removed at deinit.
    final class Scratch {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dql-cluster-\(UUID().uuidString)")
        var path: String { url.path }
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func subdirectory(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    /// A store of a test's own on a cluster, holding one large file: removed at deinit.
    final class LargeFileStore {
        let layout: StorageLayout
        let client: RedisClient
        let executor: Executor
        let scratch: Scratch
        let source: String
        let id: String

        init(_ label: String, url: RedisURL? = nil, megabytes: Int, chunkSize: Int, name: String = "big.dcm") throws {
            layout = ClusterTests.layout(label)
            client = try ClusterTests.clusterClient(url)
            // These tests move chunks' slots between the masters that do not hold the metadata:
            // a store of the `{m}` placement, all of it on one master.
            try ClusterTests.keepSingle(layout, client)
            executor = Executor(client: client, layout: layout)
            executor.settings.chunkSize = chunkSize
            scratch = try Scratch()
            source = try LargeDicom.write(in: scratch.url, megabytes: megabytes, name: name)
            _ = try executor.run("load '\(source)'")
            id = try ClusterTests.id(of: name, executor)
        }

        deinit {
            TestRedis.removeStore(prefix: layout.prefix, url: client.configuration.url)
            client.close()
        }
    }

    /// A store of a test's own on the test cluster holding a generated archive of tiny
    /// instances (`patients` × `studies` × `series` × `instances`), loaded after `prepare` had
    /// its say about the directory; removed at deinit. `single`: of the `{m}` layout.
    final class ArchiveStore {
        let layout: StorageLayout
        let client: RedisClient
        let executor: Executor
        let scratch: Scratch

        init(
            _ label: String, single: Bool = false, patients: Int, studies: Int, series: Int, instances: Int,
            prepare: (Scratch) throws -> Void = { _ in }
        ) throws {
            layout = ClusterTests.layout(label)
            client = try ClusterTests.clusterClient()
            if single { try ClusterTests.keepSingle(layout, client) }
            scratch = try Scratch()
            try ProjectScripts.generateArchive(
                scratch.url,
                [
                    "--patients", String(patients), "--studies", String(studies), "--series", String(series),
                    "--instances", String(instances), "--rows", "8", "--cols", "8",
                ])
            try prepare(scratch)
            executor = Executor(client: client, layout: layout)
            _ = try executor.run("load '\(scratch.path)' recursive")
        }

        deinit {
            TestRedis.removeStore(prefix: layout.prefix, url: client.configuration.url)
            client.close()
        }
    }

    /// The id of the one file named `name` in the store.
    static func id(of name: String, _ executor: Executor) throws -> String {
        guard case .rows(let found) = try executor.run("find name where name = '\(name)'").first,
            let id = found.ids.first, found.total == 1
        else { throw TestSetupError("\(name) is not stored once") }
        return id
    }

    // MARK: The corpus

    /// Rows compared as a multiset: files with equal sort keys may come in either order.
    static func comparable(_ results: [StatementResult]) -> [StatementResult] {
        results.map { result in
            guard case .rows(var found) = result else { return result }
            var pairs = Array(zip(found.ids, found.rows))
            pairs.sort {
                ($0.0, $0.1.map { $0 ?? "" }.joined(separator: "\u{1}")) < (
                    $1.0, $1.1.map { $0 ?? "" }.joined(separator: "\u{1}")
                )
            }
            found.ids = pairs.map(\.0)
            found.rows = pairs.map(\.1)
            return .rows(found)
        }
    }

    /// A stored document without the time it was loaded.
    static func document(_ result: StatementResult?) throws -> NSDictionary {
        guard case .document(_, let json)? = result,
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        else { throw TestSetupError("not a document: \(String(describing: result))") }
        return object.filter { $0.key != "loadedAt" } as NSDictionary
    }

    @Test func theCorpusAnswersOnTheClusterExactlyAsOnOneServer() throws {
        let layout = Self.layout("corpus")
        let cluster = try Self.clusterClient()
        let single = try RedisClient(TestRedis.configuration(), connectionsPerServer: 16)
        defer {
            TestRedis.removeStore(prefix: layout.prefix, url: cluster.configuration.url)
            TestRedis.removeStore(prefix: layout.prefix, url: single.configuration.url)
            cluster.close()
            single.close()
        }
        let onCluster = Executor(client: cluster, layout: layout)
        let onServer = Executor(client: single, layout: layout)
        for root in try Corpus.roots() {
            for executor in [onCluster, onServer] { _ = try executor.run("load '\(root)' recursive") }
        }
        let statements = [
            "count", "count by protocol", "count by modality", "count by modality, year order by year desc",
            "count where protocol is not missing by protocol order by count desc", "count by manufacturer limit 5",
            "find name, modality, date where modality = 'CT' order by name",
            "find name, patientName where patient contains 'compressedsamples'",
            "find where protocol = '194' and year = 2019", "find name, rows, columns where rows >= 512 order by rows",
            "find name where date between 2000-01-01 and 2010-12-31 order by date limit 7",
            "find name, transferSyntax where name like 'JPEG*' order by name",
            "count studies", "count patients", "count series by modality", "count patients by sex",
            "find studies studyUid, numberOfSeries, numberOfInstances, size order by numberOfInstances desc",
            "find patients", "find series where modality = 'MR'", "find studies where modality = 'CT' limit 3 offset 1",
            "find name order by size desc limit 5 offset 3",
        ]
        for statement in statements {
            let clustered = Self.comparable(try onCluster.run(statement))
            let alone = Self.comparable(try onServer.run(statement))
            #expect(clustered == alone, "\(statement)")
        }
        // An attribute added to the index sorts as what it holds (numbers here) in merged answers.
        for executor in [onCluster, onServer] { _ = try executor.run("index InstanceNumber") }
        for statement in [
            "count by InstanceNumber order by InstanceNumber desc limit 8",
            "count by InstanceNumber order by InstanceNumber limit 6",
        ] {
            let clustered = Self.comparable(try onCluster.run(statement))
            let alone = Self.comparable(try onServer.run(statement))
            #expect(clustered == alone, "\(statement)")
        }
        // Rows in the order of its values (which files share a value may differ: ties).
        let ordered = "find InstanceNumber where InstanceNumber >= 2 order by InstanceNumber desc limit 12"
        guard case .rows(let clusteredRows) = try onCluster.run(ordered).first,
            case .rows(let aloneRows) = try onServer.run(ordered).first
        else { throw TestSetupError("no rows") }
        #expect(clusteredRows.rows == aloneRows.rows && clusteredRows.total == aloneRows.total)
        #expect(Set(clusteredRows.rows.compactMap { $0[0] }).count > 3, "\(clusteredRows.rows)")
        // A new store on a cluster spreads its documents over the masters, a bucket each study.
        guard case .stats(let stats) = try onCluster.run("stats").first else {
            Issue.record("no stats")
            return
        }
        #expect(onCluster.layout.placement == .spread)
        #expect(stats.shards.filter { $0.documents > 0 }.count == 3, "\(stats.shards.map(\.documents))")
        #expect(stats.shards.reduce(0) { $0 + $1.documents } == stats.files)
        for name in ["CT_small.dcm", "JPGExtended.dcm", "rtplan.dcm", "emri_small.dcm"] {
            #expect(
                try Self.document(onCluster.run("show '\(name)'").first)
                    == Self.document(onServer.run("show '\(name)'").first), "\(name)")
        }
        // Every file comes back byte-identical from the cluster.
        let scratch = try Scratch()
        guard case .rows(let found) = try onCluster.run("find name fetch to '\(scratch.path)'").first else {
            Issue.record("no rows")
            return
        }
        #expect(found.total > 200)
        #expect(found.fetched.count == found.total)
        for file in found.fetched {
            #expect(Self.sha256(file.path) == file.id, "\(file.path)")
        }
        guard case .stats(let stats) = try onCluster.run("stats").first else {
            Issue.record("no stats")
            return
        }
        #expect(stats.isCluster)
        #expect(stats.files == found.total)
        #expect(stats.shards.count == 3)
        #expect(stats.shards.allSatisfy { $0.keys > 0 && !$0.slots.isEmpty })
        // Per master: its share of the documents (a spread store), their memory and its indexes'.
        #expect(stats.shards.reduce(0) { $0 + $1.documents } == stats.files)
        for shard in stats.shards {
            #expect(shard.documents > 0 && shard.indexMemory > 0 && shard.documentMemory > 0, "\(shard.endpoint)")
        }
        #expect(stats.documentSpread < 2, "\(stats.shards.map(\.documents))")
    }

    @Test func aLargeFilesChunksLandOnEveryShardAndComeBackWhole() throws {
        let store = try LargeFileStore("spread", megabytes: 8, chunkSize: 64 << 10)
        defer { withExtendedLifetime(store) {} }  // removed only when the test is done
        let (layout, client, executor, scratch, source, id) = (
            store.layout, store.client, store.executor, store.scratch, store.source, store.id
        )
        var perShard: [String: Int] = [:]
        for pool in client.masterPools() {
            perShard[pool.configuration.url.endpoint] = try pool.withConnection {
                try TestRedis.scanKeys(layout.chunkKey(id: id, index: 0).dropLast() + "*", $0)
            }.count
        }
        #expect(perShard.count == 3)
        #expect(perShard.values.allSatisfy { $0 > 0 }, "chunks per shard: \(perShard)")
        #expect(perShard.values.reduce(0, +) == 129)  // 8 MiB of pixels and a header: 129 chunks of 64 KiB
        _ = try executor.run("fetch '\(id)' to '\(scratch.subdirectory("out"))'")
        #expect(Self.sha256(scratch.subdirectory("out/big.dcm")) == Self.sha256(source))
    }

    // MARK: Resharding

    @Test func transfersFollowSlotsBeingMovedUnderThem() throws {
        let store = try LargeFileStore("moving", megabytes: 4, chunkSize: 16 << 10, name: "first.dcm")
        defer { withExtendedLifetime(store) {} }  // removed only when the test is done
        let (layout, client, executor, scratch, first, id) = (
            store.layout, store.client, store.executor, store.scratch, store.source, store.id
        )
        let admin = try ClusterAdmin(url: TestRedis.clusterURL())
        var moved: [(slot: Int, home: String)] = []
        defer {
            // Every slot goes back where it was, keys and all.
            for (slot, home) in moved { try? admin.move(slot: slot, to: home) }
        }
        let metadataHome = try admin.owner(ofSlot: HashSlot(key: layout.indexName).value)
        let (home, away) = try admin.twoMasters(other: metadataHome)
        let chunkCount = (4 << 20) / (16 << 10) + 1
        let slots = (0..<chunkCount).map { HashSlot(key: layout.chunkKey(id: id, index: $0)).value }
        let homeSlots = try Array(Set(slots)).sorted().filter { try admin.owner(ofSlot: $0) == home }
        #expect(homeSlots.count >= 2)
        guard homeSlots.count >= 2 else { return }

        // A slot half way through a migration: its keys are already at the target, so the old
        // owner answers ASK. Another slot moved for good: the client's map is stale, MOVED.
        let asking = homeSlots[0]
        let movedForGood = homeSlots[1]
        moved += [(asking, home), (movedForGood, home)]
        try admin.beginMigration(slot: asking, from: home, to: away)
        try admin.migrateKeys(slot: asking, from: home, to: away)
        try admin.move(slot: movedForGood, to: away)
        let before = client.redirectsFollowed
        _ = try executor.run("fetch '\(id)' to '\(scratch.subdirectory("one"))'")
        #expect(Self.sha256(scratch.subdirectory("one/first.dcm")) == Self.sha256(first))
        // At least the ASK for each key of the first slot and the MOVED of the second.
        #expect(client.redirectsFollowed - before >= 2)
        try admin.handOver(slot: asking, from: home, to: away)

        // A load while a slot migrates: new keys of that slot are written at the target (ASK).
        let second = try LargeDicom.write(in: scratch.url, megabytes: 3, name: "second.dcm")
        let secondId = try #require(Self.sha256(second))
        let secondSlots = (0..<((3 << 20) / (16 << 10) + 1)).map {
            HashSlot(key: layout.chunkKey(id: secondId, index: $0)).value
        }
        let migrating = try #require(try Set(secondSlots).sorted().first { try admin.owner(ofSlot: $0) == home })
        moved.append((migrating, home))
        try admin.beginMigration(slot: migrating, from: home, to: away)
        let beforeLoad = client.redirectsFollowed
        _ = try executor.run("load '\(second)'")
        #expect(client.redirectsFollowed > beforeLoad, "the old owner answered ASK for new keys")
        let leftAtHome = try admin.connection(home).call(
            RedisCommand("CLUSTER", "GETKEYSINSLOT", String(migrating), "1000")
        ).array?.compactMap(\.string).filter { $0.contains(secondId) }
        #expect(leftAtHome == [], "no chunk of the new file was written at the slot's old owner")
        try admin.handOver(slot: migrating, from: home, to: away)
        let atTarget = try admin.connection(away).call(
            RedisCommand("CLUSTER", "COUNTKEYSINSLOT", String(migrating))
        ).integer
        #expect((atTarget ?? 0) > 0, "the chunks of the migrating slot were written at its new owner")
        _ = try executor.run("fetch '\(secondId)' to '\(scratch.subdirectory("two"))'")
        #expect(Self.sha256(scratch.subdirectory("two/second.dcm")) == secondId)
    }

    @Test func aFetchRunsWhileTheClusterIsResharded() throws {
        let store = try LargeFileStore("reshard", megabytes: 16, chunkSize: 8 << 10)
        defer { withExtendedLifetime(store) {} }  // removed only when the test is done
        let (layout, client, scratch, source, id) = (store.layout, store.client, store.scratch, store.source, store.id)
        let admin = try ClusterAdmin(url: TestRedis.clusterURL())
        let expected = try #require(Self.sha256(source))
        // Between the two masters that do not hold the index, so the documents never move.
        let (from, to) = try admin.twoMasters(other: try admin.owner(ofSlot: HashSlot(key: layout.indexName).value))
        var fetches = 0
        for (source, target) in [(from, to), (to, from)] {
            // Fetch again and again while the slots move: every fetch must come back whole.
            let status = try admin.reshard(slots: 600, from: source, to: target) {
                let directory = scratch.subdirectory("fetch-\(fetches)")
                let results = try Fetcher(layout: layout).fetchAll(ids: [id], into: directory, client: client)
                #expect(results.count == 1)
                #expect(results.first.flatMap { Self.sha256($0.path) } == expected, "fetch \(fetches)")
                try FileManager.default.removeItem(atPath: directory)
                fetches += 1
            }
            #expect(status == 0, "redis-cli --cluster reshard failed")
        }
        #expect(fetches >= 2)
        #expect(client.redirectsFollowed > 0, "the fetches met slots on the move")
        // After the moves the client's map is stale; the next fetch follows MOVED.
        let after = try Fetcher(layout: layout).fetchAll(ids: [id], into: scratch.subdirectory("after"), client: client)
        #expect(after.first.flatMap { Self.sha256($0.path) } == expected)
    }

    /// RediSearch keeps an index on one node: when resharding moves the `{m}` slot, the
    /// documents go to a master without it, and dql creates it there.
    @Test func searchKeepsWorkingWhenTheMetadataSlotMoves() throws {
        let scratchCluster = try ScratchCluster()
        defer { withExtendedLifetime(scratchCluster) {} }
        let layout = Self.layout("metadata")
        let client = try Self.clusterClient(scratchCluster.url)
        defer { client.close() }
        try Self.keepSingle(layout, client)
        let executor = Executor(client: client, layout: layout)
        for name in ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm"] {
            _ = try executor.run("load '\(try Corpus.path("pydicom/test_files/" + name))'")
        }
        let before = try executor.run("count by modality")
        let admin = try ClusterAdmin(url: scratchCluster.url)
        let slot = HashSlot(key: layout.indexName).value
        let home = try admin.owner(ofSlot: slot)
        let (away, _) = try admin.twoMasters(other: home)
        try admin.move(slot: slot, to: away)
        // The same executor, its slot map now stale: MOVED, then no index at the new owner.
        #expect(try executor.run("count by modality") == before)
        #expect(try admin.connection(away).send(RedisCommand("FT.INFO", layout.indexName)).errorMessage == nil)
        guard case .rows(let found) = try executor.run("find name where modality = 'MR'").first else {
            Issue.record("no rows")
            return
        }
        #expect(found.rows.map { $0.first ?? nil } == ["MR_small.dcm"])
    }

    /// A spread store of many studies: a study's documents on one master, every master with
    /// its share (within 1.5× of even), and what works by id alone (show, vacuum), delete and
    /// `index` working across the buckets.
    @Test func aSpreadStoreKeepsStudiesWholeAndSpreadsThem() throws {
        let store = try ArchiveStore("spread", patients: 20, studies: 3, series: 2, instances: 2)
        let (cluster, executor) = (store.client, store.executor)
        #expect(executor.layout.placement == .spread)
        guard case .stats(let stats) = try executor.run("stats").first else {
            Issue.record("no stats")
            return
        }
        #expect(stats.files == 240)
        #expect(stats.documentSpread <= 1.5, "\(stats.shards.map(\.documents))")
        // Each study on one master: its documents' keys share one bucket's tag.
        guard case .rows(let rows) = try executor.run("find studyUid, id").first else { return }
        var tags: [String: Set<String>] = [:]
        let keys = try executor.layout.documentKeys(ids: rows.rows.compactMap { $0[1] }, client: cluster)
        for row in rows.rows {
            guard let study = row[0], let id = row[1], let key = keys[id] else { continue }
            tags[study, default: []].insert(String(key.split(separator: "{")[1].prefix { $0 != "}" }))
        }
        #expect(tags.count == 60 && tags.values.allSatisfy { $0.count == 1 })
        // By id alone.
        let someId = try #require(rows.rows.first?[1] ?? nil)
        guard case .document = try executor.run("show '\(someId)'").first else {
            Issue.record("show by id")
            return
        }
        // `index` across the buckets, then a condition on it.
        _ = try executor.run("index SliceThickness")
        guard case .rows(let thin) = try executor.run("find name where SliceThickness < 2").first else { return }
        #expect(thin.total == 120)
        // Orphan chunks (a load that died) go; a live claim's stay; stored files' stay.
        let orphan = String(repeating: "e", count: 64)
        let claimed = String(repeating: "c", count: 64)
        _ = try cluster.call(
            RedisCommand("SET", executor.layout.chunkKey(id: orphan, index: 0), "x"),
            routedBy: executor.layout.chunkKey(id: orphan, index: 0))
        _ = try cluster.call(
            RedisCommand("SET", executor.layout.chunkKey(id: claimed, index: 0), "x"),
            routedBy: executor.layout.chunkKey(id: claimed, index: 0))
        let claim = executor.layout.loadingKey(id: claimed, study: "1.2.3")
        _ = try cluster.call(RedisCommand("SET", claim, "token", "EX", "30"), routedBy: claim)
        guard case .vacuumed(let report) = try executor.run("vacuum").first else {
            Issue.record("no vacuum")
            return
        }
        #expect(report.orphanIds == [orphan] && report.leasedLoads == 1, "\(report)")
        // Delete, then the counts of what is left.
        guard case .deleted(let deleted, _) = try executor.run("delete where patientId like 'P00000*'").first else {
            Issue.record("no delete")
            return
        }
        #expect(deleted == 120)
        guard case .count(let left) = try executor.run("count").first else { return }
        #expect(left == 120)
        guard case .count(let studies) = try executor.run("count studies").first else { return }
        #expect(studies == 30)
    }

    /// On a spread store, resharding moves a bucket's slot, documents and all, to a master
    /// without the bucket's index (RediSearch keeps an index on one node): dql creates it there
    /// and answers as before.
    @Test func searchKeepsWorkingWhenABucketsSlotMoves() throws {
        let scratchCluster = try ScratchCluster()
        defer { withExtendedLifetime(scratchCluster) {} }
        let layout = Self.layout("bucket")
        let client = try Self.clusterClient(scratchCluster.url)
        defer { client.close() }
        let executor = Executor(client: client, layout: layout)
        for name in ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm"] {
            _ = try executor.run("load '\(try Corpus.path("pydicom/test_files/" + name))'")
        }
        #expect(executor.layout.placement == .spread)
        let before = try executor.run("count by modality")
        guard case .rows(let found) = try executor.run("find studyUid where name = 'MR_small.dcm'").first,
            let study = found.rows.first?.first ?? nil
        else {
            Issue.record("no study")
            return
        }
        let index = executor.layout.spreadIndexName(bucket: StorageLayout.spreadBucket(study: study))
        let admin = try ClusterAdmin(url: scratchCluster.url)
        let slot = HashSlot(key: index).value
        let (away, _) = try admin.twoMasters(other: try admin.owner(ofSlot: slot))
        try admin.move(slot: slot, to: away)
        // The same executor, its slot map now stale: MOVED, then no index at the new owner.
        #expect(try executor.run("count by modality") == before)
        #expect(try admin.connection(away).send(RedisCommand("FT.INFO", index)).errorMessage == nil)
        guard case .rows(let again) = try executor.run("find name where modality = 'MR'").first else {
            Issue.record("no rows")
            return
        }
        #expect(again.rows.map { $0.first ?? nil } == ["MR_small.dcm"])
        // While a bucket's slot is being moved its index answers ASK and part of its documents
        // may be where no index answers for them: a query waits for the move to end (at most
        // its timeout) and gives the whole answer, never a short one.
        let (target, _) = try admin.twoMasters(other: away)
        try admin.beginMigration(slot: slot, from: away, to: target)
        try admin.migrateKeys(slot: slot, from: away, to: target)
        _ = try executor.run("set timeout 1000")
        #expect {
            _ = try executor.run("count by modality")
        } throws: { error in
            "\(error)".contains("is still being moved to another master after 1 s")
                && "\(error)".contains("run the statement again then, or `set timeout` to wait longer")
        }
        _ = try executor.run("set timeout 20000")
        let during = Mutex<[StatementResult]?>(nil)
        let waiting = Thread {
            let answer = try? executor.run("count by modality")
            during.withLock { $0 = answer }
        }
        waiting.start()
        Thread.sleep(forTimeInterval: 0.5)
        #expect(during.withLock { $0 } == nil, "the query waits while the bucket moves")
        try admin.finishMigration(slot: slot, to: target)
        while !waiting.isFinished { Thread.sleep(forTimeInterval: 0.02) }
        #expect(during.withLock { $0 } == before)
        #expect(try executor.run("count by modality") == before)
        // `away` kept its index of the bucket. An attribute indexed since, then the slot back
        // there: the old index lacks the attribute, so it is rebuilt, not used.
        _ = try executor.run("index SliceThickness")
        let thin = try executor.run("count where SliceThickness > 0")
        guard case .count(let thinCount) = thin.first, thinCount > 0 else {
            Issue.record("no file with a slice thickness: \(thin)")
            return
        }
        try admin.move(slot: slot, to: away)
        #expect(try executor.run("count where SliceThickness > 0") == thin)
        let attributes = IndexManager.attributes(try admin.connection(away).call("FT.INFO", index))
        #expect(attributes.contains(where: { $0.lowercased().contains("slicethickness") }), "\(attributes)")
        // A store that lost its record of placement is still read as spread, and the record
        // is written again.
        try client.call(RedisCommand("DEL", executor.layout.placementKey), routedBy: executor.layout.placementKey)
        let fresh = Executor(client: client, layout: layout)
        #expect(try fresh.run("count by modality") == before)
        #expect(fresh.layout.placement == .spread)
        #expect(
            try client.call(RedisCommand("GET", layout.placementKey), routedBy: layout.placementKey).string == "spread")
    }

    /// `redis-cli --cluster reshard` moves slots that hold buckets, documents and all, while
    /// another session queries in a loop: every answer is the one before the moves.
    @Test func everyAnswerStaysExactWhileRedisCliReshardsBuckets() throws {
        let scratchCluster = try ScratchCluster()
        defer { withExtendedLifetime(scratchCluster) {} }
        let layout = Self.layout("reshard")
        let client = try Self.clusterClient(scratchCluster.url)
        defer { client.close() }
        let scratch = try Scratch()
        try ProjectScripts.generateArchive(
            scratch.url,
            ["--patients", "16", "--studies", "4", "--series", "1", "--instances", "2", "--rows", "8", "--cols", "8"])
        let executor = Executor(client: client, layout: layout)
        _ = try executor.run("load '\(scratch.path)' recursive")
        let statements = ["count", "count studies", "count by modality", "find studies studyUid, numberOfInstances"]
        let before = try statements.map { Self.comparable(try executor.run($0)) }
        let admin = try ClusterAdmin(url: scratchCluster.url)
        // The first master's lowest 3,000 slots hold buckets 0 to 2 (each bucket's slot lies in
        // its sixteenth of the slots).
        let first = try admin.owner(ofSlot: 0)
        let second = try admin.owner(ofSlot: 16383)
        let buckets = (0..<StorageLayout.spreadBuckets).map { HashSlot(key: layout.spreadIndexName(bucket: $0)).value }
        #expect(buckets.filter { $0 < 3000 }.count >= 2)
        var rounds = 0
        for (source, target) in [(first, second), (second, first)] {
            let status = try admin.reshard(slots: 3000, from: source, to: target) { () throws in
                for (statement, answer) in zip(statements, before) {
                    #expect(Self.comparable(try executor.run(statement)) == answer, "\(statement), round \(rounds)")
                }
                rounds += 1
            }
            #expect(status == 0, "redis-cli --cluster reshard failed")
        }
        #expect(rounds >= 4, "the queries ran while the slots moved")
        let moved = try admin.owner(ofSlot: buckets[0])
        #expect(moved == first, "the slots came back")
        for (statement, answer) in zip(statements, before) {
            #expect(Self.comparable(try executor.run(statement)) == answer, "\(statement), after")
        }
    }

    // MARK: A shard stops

    @Test func aShardStoppedMidFetchFailsNamingItAndLeavesNoFile() throws {
        let scratchCluster = try ScratchCluster()
        defer { withExtendedLifetime(scratchCluster) {} }
        let store = try LargeFileStore("stop", url: scratchCluster.url, megabytes: 8, chunkSize: 16 << 10)
        defer { withExtendedLifetime(store) {} }  // removed only when the test is done
        let (layout, client, scratch, id) = (store.layout, store.client, store.scratch, store.id)
        let admin = try ClusterAdmin(url: scratchCluster.url)
        let (victim, _) = try admin.twoMasters(other: try admin.owner(ofSlot: HashSlot(key: layout.indexName).value))
        let victimConnection = try admin.connection(victim)
        let polls = Atomic<Int>(0)
        // Part way through the chunks, the shard goes down.
        let context = StatementContext(isCancelled: {
            if polls.wrappingAdd(1, ordering: .relaxed).newValue == 60 {
                _ = try? victimConnection.send(RedisCommand("SHUTDOWN", "NOSAVE"))
            }
            return false
        })
        let output = scratch.subdirectory("out")
        let error = #expect(throws: RedisError.self) {
            try Fetcher(layout: layout, connections: 4).fetchAll(
                ids: [id], into: output, client: client, context: context)
        }
        #expect(polls.load(ordering: .relaxed) >= 60, "the shard was stopped during the fetch")
        #expect(error?.endpoint == victim)
        #expect(error?.description.contains("cluster shard \(victim) (slots ") == true, "\(String(describing: error))")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []).isEmpty)
    }

    /// A master of a spread store stopped: every search needs all of them, so a statement fails
    /// naming it, and writes nothing.
    @Test func aStoppedMasterOfASpreadStoreIsNamed() throws {
        let scratchCluster = try ScratchCluster()
        defer { withExtendedLifetime(scratchCluster) {} }
        let layout = Self.layout("spreadstop")
        let client = try Self.clusterClient(scratchCluster.url)
        defer { client.close() }
        let executor = Executor(client: client, layout: layout)
        let scratch = try Scratch()
        try ProjectScripts.generateArchive(
            scratch.url,
            ["--patients", "10", "--studies", "2", "--series", "1", "--instances", "1", "--rows", "8", "--cols", "8"])
        _ = try executor.run("load '\(scratch.path)' recursive")
        let admin = try ClusterAdmin(url: scratchCluster.url)
        let victim = try #require(client.shards.last?.endpoint)
        _ = try? admin.connection(victim).send(RedisCommand("SHUTDOWN", "NOSAVE"))
        let error = #expect(throws: RedisError.self) { try executor.run("count studies") }
        #expect(error?.endpoint == victim, "\(String(describing: error))")
        #expect(error?.description.contains(victim) == true, "\(String(describing: error))")
    }
}

/// Moves slots between the masters of a cluster the way `redis-cli --cluster` does, one step at
/// a time, so a test can stop half way.
struct ClusterAdmin {
    let connections: [String: RedisConnection]
    let ids: [String: String]

    init(url: RedisURL) throws {
        let client = try RedisClient(RedisConfiguration(url: url))
        defer { client.close() }
        var connections: [String: RedisConnection] = [:]
        var ids: [String: String] = [:]
        for shard in client.shards {
            let connection = try RedisConnection(url: RedisURL(host: shard.host, port: shard.port))
            connections[shard.endpoint] = connection
            ids[shard.endpoint] = try connection.call("CLUSTER", "MYID").string
        }
        self.connections = connections
        self.ids = ids
    }

    func connection(_ endpoint: String) throws -> RedisConnection {
        guard let connection = connections[endpoint] else { throw TestSetupError("no master \(endpoint)") }
        return connection
    }

    func id(_ endpoint: String) throws -> String {
        guard let id = ids[endpoint] else { throw TestSetupError("no master \(endpoint)") }
        return id
    }

    /// The master serving `slot` now, by a fresh CLUSTER SLOTS.
    func owner(ofSlot slot: Int) throws -> String {
        let map = try ClusterSlotMap.discover(try connection(connections.keys.sorted()[0]))
        guard let range = map.range(for: HashSlot(slot) ?? HashSlot(key: "")) else {
            throw TestSetupError("slot \(slot) has no master")
        }
        return range.endpoint
    }

    /// Two masters other than `other`, in a stable order.
    func twoMasters(other: String) throws -> (String, String) {
        let rest = connections.keys.sorted().filter { $0 != other }
        guard rest.count >= 2 else { throw TestSetupError("fewer than three masters") }
        return (rest[0], rest[1])
    }

    /// Runs `redis-cli --cluster reshard` moving `slots` slots from `source` to `target`, and
    /// `body` again and again until it has finished; returns its exit status.
    func reshard(slots: Int, from source: String, to target: String, while body: () throws -> Void) throws -> Int32 {
        let reshard = try spawn([
            "/usr/bin/env", "redis-cli", "--cluster", "reshard", source, "--cluster-from", try id(source),
            "--cluster-to", try id(target), "--cluster-slots", String(slots), "--cluster-yes",
        ])
        var status: Int32 = 0
        repeat {
            try body()
        } while waitpid(reshard, &status, WNOHANG) == 0
        return status
    }

    func beginMigration(slot: Int, from source: String, to target: String) throws {
        try connection(target).call("CLUSTER", "SETSLOT", String(slot), "IMPORTING", try id(source))
        try connection(source).call("CLUSTER", "SETSLOT", String(slot), "MIGRATING", try id(target))
    }

    func migrateKeys(slot: Int, from source: String, to target: String) throws {
        let from = try connection(source)
        let (host, port) = try hostAndPort(target)
        while true {
            let keys = (try from.call("CLUSTER", "GETKEYSINSLOT", String(slot), "100").array ?? []).compactMap(\.string)
            if keys.isEmpty { return }
            try from.call(RedisCommand(["MIGRATE", host, String(port), "", "0", "10000", "KEYS"] + keys))
        }
    }

    /// Gives `slot` to `target` on every master (the target first, as redis-cli does).
    func finishMigration(slot: Int, to target: String) throws {
        let order = [target] + connections.keys.sorted().filter { $0 != target }
        for endpoint in order {
            try connection(endpoint).call("CLUSTER", "SETSLOT", String(slot), "NODE", try id(target))
        }
    }

    /// Moves `slot` with its keys to `target`, from wherever it is.
    func move(slot: Int, to target: String) throws {
        let source = try owner(ofSlot: slot)
        guard source != target else { return }
        try beginMigration(slot: slot, from: source, to: target)
        try handOver(slot: slot, from: source, to: target)
    }

    /// Ends a migration begun with ``beginMigration(slot:from:to:)``: migrates what the old
    /// owner still holds in the slot (other suites' keys too: they share the cluster) and gives
    /// the slot to `target`, again if a key reached the old owner in between ("still hold
    /// keys").
    func handOver(slot: Int, from source: String, to target: String) throws {
        for attempt in 1...20 {
            try migrateKeys(slot: slot, from: source, to: target)
            do {
                try finishMigration(slot: slot, to: target)
                return
            } catch let error as RedisError where error.message.contains("still hold keys") && attempt < 20 {
                continue
            }
        }
    }

    private func hostAndPort(_ endpoint: String) throws -> (String, Int) {
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]) else {
            throw TestSetupError("bad endpoint \(endpoint)")
        }
        return (String(endpoint[..<colon]), port)
    }
}

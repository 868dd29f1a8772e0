import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

#if canImport(Glibc)
    import Glibc
#endif

/// The coordinator of a spread store against one index: the corpus and a generated archive
/// loaded on one server, their documents copied to the test cluster under study tags (so they
/// sit on every master) with an index on each master, and then every query a statement
/// compiles to asked of both. The merged answer must be the single index's.
@Suite(.serialized) struct SearchCoordinatorTests {
    final class Stores {
        let single: Executor
        let singlePool: RedisPool
        let cluster: RedisClient
        let spread: StorageLayout
        let shards: [SearchCoordinator.Shard]
        let directory: URL

        init() throws {
            let singlePool = RedisPool(try TestRedis.configuration(), maximumConnections: 8)
            let single = Executor(client: RedisClient(pool: singlePool), layout: StorageTests.layout())
            self.singlePool = singlePool
            self.single = single
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "dql-coordinator-\(UUID().uuidString.prefix(8))")
            try ProjectScripts.generateArchive(
                directory,
                [
                    "--patients", "6", "--studies", "3", "--series", "2", "--instances", "3", "--rows", "8", "--cols",
                    "8",
                ])
            for root in [directory.path] + (try Corpus.roots()) { _ = try single.run("load '\(root)' recursive") }
            let cluster = try ClusterTests.clusterClient()
            let spread = StorageLayout(prefix: "dqltest-spread-\(UUID().uuidString.prefix(8))")
            self.cluster = cluster
            self.spread = spread
            // Every document copied under its study's tag.
            let keys = try singlePool.withConnection { connection in
                try SearchPage(
                    connection.call("FT.SEARCH", single.layout.indexName, "*", "NOCONTENT", "LIMIT", "0", "10000"),
                    returning: false
                ).documents.map(\.key)
            }
            var copies: [(String, String)] = []
            for key in keys {
                let json = try singlePool.withConnection { try $0.call("JSON.GET", key, "$").string ?? "" }
                let study = try singlePool.withConnection { try $0.call("JSON.GET", key, "$.studyUid").string ?? "" }
                let studyUid = (try? JSONSerialization.jsonObject(with: Data(study.utf8)) as? [String])??.first
                let id = single.layout.id(fromDocumentKey: key) ?? key
                let document = String(json.dropFirst().dropLast())  // `$` gives [document]
                let bucket = StorageLayout.spreadBucket(study: studyUid)
                copies.append((spread.spreadDocumentKey(id: id, bucket: bucket), document))
            }
            _ = try cluster.pipeline(
                copies.map { RedisCommand("JSON.SET", $0.0, "$", $0.1) }, routedBy: copies.map(\.0))
            var shards: [SearchCoordinator.Shard] = []
            for bucket in 0..<StorageLayout.spreadBuckets {
                let index = spread.spreadIndexName(bucket: bucket)
                let pool = try cluster.pool(forKey: index)
                try pool.withConnection { connection in
                    try connection.call(
                        RedisCommand(
                            ["FT.CREATE", index]
                                + Schema.indexDefinition(documentPrefix: spread.spreadDocumentPrefix(bucket: bucket))))
                    for _ in 0..<500 {
                        let info = try connection.call("FT.INFO", index).pairs ?? []
                        if info.first(where: { $0.name == "indexing" })?.value.integer == 0 { break }
                        usleep(10_000)
                    }
                }
                shards.append(
                    SearchCoordinator.Shard(pool: pool, index: index, endpoint: pool.configuration.url.endpoint))
            }
            self.shards = shards
        }

        deinit {
            try? singlePool.withConnection { StorageTests.dropAll(single.layout, $0) }
            singlePool.close()
            for shard in shards {
                _ = try? shard.pool.withConnection { try $0.send(["FT.DROPINDEX", shard.index]) }
                _ = try? shard.pool.withConnection { connection in
                    try connection.scan(matching: RedisConnection.globEscaped(spread.prefix + ":") + "*") { keys in
                        try cluster.unlink(keys)
                    }
                }
            }
            cluster.close()
            try? FileManager.default.removeItem(at: directory)
        }

        var coordinator: SearchCoordinator {
            SearchCoordinator(isNumeric: { attribute in
                Schema.fields.contains { $0.attribute == attribute && $0.kind != .tag }
            })
        }

        /// The single index's reply and the coordinator's, for one command.
        func both(_ command: [String]) throws -> (single: RedisReply, merged: RedisReply) {
            let single = try singlePool.withConnection { try $0.call(RedisCommand(command)) }
            return (single, try coordinator.run(command, on: shards))
        }
    }

    /// Ids in a reply's rows (FT.SEARCH: document keys; FT.AGGREGATE: rows as text).
    static func searchRows(
        _ reply: RedisReply, _ layout: StorageLayout, content: Bool
    ) throws -> (
        total: Int, ids: [String], fields: [[String: String]]
    ) {
        let page = try SearchPage(reply, returning: content)
        return (
            page.total, page.documents.map { layout.id(fromDocumentKey: $0.key) ?? $0.key },
            page.documents.map(\.attributes)
        )
    }

    /// A listing read page by page with a cursor (each shard asked from where the page before
    /// left it) comes out row for row as the same listing asked at once, sorted or not.
    @Test func aListingReadPageByPageWithACursorIsTheListingAskedAtOnce() throws {
        let stores = try Stores()
        for text in ["find name", "find name, size order by size desc", "find name order by name"] {
            guard case .find(let plan) = try stores.single.compiler.compile(try Parser.parseStatement(text)) else {
                throw TestSetupError("not a find: \(text)")
            }
            let whole = try Self.searchRows(
                stores.coordinator.run(plan.command(offset: 0, count: 10000), on: stores.shards), stores.spread,
                content: true)
            let cursor = PagingCursor()
            var paged: [String] = []
            var offset = 0
            while true {
                let page = try Self.searchRows(
                    stores.coordinator.run(plan.command(offset: offset, count: 7), on: stores.shards, cursor: cursor),
                    stores.spread, content: true)
                #expect(page.total == whole.total, "\(text)")
                paged += page.ids
                offset += page.ids.count
                if page.ids.count < 7 { break }
            }
            #expect(paged == whole.ids, "\(text)")
            #expect(Set(paged).count == whole.total && whole.total > 100, "\(text)")
        }
    }

    @Test func everyQueryAStatementSendsIsAnsweredAsOneIndexWould() throws {
        let stores = try Stores()
        let single = stores.single
        let compiler = single.compiler
        // Searches: totals, and rows in the same order where the order is total (a sort key
        // per row without ties in the page), else the same set.
        let searches = [
            "find name where modality = 'CT'", "find name, size order by size desc limit 7 offset 3",
            "find name order by size limit 12 offset 40", "find where size > 100000", "find name limit 5 offset 2",
            "find name, patient where patient like 'Anon*'", "count where modality = 'MR'", "count",
        ]
        for text in searches {
            let plan = try compiler.compile(try Parser.parseStatement(text))
            for command in plan.commands where command[0] == "FT.SEARCH" {
                let (one, merged) = try stores.both(command)

                let content = !command.contains("NOCONTENT")
                let a = try Self.searchRows(one, single.layout, content: content)
                let b = try Self.searchRows(merged, stores.spread, content: content)
                #expect(a.total == b.total, "\(text)")
                #expect(a.ids.count == b.ids.count, "\(text)")
                if command.contains("SORTBY") {
                    // Ties may come in another order: the sorted values must agree row by row.
                    let sortField = command[command.firstIndex(of: "SORTBY")! + 1]
                    #expect(a.fields.map { $0[sortField] } == b.fields.map { $0[sortField] }, "\(text)")
                } else if a.total <= a.ids.count {
                    #expect(Set(a.ids) == Set(b.ids), "\(text)")
                }
            }
        }
        // Aggregates: the same rows (as sets; and in the same order where sorted without ties).
        let aggregates = [
            "count by modality", "count by modality, sex order by count desc limit 3", "count studies",
            "count patients", "count series", "count series by modality", "count patients by sex",
            "count studies by patientId order by count desc limit 4", "find studies",
            "find studies order by numberOfInstances desc limit 3 offset 1", "find patients",
            "find patients order by numberOfInstances desc limit 2", "find series where studyUid like '1.2*'",
            "find studies where modality = 'MR'", "stats", "fields",
        ]
        for text in aggregates {
            let plan = try compiler.compile(try Parser.parseStatement(text))
            var commands = plan.commands.filter { $0[0] == "FT.AGGREGATE" && !$0.contains("$KEYS") }
            if case .findLevel(let level) = plan, !level.selectsByKeys {
                // The rows of the first keys the key listing gives.
                let keys = try AggregateRows(
                    stores.singlePool.withConnection {
                        try $0.call(RedisCommand(level.keysCommand(offset: 0, count: 30)))
                    }
                ).rows.compactMap { $0[level.key.attribute] }
                commands.append(level.rowsCommand(keys: keys))
            }
            for command in commands {
                let (one, merged) = try stores.both(command)
                let a = try AggregateRows(one).rows
                let b = try AggregateRows(merged).rows
                #expect(a.count == b.count, "\(text): \(command)")
                let sorted = command.contains("SORTBY")
                let cut = command.contains("LIMIT") || command.contains("MAX")
                if !sorted || !cut {
                    #expect(
                        Set(a.map { $0.sorted { $0.key < $1.key }.description })
                            == Set(b.map { $0.sorted { $0.key < $1.key }.description }),
                        "\(text): \(command)\n\(a)\n\(b)")
                }
                if sorted, let sortAt = command.firstIndex(of: "SORTBY"), let count = Int(command[sortAt + 1]) {
                    let properties = stride(from: sortAt + 2, to: sortAt + 2 + count, by: 2).map {
                        String(command[$0].dropFirst())
                    }
                    let left = a.map { row in properties.map { row[$0] } }
                    let right = b.map { row in properties.map { row[$0] } }
                    let differing = zip(a, b).filter { $0 != $1 }.prefix(3)
                    #expect(left == right, "\(text): \(command)\nfirst rows that differ: \(Array(differing))")
                }
            }
        }
        // The documents sit on every master.
        var counts: [String: Int] = [:]
        for shard in stores.shards {
            counts[shard.endpoint, default: 0] += try shard.pool.withConnection { connection in
                try SearchPage(
                    connection.call("FT.SEARCH", shard.index, "*", "NOCONTENT", "LIMIT", "0", "0"), returning: false
                ).total
            }
        }
        #expect(counts.count == 3 && counts.values.allSatisfy { $0 > 0 }, "\(counts)")
    }
}

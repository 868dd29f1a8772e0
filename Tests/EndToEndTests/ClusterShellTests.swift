import Crypto
import Foundation
import RedisIO
import TestSupport
import Testing

/// The `dql` executable pointed at a node of the test cluster: it finds out by itself, and
/// every statement answers as it does on one server.
@Suite(.serialized) struct ClusterShellTests {
    static func sha256(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map {
            SHA256.hash(data: $0).map { String(format: "%02x", $0) }.joined()
        }
    }

    @Test func statementsAnswerOnAClusterAsOnOneServer() throws {
        let cluster = try ShellFixture(url: TestRedis.clusterURL())
        let single = try ShellFixture()
        for statement in [
            "count", "count by modality", "count by protocol order by count desc",
            "find name, modality, patientName, date order by name", "find name where rows >= 256 order by name",
            "explain count by modality",
        ] {
            let onCluster = try cluster.run(["--format", "csv", "-c", statement])
            let alone = try single.run(["--format", "csv", "-c", statement])
            #expect(onCluster.status == 0, "\(statement): \(onCluster.stderr)")
            // A spread store's queries name every bucket's index as `P:idx:{s*}`.
            #expect(
                onCluster.stdout.replacingOccurrences(of: cluster.prefix, with: "P")
                    .replacingOccurrences(of: "P:idx:{s*}", with: "P:{m}:idx")
                    == alone.stdout.replacingOccurrences(of: single.prefix, with: "P"), "\(statement)")
            if statement.hasPrefix("explain") {
                #expect(onCluster.stdout.contains("\(cluster.prefix):idx:{s*}"), "\(onCluster.stdout)")
            }
        }

        let out = cluster.directory.appendingPathComponent("out").path
        let fetched = try cluster.run(["--format", "json", "-c", "find name fetch to '\(out)'"])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        let files = try #require(try jsonObject(fetched.stdout)["fetched"] as? [[String: Any]])
        #expect(files.count == ShellFixture.corpusNames.count)
        for name in ShellFixture.corpusNames {
            let base = (name as NSString).lastPathComponent
            #expect(Self.sha256(out + "/" + base) == Self.sha256(try Corpus.path(name)), "\(base)")
        }

        let stats = try jsonObject(try cluster.run(["--format", "json", "-c", "stats"]).stdout)
        #expect(stats["cluster"] as? Bool == true)
        #expect(stats["files"] as? Int == ShellFixture.corpusNames.count)
        let shards = try #require(stats["shards"] as? [[String: Any]])
        #expect(shards.count == 3)
        #expect(shards.allSatisfy { ($0["slots"] as? String)?.isEmpty == false && $0["keys"] is Int })
        // At least a document and a chunk per file, wherever their slots put them.
        let keys = shards.reduce(0) { $0 + ($1["keys"] as? Int ?? 0) }
        #expect(keys >= 2 * ShellFixture.corpusNames.count)
        // Each master's documents, their memory and its index's, and how even that is.
        #expect(shards.reduce(0) { $0 + ($1["documents"] as? Int ?? 0) } == ShellFixture.corpusNames.count)
        #expect(shards.allSatisfy { $0["documentMemory"] is Int && $0["indexMemory"] is Int })
        #expect((stats["documentSpread"] as? Double).map { $0 >= 1 && $0 <= 3 } == true, "\(stats)")
        let table = try cluster.run(["-c", "stats"])
        #expect(table.stdout.contains(" shard "), "a table of the shards: \(table.stdout)")
        #expect(table.stdout.contains("documentSpread"), "\(table.stdout)")

        let ping = try cluster.run(["ping"])
        #expect(ping.status == 0)
        #expect(ping.stdout.contains("(cluster node)"), "\(ping.stdout)")
    }

    @Test func theSpeedTestSpreadsOverTheShardsAndCleansUp() throws {
        let url = try TestRedis.clusterURL()
        let result = try DQLBinary.run([
            "--url", url.description, "bench", "--size", "4MiB", "--chunk", "64KB", "--connections", "1,4",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("(Redis Cluster, 3 masters)"), "\(result.stderr)")
        #expect(result.stderr.contains("every fetch was written to disk and matched"))
        let client = try RedisClient(RedisConfiguration(url: url))
        defer { client.close() }
        for pool in client.masterPools() {
            let left = try pool.withConnection { try $0.keys(matching: "dql-bench:*") }
            #expect(left.isEmpty, "test keys left on \(pool.configuration.url.endpoint)")
        }
    }
}

/// `migrate` through the executable, on a scratch cluster of its own (a master is stopped at
/// the end).
@Suite(.serialized) struct MigrateShellTests {
    @Test func migrateMovesAStoreOfTheOldLayoutThenAFailedMasterIsNamed() throws {
        let scratchCluster = try ScratchCluster()
        defer { withExtendedLifetime(scratchCluster) {} }
        let client = try RedisClient(RedisConfiguration(url: scratchCluster.url))
        defer { client.close() }
        let fixture = try ShellFixture(load: false, url: scratchCluster.url)
        // A store made before metadata spread keeps every document in the `{m}` slot.
        let placement = "\(fixture.prefix):{m}:placement"
        try client.call(RedisCommand("SET", placement, "single"), routedBy: placement)
        let paths = try ShellFixture.corpusNames.map { try Corpus.path($0) }
        let load = try fixture.run(["-c", paths.map { "load '\($0)'" }.joined(separator: "; ")])
        #expect(load.status == 0, "\(load.stderr)")
        let statements = "count by modality; find name, modality order by name; count studies"
        let before = try fixture.run(["--format", "csv", "-c", statements])
        #expect(before.status == 0, "\(before.stderr)")

        let explained = try fixture.run(["-c", "explain migrate"])
        #expect(explained.status == 0 && explained.stdout.contains("\(fixture.prefix):stage:{sB-N}:<id>"))
        let migrated = try fixture.run(["--format", "json", "-c", "migrate"])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let report = try jsonObject(migrated.stdout)
        #expect(report["moved"] as? Int == paths.count && report["masters"] as? Int == 3, "\(report)")
        #expect(try client.call(RedisCommand("GET", placement), routedBy: placement).string == "spread")
        let after = try fixture.run(["--format", "csv", "-c", statements])
        #expect(after.stdout == before.stdout)
        let again = try fixture.run(["-c", "migrate"])
        #expect(again.status == 0 && again.stderr.contains("spread over the masters already"), "\(again.stderr)")

        // A master stops: once the cluster counts it as failed, every master answers
        // CLUSTERDOWN; dql names the failed one and exits 69 (the server is unavailable).
        let victim = try #require(client.shards.last?.endpoint)
        let parts = victim.split(separator: ":")
        let connection = try RedisConnection(url: RedisURL(host: String(parts[0]), port: Int(parts[1]) ?? 0))
        _ = try? connection.send(RedisCommand("SHUTDOWN", "NOSAVE"))
        let deadline = Date().addingTimeInterval(20)
        while !client.failedMasters().contains(victim), Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        #expect(client.failedMasters() == [victim])
        for statement in ["count", "find name where name = 'CT_small.dcm'"] {
            let failed = try fixture.run(["-c", statement])
            #expect(failed.status == 69, "\(statement): \(failed.stderr)")
            #expect(failed.stderr.contains(victim), "\(statement): \(failed.stderr)")
        }
    }
}

import ArgumentParser
import DQL
import Foundation
import RedisIO

/// `dql-bench cluster --metadata`: the same generated archive of small instances on one server
/// and on a Redis Cluster: the load rate (the `dql` executable), then searches and counts
/// in-process, alternating, with each master's server time per query (INFO commandstats) and
/// how evenly the documents sit on the masters (`stats`).
struct ClusterMetadataBench {
    var single: RedisURL
    var cluster: RedisURL
    var instances: Int
    var runs: Int
    var workDirectory: String?
    var dql: String?
    var python: String

    /// One query's measurements on one target.
    struct Measured {
        var seconds: [Double] = []
        /// Server microseconds per query, per master (on one server, one entry).
        var serverMicroseconds: [String: Double] = [:]
    }

    func run() throws {
        let work = URL(fileURLWithPath: workDirectory ?? FileManager.default.temporaryDirectory.path)
        let archive = try generatedArchive(
            python: python, work.appendingPathComponent("dql-bench-tiny-\(instances)"),
            ["--patients", "0", "--tiny", String(instances)])
        let scratch = work.appendingPathComponent("dql-bench-cluster-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let prefix = "dqlbench-\(UUID().uuidString.prefix(8))"
        let targets = [("one server", single), ("cluster", cluster)]
        let clients = try targets.map { try RedisClient(RedisConfiguration(url: $0.1), connectionsPerServer: 16) }
        defer {
            for client in clients {
                try? Self.remove(prefix: prefix, client)
                client.close()
            }
        }
        guard clients[1].isCluster else { throw ValidationError("\(cluster) is not a Redis Cluster node") }
        let masters = clients[1].shards
        print(
            "\(instances) small instances (1,000 a patient: 5 studies, 10 series a study, 20 instances a series); one server \(single) vs a cluster of \(masters.count) masters; \(ProcessInfo.processInfo.activeProcessorCount) cores"
        )
        var loadRates: [String] = []
        for (name, url) in targets {
            let load = try MeasuredRun.run(
                [dqlExecutable(dql), "-c", "load '\(archive.path)' recursive"],
                environment: ["REDIS_URL": url.description, "DQL_PREFIX": prefix, "NO_COLOR": "1"],
                in: scratch.path)
            guard load.stdout.hasPrefix("loaded") else { throw ValidationError("dql load on \(name): \(load.stdout)") }
            loadRates.append(String(format: "%@ %.0f files/s", name, Double(instances) / load.seconds))
        }
        print("load: " + loadRates.joined(separator: ", "))

        let layout = StorageLayout(prefix: prefix)
        let executors = clients.map { Executor(client: $0, layout: layout) }
        guard case .rows(let patients) = try executors[0].run("find patients patientId limit 1").first,
            let patient = patients.rows.first?[0] ?? nil
        else { throw ValidationError("the archive has no patient") }
        let queries = [
            "count by modality",
            "count studies by patientId",
            "find studies where patientId = '\(patient)'",
            "find studies where patientId like 'T0001*'",
            "find name, date where modality = 'CT' order by date desc limit 10",
        ]
        print(
            "query".padding(toLength: 70, withPad: " ", startingAt: 0)
                + " one server   cluster   cluster/one   server µs per query: one server | each master")
        for dqlText in queries {
            let statement = try Parser.parseStatement(dqlText)
            let answers = try executors.map { try Self.answer($0.execute(statement)) }
            guard answers[0] == answers[1] else {
                throw ValidationError("\(dqlText): the cluster answered \(answers[1]), one server \(answers[0])")
            }
            var measured = [Measured(), Measured()]
            for client in clients { try Self.resetStatistics(client) }
            for _ in 0..<runs {
                for (index, executor) in executors.enumerated() {
                    let start = ContinuousClock.now
                    _ = try executor.execute(statement)
                    measured[index].seconds.append((ContinuousClock.now - start).seconds)
                }
            }
            for (index, client) in clients.enumerated() {
                measured[index].serverMicroseconds = try Self.serverMicroseconds(client, runs: runs)
            }
            let times = measured.map { median($0.seconds) * 1000 }
            let perMaster = masters.map { String(format: "%.0f", measured[1].serverMicroseconds[$0.endpoint] ?? 0) }
            print(
                dqlText.padding(toLength: 70, withPad: " ", startingAt: 0)
                    + String(format: " %7.2f ms %7.2f ms   %5.2fx", times[0], times[1], times[1] / times[0])
                    + String(format: "       %6.0f", measured[0].serverMicroseconds.values.reduce(0, +))
                    + " | " + perMaster.joined(separator: " / "))
        }
        guard case .stats(let stats) = try executors[1].run("stats").first else { return }
        let documents = stats.shards.map { "\($0.endpoint) \($0.documents)" }.joined(separator: ", ")
        print(String(format: "documents per master: %@; fullest over mean: %.2f", documents, stats.documentSpread))
        print(
            "(medians of \(runs) runs, alternating; the server time is each master's own command time from INFO commandstats, divided by the runs; every master shares these \(ProcessInfo.processInfo.activeProcessorCount) cores with dql)"
        )
    }

    /// What a statement answered, to compare the two targets.
    static func answer(_ result: StatementResult) -> String {
        switch result {
        case .rows(let found): "\(found.total): \(found.rows)"
        case .count(let count): "\(count)"
        case .groups(let groups): "\(groups.rows.map { "\($0.values)=\($0.count)" })"
        default: "\(result)"
        }
    }

    static func resetStatistics(_ client: RedisClient) throws {
        for pool in client.masterPools() { _ = try pool.withConnection { try $0.call("CONFIG", "RESETSTAT") } }
    }

    /// Each master's command time since the reset, in microseconds per run.
    static func serverMicroseconds(_ client: RedisClient, runs: Int) throws -> [String: Double] {
        var result: [String: Double] = [:]
        for pool in client.masterPools() {
            let info = try pool.withConnection { try $0.call("INFO", "commandstats").string ?? "" }
            var microseconds = 0.0
            for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
                let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }.lowercased()
                guard
                    !["info", "config", "hello", "client|setinfo", "ping", "cluster|slots", "cluster|info"].contains(
                        name)
                else { continue }
                if let range = line.range(of: "usec="),
                    let value = Double(line[range.upperBound...].prefix { $0 != "," })
                {
                    microseconds += value
                }
            }
            result[pool.configuration.url.endpoint] = microseconds / Double(max(runs, 1))
        }
        return result
    }

    /// Every key of the prefix on every master, and the index.
    static func remove(prefix: String, _ client: RedisClient) throws {
        let layout = StorageLayout(prefix: prefix)
        _ = try? client.send(RedisCommand("FT.DROPINDEX", layout.indexName), routedBy: layout.metadataRoutingKey)
        for pool in client.masterPools() {
            try pool.withConnection { connection in
                try connection.scan(matching: RedisConnection.globEscaped(prefix + ":") + "*") { keys in
                    try client.unlink(keys)
                }
            }
        }
    }
}

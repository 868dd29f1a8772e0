import ArgumentParser
import DQL
import Foundation
import RedisIO

/// Level queries and a condition on an unindexed attribute: dql in-process against hand-written
/// redis-py code over the same index (scripts/levels_baseline.py), on a generated archive of
/// small instances. Each side's wall time (median and spread of N runs) and server time (the
/// server's own command time, from INFO commandstats, per query) are compared.
struct LevelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "levels",
        abstract: "find studies/series, count studies by, and an unindexed attribute: dql vs redis-py."
    )

    @Option(help: "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379).")
    var url: String?

    @Option(help: "Small instances in the archive (20 a series, 10 series a study, 5 studies a patient).")
    var instances = 20_000

    @Option(help: "Timed runs of each level query.")
    var runs = 100

    @Option(help: "Timed runs of the unindexed-attribute query (redis-py parses every header with pydicom).")
    var unindexedRuns = 5

    @Option(help: "Where the generated archive is kept between runs (default: the system temporary directory).")
    var workDirectory: String?

    @Option(help: "Python with redis-py and pydicom (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    struct Side {
        var seconds: [Double]
        /// Server microseconds per query.
        var serverMicroseconds: Double
    }

    func run() throws {
        let redisURL = try RedisURL.resolve(explicit: url, environment: ProcessInfo.processInfo.environment)
        let work = URL(fileURLWithPath: workDirectory ?? FileManager.default.temporaryDirectory.path)
        let archive = try generatedArchive(
            python: python, work.appendingPathComponent("dql-levels-\(instances)"),
            ["--patients", "0", "--tiny", String(instances)])
        let layout = StorageLayout(prefix: "dqllevels-\(UUID().uuidString.prefix(8))")
        let pool = RedisPool(RedisConfiguration(url: redisURL), maximumConnections: 16)
        defer { pool.close() }
        let executor = Executor(client: RedisClient(pool: pool), layout: layout)
        defer { try? ArchiveBench.remove(prefix: layout.prefix, from: redisURL) }
        _ = try executor.run("load '\(archive.path)' recursive")
        guard case .rows(let patients) = try executor.run("find patients patientId limit 1").first,
            case .rows(let studies) = try executor.run("find studies studyUid limit 1").first,
            let patient = patients.rows.first?[0] ?? nil, let study = studies.rows.first?[0] ?? nil
        else { throw ValidationError("the archive has no patient or study") }

        let queries: [(name: String, dql: String, baseline: [String], runs: Int)] = [
            (
                "find studies where patientId = …", "find studies where patientId = '\(patient)'",
                ["studies-of-patient", patient], runs
            ),
            (
                "find series where studyUid = …", "find series where studyUid = '\(study)'",
                ["series-of-study", study], runs
            ),
            ("count studies by modality", "count studies by modality", ["studies-by-modality"], runs),
            (
                "count where SliceThickness < 2 (not indexed)", "count where SliceThickness < 2",
                ["unindexed-slice-thickness"], unindexedRuns
            ),
        ]
        print(
            "\(instances) instances; medians of N runs (spread: fastest–slowest); server time from INFO commandstats; \(redisURL)"
        )
        for query in queries {
            let statement = try Parser.parseStatement(query.dql)
            _ = try executor.execute(statement)  // warm-up
            let dql = try measure(redisURL) {
                var seconds: [Double] = []
                for _ in 0..<query.runs {
                    let start = ContinuousClock.now
                    _ = try executor.execute(statement, context: StatementContext())
                    seconds.append((ContinuousClock.now - start).seconds)
                }
                return seconds
            }
            let python = try measure(redisURL) {
                let output = try runCapturing(
                    self.python,
                    [
                        "\(repositoryRoot)/scripts/levels_baseline.py", redisURL.description, layout.indexName,
                        layout.documentPrefix, "\(layout.prefix):chunk:", String(query.runs),
                    ] + query.baseline)
                guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
                    let seconds = object["seconds"] as? [Double]
                else { throw ValidationError("unexpected output from levels_baseline.py: \(output)") }
                return seconds
            }
            // The baseline's warm-up run is counted by the server too.
            let baselineServer = python.serverMicroseconds * Double(query.runs) / Double(query.runs + 1)
            func ms(_ values: [Double]) -> String {
                String(
                    format: "%.2f ms (%.2f–%.2f)", median(values) * 1000, (values.min() ?? 0) * 1000,
                    (values.max() ?? 0) * 1000)
            }
            print(query.name)
            print(
                "  wall:   dql \(ms(dql.seconds)), redis-py \(ms(python.seconds)), redis-py / dql = \(format(median(python.seconds) / median(dql.seconds)))x"
            )
            print(
                "  server: dql \(String(format: "%.0f", dql.serverMicroseconds)) µs, redis-py \(String(format: "%.0f", baselineServer)) µs per query, dql / redis-py = \(format(dql.serverMicroseconds / max(baselineServer, 1)))x"
            )
        }
    }

    /// Runs `body` between a reset of the server's command statistics and a reading of them:
    /// its times, and the server's microseconds per run.
    func measure(_ url: RedisURL, _ body: () throws -> [Double]) throws -> Side {
        let connection = try RedisConnection(url: url)
        defer { connection.close() }
        try connection.call("CONFIG", "RESETSTAT")
        let seconds = try body()
        let info = try connection.call("INFO", "commandstats").string ?? ""
        var microseconds = 0.0
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }.lowercased()
            guard !["info", "config", "hello", "client|setinfo", "ping"].contains(name) else { continue }
            if let range = line.range(of: "usec="), let value = Double(line[range.upperBound...].prefix { $0 != "," }) {
                microseconds += value
            }
        }
        return Side(seconds: seconds, serverMicroseconds: microseconds / Double(max(seconds.count, 1)))
    }
}

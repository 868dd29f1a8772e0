import ArgumentParser
import DQL
import Foundation
import RedisIO

/// The demo's scenario 2 (search, then fetch the file) and scenario 3 (count by protocol):
/// dql in-process against the notebook's redis-py code (scripts/demo_scenarios.py), each timed
/// over many runs on the same server, medians compared.
struct ScenarioBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenarios",
        abstract: "The demo's scenarios 2 and 3: dql vs the notebook's redis-py code, median of N runs."
    )

    @Option(help: "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379).")
    var url: String?

    @Option(help: "Timed runs of each scenario.")
    var runs = 100

    @Option(help: "Python with redis-py and pydicom (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    func run() throws {
        let redisURL = try RedisURL.resolve(explicit: url, environment: ProcessInfo.processInfo.environment)
        // The notebook loaded pydicom's test files (get_testdata_files()).
        let files = try runCapturing(python, ["\(repositoryRoot)/scripts/dicom_oracle.py", "--list"])
            .split(separator: "\n").map(String.init).filter { $0.contains("/pydicom/data/test_files/") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-scenarios-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let layout = StorageLayout(prefix: "dqlscenarios-\(UUID().uuidString.prefix(8))")
        let pool = RedisPool(RedisConfiguration(url: redisURL), maximumConnections: 16)
        defer { pool.close() }
        let executor = Executor(client: RedisClient(pool: pool), layout: layout)
        defer { Self.removeAll(layout, pool) }
        for file in files { _ = try executor.run("load '\(file)'") }

        let scenario2 = try Parser.parseStatement(
            "find where protocol = '194' and year = 2019 fetch to '\(directory.path)'")
        let scenario3 = try Parser.parseStatement("count by protocol")
        // The floor speaks plain RESP to database 0 with no account: on other servers it is left out.
        let floor =
            redisURL.usesTLS || redisURL.password != nil || redisURL.database != 0
            ? nil : try Self.buildFloor(in: directory)
        var times2: [Double] = []
        var times3: [Double] = []
        var floorTimes: [Double] = []
        let clock = ContinuousClock()
        // In blocks, dql's then the floor's, so both see the same drift of this machine.
        let blocks = 4
        for block in 0..<blocks {
            let first = block == 0 ? -1 : 0  // round -1 warms up connections and the index check
            for round in first..<(runs / blocks) {
                let start2 = clock.now
                guard case .rows(let found) = try executor.execute(scenario2), found.fetched.count == 1 else {
                    throw ValidationError("scenario 2 did not fetch exactly one file")
                }
                let elapsed2 = (clock.now - start2).seconds
                try FileManager.default.removeItem(atPath: found.fetched[0].path)
                let start3 = clock.now
                _ = try executor.execute(scenario3)
                let elapsed3 = (clock.now - start3).seconds
                if round >= 0 {
                    times2.append(elapsed2)
                    times3.append(elapsed3)
                }
            }
            guard let floor else { continue }
            let output = try runCapturing(
                floor,
                [
                    redisURL.host, String(redisURL.port), layout.indexName, layout.prefix, directory.path,
                    String(runs / blocks),
                ])
            guard let seconds = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [Double] else {
                throw ValidationError("unexpected output from scenario2_floor: \(output)")
            }
            floorTimes += seconds
        }
        let demo = try runCapturing(
            python,
            [
                "\(repositoryRoot)/scripts/demo_scenarios.py", redisURL.description,
                "demoscn-\(UUID().uuidString.prefix(8)):", String(runs),
            ] + files)
        guard let object = try JSONSerialization.jsonObject(with: Data(demo.utf8)) as? [String: Any],
            let demo2 = object["scenario2"] as? [Double], let demo3 = object["scenario3"] as? [Double]
        else { throw ValidationError("unexpected output from demo_scenarios.py: \(demo)") }
        func ms(_ values: [Double]) -> String { String(format: "%.3f ms", median(values) * 1000) }
        print("medians of \(runs) runs; \(files.count) files of pydicom's test_files; server \(redisURL)")
        print(
            "scenario 2 (search + fetch J2K_pixelrep_mismatch.dcm): dql \(ms(times2)), redis-py \(ms(demo2)), redis-py / dql = \(format(median(demo2) / median(times2)))x"
        )
        if floor == nil {
            print("scenario 2 floor: not measured (the C program takes no TLS, account or database)")
        } else {
            print(
                "scenario 2 floor (the same two round trips, write, XXH3 and link in C with hiredis): \(ms(floorTimes)), dql / floor = \(String(format: "%.2f", median(times2) / median(floorTimes)))x"
            )
        }
        print(
            "scenario 3 (count by protocol):                        dql \(ms(times3)), redis-py \(ms(demo3)), redis-py / dql = \(format(median(demo3) / median(times3)))x"
        )
        print(
            "(dql's scenario 2 writes the file to disk through a temporary file and checks it against the XXH3 recorded at load; the notebook's joins the chunks in memory)"
        )
    }

    /// Compiles scripts/scenario2_floor.c (hiredis and libxxhash, both build dependencies of
    /// dql) into `directory`.
    static func buildFloor(in directory: URL) throws -> String {
        let output = directory.appendingPathComponent("scenario2_floor").path
        _ = try runCapturing(
            "/usr/bin/env",
            ["cc", "-O2", "-o", output, "\(repositoryRoot)/scripts/scenario2_floor.c", "-lhiredis", "-lxxhash"])
        return output
    }

    static func removeAll(_ layout: StorageLayout, _ pool: RedisPool) {
        _ = try? pool.withConnection { connection in
            _ = try? connection.call("FT.DROPINDEX", layout.indexName)
            try connection.scan(matching: layout.prefix + ":*") { keys in
                try connection.call(RedisCommand(["UNLINK"] + keys))
            }
        }
    }
}

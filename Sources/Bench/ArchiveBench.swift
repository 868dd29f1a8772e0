import ArgumentParser
import Foundation
import RedisIO

/// The archive benchmark: many small files, as a hospital's archive holds them. A generated
/// archive (scripts/generate_archive.py: patients / studies / series of CT slices with random
/// pixels, and a set of tiny instances) is loaded and fetched back whole by the `dql`
/// executable and by the demo's serial redis-py method (scripts/demo_archive.py), alternating
/// on the same server in one run; with Redis memory per tiny instance.
struct ArchiveBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Load and fetch an archive of many small files: dql vs the demo's serial redis-py loop."
    )

    @Option(help: "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379).")
    var url: String?

    @Option(help: "Patients, studies per patient, series per study, slices per series.")
    var shape = "4x5x5x20"

    @Option(help: "Rows and columns of each slice.")
    var matrix = 256

    @Option(help: "Tiny instances (a 16x16 image each), loaded separately; 0 for none.")
    var tiny = 20_000

    @Option(help: "Rounds of each method, alternating.")
    var rounds = 3

    @Option(help: "Chunk size in KiB, for both.")
    var chunkKiB = 512

    @Option(help: "Where the generated archive is kept between runs (default: the system temporary directory).")
    var workDirectory: String?

    @Option(help: "Python with redis-py and pydicom (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    @Option(help: "The dql executable (default: next to dql-bench).")
    var dql: String?

    func run() throws {
        let redisURL = try RedisURL.resolve(explicit: url, environment: ProcessInfo.processInfo.environment)
        let parts = shape.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--shape is PATIENTSxSTUDIESxSERIESxSLICES, e.g. 4x5x5x20")
        }
        let dqlPath = dqlExecutable(dql)
        let base = URL(fileURLWithPath: workDirectory ?? FileManager.default.temporaryDirectory.path)
        let slices = try generatedArchive(
            python: python,
            base.appendingPathComponent("dql-bench-archive-\(shape)-\(matrix)"),
            [
                "--patients", "\(parts[0])", "--studies", "\(parts[1])", "--series", "\(parts[2])", "--instances",
                "\(parts[3])", "--rows", "\(matrix)", "--cols", "\(matrix)",
            ])
        let tinyArchive =
            tiny > 0
            ? try generatedArchive(
                python: python,
                base.appendingPathComponent("dql-bench-tiny-\(tiny)"),
                ["--patients", "0", "--tiny", "\(tiny)"]) : nil
        let scratch = base.appendingPathComponent("dql-bench-run-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let sliceCount = parts.reduce(1, *)
        print(
            "archive: \(sliceCount) CT slices of \(matrix)x\(matrix) (\(shape)), \(tiny) tiny instances; chunks of \(chunkKiB) KiB; server \(redisURL)"
        )

        var seconds: [String: [Double]] = [:]
        var perInstance: [Double] = []
        for _ in 0..<rounds {
            let prefix = "dqlbench-\(UUID().uuidString.prefix(8))"
            let environment = ["REDIS_URL": redisURL.description, "DQL_PREFIX": prefix, "NO_COLOR": "1"]
            func dqlRun(_ statement: String) throws -> MeasuredRun {
                let run = try MeasuredRun.run([dqlPath, "-c", statement], environment: environment, in: scratch.path)
                guard !run.stdout.isEmpty else { throw ValidationError("dql -c \(statement) printed nothing") }
                return run
            }
            defer { try? Self.remove(prefix: prefix, from: redisURL) }
            // An empty index first, so neither side pays for creating it over a full keyspace.
            _ = try? MeasuredRun.run([dqlPath, "-c", "count"], environment: environment, in: scratch.path)
            let load = try dqlRun("load '\(slices.path)' recursive chunk \(chunkKiB)KB")
            guard load.stdout.hasPrefix("loaded \(sliceCount) files") else {
                throw ValidationError("dql load: \(load.stdout)")
            }
            seconds["dql load", default: []].append(load.seconds)
            // Fetched copies stay until the end of the run: ext4 allocates inodes slowly right
            // after thousands were deleted (it skips recently deleted ones), which made whichever
            // fetch came after a deletion pay for it.
            let out = scratch.appendingPathComponent("dql-out-\(UUID().uuidString.prefix(8))")
            let fetch = try dqlRun("set format csv; find name fetch to '\(out.path)'")
            let fetched = (try? FileManager.default.contentsOfDirectory(atPath: out.path).count) ?? 0
            guard fetched == sliceCount else { throw ValidationError("dql fetched \(fetched) of \(sliceCount) files") }
            seconds["dql fetch", default: []].append(fetch.seconds)
            if let tinyArchive {
                let tinyLoad = try dqlRun("load '\(tinyArchive.path)' recursive chunk \(chunkKiB)KB")
                seconds["dql tiny load", default: []].append(tinyLoad.seconds)
                let stats = try dqlRun("set format json; stats")
                guard let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any],
                    let bytes = object["metadataPerFile"] as? Int
                else { throw ValidationError("dql stats: \(stats.stdout)") }
                perInstance.append(Double(bytes))
            }

            let demo = try demoRun(redisURL, slices.path, scratch, fetch: true)
            seconds["demo load", default: []].append(demo.load)
            seconds["demo fetch", default: []].append(demo.fetch)
            if let tinyArchive {
                seconds["demo tiny load", default: []].append(
                    try demoRun(redisURL, tinyArchive.path, scratch, fetch: false).load)
            }
        }
        func show(_ name: String, _ files: Int) {
            guard let values = seconds[name], !values.isEmpty else { return }
            let value = median(values)
            print(
                "\(name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(String(format: "%.2f", value)) s  \(Int(Double(files) / value)) files/s"
            )
        }
        for name in ["dql load", "demo load", "dql fetch", "demo fetch"] { show(name, sliceCount) }
        for name in ["dql tiny load", "demo tiny load"] { show(name, tiny) }
        func ratio(_ faster: String, _ slower: String) -> String {
            let ratios = zip(seconds[slower] ?? [], seconds[faster] ?? []).map { $0 / $1 }
            return "\(format(median(ratios)))x (rounds: \(format(ratios.min() ?? 0))–\(format(ratios.max() ?? 0))x)"
        }
        print("load:       dql vs demo = \(ratio("dql load", "demo load"))")
        print("fetch-all:  dql vs demo = \(ratio("dql fetch", "demo fetch"))")
        if tiny > 0 {
            print("tiny load:  dql vs demo = \(ratio("dql tiny load", "demo tiny load"))")
            print(
                "Redis memory per instance (dql stats: mean document and its share of the index): \(Int(median(perInstance))) bytes"
            )
        }
        print(
            "(whole `dql -c` runs, medians of \(rounds) rounds; ratios are medians of the rounds' ratios; dql's fetch writes each file through a temporary file and checks it against the XXH3 recorded at load; the demo's joins chunks in memory)"
        )
    }

    /// The demo's method over the archive at `path`: load (and fetch-all) seconds.
    func demoRun(_ url: RedisURL, _ path: String, _ scratch: URL, fetch: Bool) throws -> (load: Double, fetch: Double) {
        let out = scratch.appendingPathComponent("demo-out-\(UUID().uuidString.prefix(8))")
        let output = try runCapturing(
            python,
            [
                "\(repositoryRoot)/scripts/demo_archive.py", url.description,
                "demoarchive-\(UUID().uuidString.prefix(8)):",
                path, out.path, String(chunkKiB << 10),
            ] + (fetch ? [] : ["--no-fetch"]))
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
            let load = object["loadSeconds"] as? Double, let fetchSeconds = object["fetchSeconds"] as? Double,
            object["verified"] as? Bool == true
        else { throw ValidationError("unexpected output from demo_archive.py: \(output)") }
        return (load, fetchSeconds)
    }

    /// Deletes everything under `prefix` (index, documents, chunks).
    static func remove(prefix: String, from url: RedisURL) throws {
        let connection = try RedisConnection(url: url)
        defer { connection.close() }
        _ = try? connection.call("FT.DROPINDEX", "\(prefix):{m}:idx")
        try connection.scan(matching: RedisConnection.globEscaped(prefix + ":") + "*") { keys in
            _ = try connection.call(RedisCommand(["UNLINK"] + keys))
        }
    }
}

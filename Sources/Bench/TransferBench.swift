import ArgumentParser
import DicomCore
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// The storage benchmark: a large random object wrapped as a DICOM file, loaded and fetched
/// by the `dql` executable (SHA-256, header, chunks, document; fetch verified and written to
/// disk) and by the demo's method (scripts/demo_speedtest.py), alternating on the same server
/// in one run, next to redis-benchmark's GET rate, with dql's peak memory.
struct TransferBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Load and fetch a large DICOM file: dql vs the demo's redis-py method."
    )

    @Option(help: "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379).")
    var url: String?

    @Option(name: .customLong("size-mib"), help: "Object size in MiB.")
    var sizeMiB = 1024

    @Option(name: .customLong("chunk-kib"), help: "Chunk size in KiB.")
    var chunkKiB = 512

    @Option(help: "dql connections.")
    var connections = 8

    @Option(help: "The demo's \"connections\" (GETs per wave).")
    var demoConnections = 50

    @Option(help: "Measurements of each method, alternating.")
    var repeats = 3

    @Option(help: "Directory for the test object and fetched copies (default: the system temporary directory).")
    var workDirectory: String?

    @Option(help: "Python with redis-py (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    @Option(help: "The dql executable (default: next to dql-bench).")
    var dql: String?

    @Option(
        name: .customLong("tls-url"),
        help:
            "The same server behind TLS (rediss://…; trust from $DQL_TLS_CA): dql's load and fetch are also measured through it, in the same rounds."
    )
    var tlsURL: String?

    func run() throws {
        let redisURL = try RedisURL.resolve(explicit: url, environment: ProcessInfo.processInfo.environment)
        let tlsTarget = try tlsURL.map { try RedisURL(parsing: $0) }
        if let tlsTarget, !tlsTarget.usesTLS { throw ValidationError("--tls-url must be a rediss:// URL") }
        let chunk = chunkKiB << 10
        let transfer = try DQLTransfer(sizeMiB: sizeMiB, workDirectory: workDirectory, dql: dql)
        let directory = transfer.directory
        let source = transfer.source
        let fileSize = transfer.fileSize
        print(
            "object: \(sizeMiB) MiB of random pixel data in a DICOM file, chunks of \(chunkKiB) KiB; dql: \(connections) connections; demo: \(demoConnections) \"connections\"; server \(redisURL)"
        )
        defer { try? transfer.remove(from: redisURL) }

        var rates: [String: [Double]] = [:]
        var peaks: [String: [Int]] = [:]
        for _ in 0..<repeats {
            let (load, fetch) = try transfer.loadAndFetch(on: redisURL, chunkKiB: chunkKiB, connections: connections)
            rates["dql load", default: []].append(transfer.rate(load))
            peaks["dql load", default: []].append(load.peakMemory)
            rates["dql fetch", default: []].append(transfer.rate(fetch))
            peaks["dql fetch", default: []].append(fetch.peakMemory)
            if let tlsTarget {
                let (load, fetch) = try transfer.loadAndFetch(
                    on: tlsTarget, chunkKiB: chunkKiB, connections: connections)
                rates["TLS load", default: []].append(transfer.rate(load))
                rates["TLS fetch", default: []].append(transfer.rate(fetch))
                peaks["TLS fetch", default: []].append(fetch.peakMemory)
            }

            let demo = try runCapturing(
                python,
                [
                    "\(repositoryRoot)/scripts/demo_speedtest.py", redisURL.description, source, String(chunk),
                    String(demoConnections), directory.appendingPathComponent("demo.out").path,
                ])
            guard let object = try JSONSerialization.jsonObject(with: Data(demo.utf8)) as? [String: Any],
                let loadSeconds = object["loadSeconds"] as? Double,
                let fetchSeconds = object["fetchSeconds"] as? Double,
                object["verified"] as? Bool == true
            else { throw ValidationError("unexpected output from demo_speedtest.py: \(demo)") }
            rates["demo load", default: []].append(Double(fileSize) / loadSeconds)
            rates["demo fetch", default: []].append(Double(fileSize) / fetchSeconds)
            unlink(directory.appendingPathComponent("demo.out").path)
            // The baseline in every round too: on a shared machine it drifts as much as the rest.
            rates["redis-benchmark GET", default: []].append(try redisBenchmarkGetRate(redisURL, valueSize: chunk))
        }
        let benchmark = median(rates["redis-benchmark GET"] ?? [])
        func rate(_ name: String) -> Double { median(rates[name] ?? []) / Double(1 << 20) }
        for name in ["dql load", "demo load", "dql fetch", "demo fetch"]
            + (tlsTarget == nil ? [] : ["TLS load", "TLS fetch"])
        {
            let peak = peaks[name].map { "   peak memory \(($0.max() ?? 0) >> 20) MiB" } ?? ""
            print("\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(format(rate(name))) MiB/s\(peak)")
        }
        print(
            "redis-benchmark GET, \(chunkKiB) KiB values, 10 clients: \(format(benchmark / Double(1 << 20))) MiB/s of payload"
        )
        /// The median of per-round ratios, with their range: each round's figures were taken
        /// minutes apart at most, so the ratios drift less than the rates.
        func ratio(_ numerator: String, _ denominator: String, scale: Double = 1, unit: String) -> String {
            let ratios = zip(rates[numerator] ?? [], rates[denominator] ?? []).map { $0 / $1 * scale }
            let range = "\(format(ratios.min() ?? 0))–\(format(ratios.max() ?? 0))\(unit)"
            return "\(format(median(ratios)))\(unit) (rounds: \(range))"
        }
        print("load:  dql / demo = \(ratio("dql load", "demo load", unit: "x"))")
        print("fetch: dql / demo = \(ratio("dql fetch", "demo fetch", unit: "x"))")
        print("fetch: dql / redis-benchmark GET = \(ratio("dql fetch", "redis-benchmark GET", scale: 100, unit: "%"))")
        if tlsTarget != nil {
            print("load:  plain / TLS = \(ratio("dql load", "TLS load", unit: "x"))")
            print("fetch: plain / TLS = \(ratio("dql fetch", "TLS fetch", unit: "x"))")
        }
        print(
            "(rates are medians of \(repeats) rounds; ratios are medians of the rounds' ratios; dql times are whole `dql -c` runs: load includes SHA-256 and the header, fetch includes writing to disk and the SHA-256 check)"
        )
    }

    /// redis-benchmark's GET payload rate at this value size, with 10 clients.
    func redisBenchmarkGetRate(_ url: RedisURL, valueSize: Int) throws -> Double {
        let requests = max(200, (1 << 30) / valueSize)
        let output = try runCapturing(
            "/usr/bin/redis-benchmark",
            [
                "-h", url.host, "-p", String(url.port), "-c", "10", "-n", String(requests), "-d", String(valueSize),
                "-t", "set,get", "-q",
            ]
                + (url.password.map { ["-a", $0] } ?? []))
        // "GET: 5000.00 requests per second, p50=…"
        for line in output.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) where line.hasPrefix("GET:") {
            let words = line.split(separator: " ")
            if words.count > 1, let perSecond = Double(words[1]) { return perSecond * Double(valueSize) }
        }
        throw ValidationError("unexpected redis-benchmark output: \(output)")
    }
}

extension MappedFile {
    /// True if both files hold the same bytes.
    func sameBytes(as other: MappedFile) -> Bool {
        guard buffer.count == other.buffer.count else { return false }
        guard let a = buffer.baseAddress, let b = other.buffer.baseAddress else { return buffer.count == 0 }
        return memcmp(a, b, buffer.count) == 0
    }
}

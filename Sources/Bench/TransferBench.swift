import ArgumentParser
import DicomCore
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// Chunked load and fetch of one large object: dql's transfer engine against the demo's method
/// (scripts/demo_speedtest.py) and redis-benchmark's GET rate, on the same server in one run.
struct TransferBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Load and fetch a large object in chunks: dql vs the demo's redis-py method."
    )

    @Option(help: "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379).")
    var url: String?

    @Option(help: "Object size in MiB.")
    var sizeMiB = 1024

    @Option(help: "Chunk size in KiB.")
    var chunkKiB = 512

    @Option(help: "dql connections.")
    var connections = 8

    @Option(help: "dql commands in flight per connection.")
    var window = 8

    @Option(help: "The demo's \"connections\" (GETs per wave).")
    var demoConnections = 50

    @Option(help: "Measurements of each method, alternating.")
    var repeats = 3

    @Option(help: "Directory for the test object and fetched copies (default: the system temporary directory).")
    var workDirectory: String?

    @Option(help: "Python with redis-py (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    func run() throws {
        let redisURL = try RedisURL.resolve(explicit: url, environment: ProcessInfo.processInfo.environment)
        let size = sizeMiB << 20
        let chunk = chunkKiB << 10
        let base = workDirectory.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let directory = base.appendingPathComponent("dql-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("object.bin").path
        try writeRandomFile(source, size: size)
        print(
            "object: \(sizeMiB) MiB, chunks of \(chunkKiB) KiB; dql: \(connections) connections × window \(window); demo: \(demoConnections) \"connections\"; server \(redisURL)"
        )

        let pool = RedisPool(RedisConfiguration(url: redisURL), maximumConnections: connections)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: chunk, connections: connections, window: window)
        let key: @Sendable (Int) -> String = { "dqlbench:chunk:\($0)" }
        var results: [String: [Double]] = [:]
        for _ in 0..<repeats {
            let mapped = try MappedFile(path: source)
            let clock = ContinuousClock()
            var loadError: (any Error)?
            let loadTime = clock.measure {
                do { try transfer.upload(mapped.buffer, key: key, pool: pool) } catch { loadError = error }
            }
            if let loadError { throw ValidationError("dql load failed: \(loadError)") }
            results["dql load", default: []].append(Double(size) / loadTime.seconds)
            let output = directory.appendingPathComponent("dql.out").path
            let descriptor = open(output, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            var fetchError: (any Error)?
            let fetchTime = clock.measure {
                do { try transfer.download(into: descriptor, totalSize: size, key: key, pool: pool) } catch {
                    fetchError = error
                }
            }
            close(descriptor)
            if let fetchError { throw ValidationError("dql fetch failed: \(fetchError)") }
            let fetched = try MappedFile(path: output)
            let identical = withExtendedLifetime(fetched) { fetched.sameBytes(as: mapped) }
            guard identical else { throw ValidationError("dql fetch returned different bytes") }
            results["dql fetch", default: []].append(Double(size) / fetchTime.seconds)
            try pool.withConnection { connection in
                for first in stride(from: 0, to: transfer.chunkCount(totalSize: size), by: 1000) {
                    let keys = (first..<min(first + 1000, transfer.chunkCount(totalSize: size))).map(key)
                    try connection.call(RedisCommand(["UNLINK"] + keys))
                }
            }
            unlink(output)

            let demo = try runCapturing(
                python,
                [
                    "\(repositoryRoot)/scripts/demo_speedtest.py", redisURL.description, source, String(chunk),
                    String(demoConnections), directory.appendingPathComponent("demo.out").path,
                ])
            guard let object = try JSONSerialization.jsonObject(with: Data(demo.utf8)) as? [String: Any],
                let load = object["loadSeconds"] as? Double, let fetch = object["fetchSeconds"] as? Double,
                object["verified"] as? Bool == true
            else { throw ValidationError("unexpected output from demo_speedtest.py: \(demo)") }
            results["demo load", default: []].append(Double(size) / load)
            results["demo fetch", default: []].append(Double(size) / fetch)
            unlink(directory.appendingPathComponent("demo.out").path)
        }
        let benchmark = try redisBenchmarkGetRate(redisURL, valueSize: chunk)
        func rate(_ name: String) -> Double { median(results[name] ?? []) / Double(1 << 20) }
        for name in ["dql load", "demo load", "dql fetch", "demo fetch"] {
            print("\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(format(rate(name))) MiB/s")
        }
        print(
            "redis-benchmark GET, \(chunkKiB) KiB values, 10 clients: \(format(benchmark / Double(1 << 20))) MiB/s of payload"
        )
        print("load:  dql / demo = \(format(rate("dql load") / rate("demo load")))x")
        print(
            "fetch: dql / demo = \(format(rate("dql fetch") / rate("demo fetch")))x; dql / redis-benchmark GET = \(format(rate("dql fetch") * Double(1 << 20) / benchmark * 100))%"
        )
        print(
            "(fetch here is transfer and write to disk; SHA-256 verification is the storage engine's, not measured here)"
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

    func writeRandomFile(_ path: String, size: Int) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot create \(path)") }
        defer { close(descriptor) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var block = [UInt64](repeating: 0, count: 1 << 20)
        var written = 0
        while written < size {
            for index in block.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                block[index] = state
            }
            let count = min(block.count * 8, size - written)
            try block.withUnsafeBytes { bytes in
                try writeAll(descriptor, UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
            }
            written += count
        }
    }

    func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let result = write(descriptor, base + done, bytes.count - done)
            guard result > 0 else { throw ValidationError("write failed") }
            done += result
        }
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

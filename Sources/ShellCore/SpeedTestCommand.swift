import ArgumentParser
import Crypto
import DQL
import DicomCore
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// `dql bench`: the demo's speed test as a command. Writes a random test object to the
/// connected server once per chunk size, fetches it to disk over every connection count,
/// checks every fetch against the object's SHA-256, prints MiB/s per cell, and removes what it
/// wrote, whatever happens.
struct SpeedTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure chunked load and fetch speed against the connected server.",
        discussion: """
            Sizes take B, KB, MB, GB (powers of 1024; KiB, MiB, GiB also accepted). The test object lives \
            under the key prefix dql-bench:<random>: and is deleted at the end, also after an error or Ctrl-C.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Size of the test object.")
    var size = "1GiB"

    @Option(help: "Chunk sizes to try, comma-separated.")
    var chunk = "64KB,128KB,512KB"

    @Option(help: "Connection counts to try, comma-separated.")
    var connections = "1,10,50"

    @Option(help: "Commands in flight per connection.")
    var window = 8

    @Option(help: "Directory for the test object and fetched copies (default: the temporary directory).")
    var workDirectory: String?

    func run() throws {
        let objectSize = try Self.parseSize(size, option: "--size")
        let chunkSizes = try chunk.split(separator: ",").map { try Self.parseSize(String($0), option: "--chunk") }
        let connectionCounts = try connections.split(separator: ",").map { text -> Int in
            guard let count = Int(text.trimmingCharacters(in: .whitespaces)), (1...512).contains(count) else {
                throw ValidationError("--connections: '\(text)' is not a count from 1 to 512")
            }
            return count
        }
        guard !chunkSizes.isEmpty, !connectionCounts.isEmpty else { throw ValidationError("nothing to measure") }
        try reportingErrors {
            try measure(objectSize: objectSize, chunkSizes: chunkSizes, connectionCounts: connectionCounts)
        }
    }

    private func measure(objectSize: Int, chunkSizes: [Int], connectionCounts: [Int]) throws {
        let configuration = try connection.configuration()
        let base = workDirectory.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let directory = base.appendingPathComponent("dql-bench-\(UUID().uuidString.prefix(8))")
        try createDirectories(directory.path)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("object").path
        try RandomFile.write(source, size: objectSize)
        let mapped = try MappedFile(path: source)
        let digest = withExtendedLifetime(mapped) { SHA256.hash(data: mapped.buffer) }
        // On a cluster the chunks spread over every master, as a load's do.
        let client = try RedisClient(configuration, connectionsPerServer: max(connectionCounts.max() ?? 1, 8))
        defer { client.close() }
        let prefix = "dql-bench:\(UUID().uuidString.prefix(8)):"
        Interrupt.install()
        printError(
            "test object: \(formatBytes(objectSize)) of random bytes; server \(configuration.url)"
                + (client.isCluster ? " (Redis Cluster, \(client.shards.count) masters)" : "") + "; window \(window)")

        var rows: [[String]] = []
        for chunkSize in chunkSizes {
            let keyPrefix = prefix + "\(chunkSize):"
            let key: @Sendable (Int) -> String = { keyPrefix + String($0) }
            let upload = ChunkTransfer(chunkSize: chunkSize, connections: 8, window: window)
            defer { Self.removeKeys(count: upload.chunkCount(totalSize: objectSize), key: key, client: client) }
            let clock = ContinuousClock()
            let loadTime = try clock.measure {
                try withExtendedLifetime(mapped) {
                    try upload.upload(mapped.buffer, key: key, client: client, isCancelled: { Interrupt.isPending })
                }
            }
            var row = [Self.binarySize(chunkSize), Self.rate(objectSize, loadTime)]
            for count in connectionCounts {
                let output = directory.appendingPathComponent("fetched").path
                let descriptor = open(output, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else { throw SessionError("cannot write \(output)") }
                let download = ChunkTransfer(chunkSize: chunkSize, connections: count, window: window)
                let fetchTime: Duration
                do {
                    defer { close(descriptor) }
                    fetchTime = try clock.measure {
                        try download.download(
                            into: descriptor, totalSize: objectSize, key: key, client: client,
                            isCancelled: { Interrupt.isPending })
                    }
                }
                let fetched = try MappedFile(path: output)
                let same = withExtendedLifetime(fetched) { SHA256.hash(data: fetched.buffer) == digest }
                unlink(output)
                guard same else {
                    throw SessionError("the fetch with \(count) connections returned different bytes")
                }
                row.append(Self.rate(objectSize, fetchTime))
                printError("chunk \(Self.binarySize(chunkSize)), \(count) connections: \(row.last ?? "") (verified)")
            }
            rows.append(row)
        }
        let table = TextTable(
            columns: ["chunk", "load MiB/s"] + connectionCounts.map { "fetch, \($0) conn. MiB/s" }, rows: rows,
            rightAligned: Set(1..<(connectionCounts.count + 2)))
        writeOutput(table.render(bold: false))
        printError("every fetch was written to disk and matched the object's SHA-256; test keys removed")
    }

    /// `64 KiB`, `1 MiB`: sizes as the options take them.
    static func binarySize(_ bytes: Int) -> String {
        for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size) \(unit)"
        }
        return "\(bytes) B"
    }

    static func rate(_ bytes: Int, _ time: Duration) -> String {
        String(format: "%.0f", Double(bytes) / max(time.seconds, 1e-9) / Double(1 << 20))
    }

    static func removeKeys(count: Int, key: (Int) -> String, client: RedisClient) {
        _ = try? client.unlink((0..<count).map(key))
    }

    /// `1GiB`, `512KB`, `64K`, `1.5MB`, `4096`: bytes, powers of 1024.
    static func parseSize(_ text: String, option: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count).lowercased()
        let units: [String: Int] = [
            "": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
            "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
        ]
        guard let number = Double(digits), let multiplier = units[unit], number > 0 else {
            throw ValidationError("\(option): '\(text)' is not a size such as 64KB or 1GiB")
        }
        return Int(number * Double(multiplier))
    }
}

/// A file of pseudo-random bytes (a fixed-seed generator: fast, and not compressible).
enum RandomFile {
    static func write(_ path: String, size: Int) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SessionError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var block = [UInt64](repeating: 0, count: 1 << 17)
        var offset = 0
        while offset < size {
            for index in block.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                block[index] = state ^ (state >> 29)
            }
            let count = min(block.count * 8, size - offset)
            try block.withUnsafeBytes { bytes in
                try writeFully(descriptor, UnsafeRawBufferPointer(rebasing: bytes[0..<count]), at: offset)
            }
            offset += count
        }
    }
}

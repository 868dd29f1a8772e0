import ArgumentParser
import DicomCore
import Foundation
import RedisIO

/// A large DICOM file in a scratch directory, loaded and fetched by the `dql` executable as a
/// user would: the part of the storage benchmarks that measures dql itself.
final class DQLTransfer {
    let dqlPath: String
    let directory: URL
    let source: String
    /// The file's SHA-256: dql's id for it.
    let id: String
    let fileSize: Int
    let prefix = "dqlbench-\(UUID().uuidString.prefix(8))"

    /// Writes `sizeMiB` MiB of random pixel data as a DICOM file under `workDirectory` (the
    /// system's temporary directory by default); `dql` is the executable, by default the one
    /// next to `dql-bench`.
    init(sizeMiB: Int, workDirectory: String?, dql: String?) throws {
        dqlPath = dqlExecutable(dql)
        let base = workDirectory.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        directory = base.appendingPathComponent("dql-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        source = directory.appendingPathComponent("large.dcm").path
        id = try LargeDicomFile.write(source, pixelBytes: sizeMiB << 20)
        fileSize = (try FileManager.default.attributesOfItem(atPath: source)[.size] as? Int) ?? (sizeMiB << 20)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Runs `dql -c statement` against `target` under this benchmark's prefix.
    func run(_ statement: String, on target: RedisURL) throws -> MeasuredRun {
        try MeasuredRun.run(
            [dqlPath, "-c", statement],
            environment: ["REDIS_URL": target.description, "DQL_PREFIX": prefix, "NO_COLOR": "1"],
            in: directory.path)
    }

    /// Loads the file, fetches it back (checking the copy's bytes), and deletes it.
    func loadAndFetch(
        on target: RedisURL, chunkKiB: Int, connections: Int
    ) throws -> (
        load: MeasuredRun, fetch: MeasuredRun
    ) {
        let load = try run("load '\(source)' chunk \(chunkKiB)KB connections \(connections)", on: target)
        let out = directory.appendingPathComponent("out").path
        let fetch = try run("set connections \(connections); fetch '\(id)' to '\(out)'", on: target)
        let fetched = try MappedFile(path: out + "/large.dcm")
        let original = try MappedFile(path: source)
        guard withExtendedLifetime((fetched, original), { fetched.sameBytes(as: original) }) else {
            throw ValidationError("dql fetched different bytes from \(target)")
        }
        try FileManager.default.removeItem(atPath: out)
        try remove(from: target)
        return (load, fetch)
    }

    /// Deletes the file from `target` (also after a failed run).
    func remove(from target: RedisURL) throws {
        _ = try run("delete where id = '\(id)'", on: target)
    }

    /// MiB/s of moving the file in `run`.
    func rate(_ run: MeasuredRun) -> Double { Double(fileSize) / run.seconds }
}

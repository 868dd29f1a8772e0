import ArgumentParser
import DicomCore
import Foundation
import RedisIO

/// The storage benchmark's cluster mode: the same large DICOM file loaded and fetched by the
/// `dql` executable on one server and on a Redis Cluster, alternating in one run.
struct ClusterBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract:
            "A large DICOM file loaded and fetched, or (--metadata) many small instances loaded and searched: one server vs a Redis Cluster (scripts/cluster.sh)."
    )

    @Option(help: "The single server (default: $REDIS_URL, else redis://127.0.0.1:6379).")
    var url: String?

    @Option(help: "Any node of the cluster.")
    var clusterURL = "redis://127.0.0.1:7100"

    @Option(name: .customLong("size-mib"), help: "Object size in MiB.")
    var sizeMiB = 1024

    @Option(name: .customLong("chunk-kib"), help: "Chunk size in KiB.")
    var chunkKiB = 512

    @Option(help: "dql connections (on the cluster: shared among the masters).")
    var connections = 8

    @Option(help: "Measurements on each, alternating.")
    var repeats = 3

    @Option(help: "Directory for the test object and fetched copies (default: the system temporary directory).")
    var workDirectory: String?

    @Option(help: "The dql executable (default: next to dql-bench).")
    var dql: String?

    @Flag(help: "Metadata instead of a large file: load, searches and counts of many small instances.")
    var metadata = false

    @Option(help: "Small instances in the metadata archive.")
    var instances = 50_000

    @Option(help: "Timed runs of each metadata query.")
    var runs = 100

    @Option(help: "Python with pydicom, for the generated archive (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    func run() throws {
        let single = try RedisURL.resolve(explicit: url, environment: ProcessInfo.processInfo.environment)
        let cluster = try RedisURL(parsing: clusterURL)
        if metadata {
            try ClusterMetadataBench(
                single: single, cluster: cluster, instances: instances, runs: runs, workDirectory: workDirectory,
                dql: dql, python: python
            ).run()
            return
        }
        let client = try RedisClient(RedisConfiguration(url: cluster))
        let shards = client.shards
        client.close()
        guard client.isCluster else { throw ValidationError("\(cluster) is not a Redis Cluster node") }
        let transfer = try DQLTransfer(sizeMiB: sizeMiB, workDirectory: workDirectory, dql: dql)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print(
            "object: \(sizeMiB) MiB in a DICOM file, chunks of \(chunkKiB) KiB, \(connections) dql connections; one server \(single) vs a cluster of \(shards.count) masters (\(shards.map(\.endpoint).joined(separator: ", "))); \(cores) cores"
        )
        let targets = [("one server", single), ("cluster", cluster)]
        defer { for (_, target) in targets { try? transfer.remove(from: target) } }

        var rates: [String: [Double]] = [:]
        for _ in 0..<repeats {
            for (name, target) in targets {
                let (load, fetch) = try transfer.loadAndFetch(on: target, chunkKiB: chunkKiB, connections: connections)
                rates["\(name) load", default: []].append(transfer.rate(load))
                rates["\(name) fetch", default: []].append(transfer.rate(fetch))
            }
        }
        func rate(_ name: String) -> Double { median(rates[name] ?? []) / Double(1 << 20) }
        for name in ["one server load", "cluster load", "one server fetch", "cluster fetch"] {
            print("\(name.padding(toLength: 17, withPad: " ", startingAt: 0)) \(format(rate(name))) MiB/s")
        }
        print("load:  cluster / one server = \(format(rate("cluster load") / rate("one server load")))x")
        print("fetch: cluster / one server = \(format(rate("cluster fetch") / rate("one server fetch")))x")
        print(
            "(medians of \(repeats); whole `dql -c` runs: load includes SHA-256 and the header, fetch writing to disk and the SHA-256 check; \(shards.count) redis-server processes share \(cores) cores here)"
        )
    }
}

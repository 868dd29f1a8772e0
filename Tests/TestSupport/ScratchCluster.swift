import Foundation
import RedisIO

/// A three-master Redis Cluster of a test's own, started with `scripts/cluster.sh`, for tests
/// that stop a shard: the shared test cluster must never be disturbed.
public final class ScratchCluster: Sendable {
    public let basePort: Int

    public init() throws {
        basePort = try Self.freeBasePort()
        try runProcess(Self.script, ["start", "--base-port", String(basePort)])
    }

    deinit {
        _ = try? runProcess(Self.script, ["stop", "--base-port", String(basePort)])
    }

    /// The first master; any node would do.
    public var url: RedisURL { RedisURL(host: "127.0.0.1", port: basePort) }

    /// The masters' ports.
    public var ports: [Int] { [basePort, basePort + 1, basePort + 2] }

    private static var script: String { repositoryRoot.appendingPathComponent("scripts/cluster.sh").path }

    /// A port N with N, N+1, N+2 and their cluster bus ports (+10000) all free.
    private static func freeBasePort() throws -> Int {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let base = Int.random(in: 22000..<29000, using: &generator)
            let ports = (base...(base + 2)).flatMap { [$0, $0 + 10000] }
            if ports.allSatisfy({ (try? LoopbackSocket(port: $0, listening: false)) != nil }) { return base }
        }
        throw TestSetupError("no free ports for a scratch cluster")
    }
}

import Foundation
import RedisIO

/// The Redis server the test command started for this run, and per-test key namespaces in it.
public enum TestRedis {
    /// The URL `scripts/test.sh` exported. Tests fail, never skip, without it: a missing
    /// server must not look like a pass.
    public static func url() throws -> RedisURL {
        guard let text = ProcessInfo.processInfo.environment["DQL_TEST_REDIS_URL"], !text.isEmpty else {
            throw TestSetupError(
                "DQL_TEST_REDIS_URL is not set: run the tests with scripts/test.sh, which starts a Redis for them")
        }
        return try RedisURL(parsing: text)
    }

    public static func configuration(commandTimeout: Double? = 30) throws -> RedisConfiguration {
        RedisConfiguration(url: try url(), connectTimeout: 5, commandTimeout: commandTimeout)
    }

    public static func connection() throws -> RedisConnection {
        try RedisConnection(configuration())
    }

    /// Any node of the three-master test cluster `scripts/test.sh` started.
    public static func clusterURL() throws -> RedisURL {
        guard let text = ProcessInfo.processInfo.environment["DQL_TEST_CLUSTER_URL"], !text.isEmpty else {
            throw TestSetupError("DQL_TEST_CLUSTER_URL is not set: run the tests with scripts/test.sh")
        }
        return try RedisURL(parsing: text)
    }

    public static func clusterConfiguration(commandTimeout: Double? = 30) throws -> RedisConfiguration {
        RedisConfiguration(url: try clusterURL(), connectTimeout: 5, commandTimeout: commandTimeout)
    }

    /// Removes a dql store: its index and every key under `prefix`, on a server or a cluster.
    public static func removeStore(prefix: String, url: RedisURL) {
        guard let client = try? RedisClient(RedisConfiguration(url: url)) else { return }
        defer { client.close() }
        // The one index, and a spread store's bucket indexes (FT._LIST on every master).
        var indexes = ["\(prefix):{m}:idx"]
        for pool in client.masterPools() {
            let listed = (try? pool.withConnection { try $0.call("FT._LIST") })?.array ?? []
            indexes += listed.compactMap(\.string).filter { $0.hasPrefix("\(prefix):idx:{") }
        }
        for index in indexes { _ = try? client.send(RedisCommand("FT.DROPINDEX", index), routedBy: index) }
        for pool in client.masterPools() {
            if let keys = try? pool.withConnection({ try scanKeys(prefix + ":*", $0) }) {
                _ = try? client.unlink(keys)
            }
        }
    }

    /// Every key of the server at the other end of `connection` matching `pattern` (SCAN).
    public static func scanKeys(_ pattern: String, _ connection: RedisConnection) throws -> [String] {
        try connection.keys(matching: pattern)
    }
}

/// A key prefix no other test uses; ``cleanup()`` deletes every key under it.
public final class TestNamespace: Sendable {
    public let prefix: String

    public init(_ label: String = "t") {
        prefix = "dqltest:\(label):\(UUID().uuidString.prefix(8)):"
    }

    public func key(_ name: String) -> String { prefix + name }

    /// Deletes all keys under the prefix (SCAN + UNLINK).
    public func cleanup() {
        guard let connection = try? TestRedis.connection() else { return }
        Self.delete(prefix: prefix, connection: connection)
    }

    /// Deletes every key that starts with `prefix`.
    public static func delete(prefix: String, connection: RedisConnection) {
        try? connection.scan(matching: prefix + "*") { keys in
            _ = try connection.send(RedisCommand(["UNLINK"] + keys))
        }
    }
}

/// A problem with the test environment rather than with the code under test.
public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

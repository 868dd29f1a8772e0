import Foundation
import RedisIO
import TestSupport
import Testing

/// Slot maps and key slots against the real three-master test cluster (`scripts/cluster.sh`,
/// started by `scripts/test.sh`; its URL in DQL_TEST_CLUSTER_URL).
@Suite struct ClusterSlotMapTests {
    static func clusterConnection() throws -> RedisConnection {
        guard let text = ProcessInfo.processInfo.environment["DQL_TEST_CLUSTER_URL"], !text.isEmpty else {
            throw TestSetupError("DQL_TEST_CLUSTER_URL is not set: run the tests with scripts/test.sh")
        }
        return try RedisConnection(url: try RedisURL(parsing: text))
    }

    @Test func keySlotsMatchTheServers() throws {
        let connection = try Self.clusterConnection()
        var random = SplitMix64(seed: 11)
        var keys = ["dql:{m}:idx", "dql:{m}:file:abc", "foo{}{bar}", "foo{{bar}}zap", "{}", "é{ü}"]
        keys += (0..<300).map { _ in "dql:chunk:\(random.next()):\(random.next() % 5000)" }
        let replies = try connection.pipeline(keys.map { RedisCommand("CLUSTER", "KEYSLOT", $0) })
        for (key, reply) in zip(keys, replies) {
            #expect(reply.integer.map(Int.init) == HashSlot(key: key).value, "\(key)")
        }
    }

    @Test func theSlotMapCoversEverySlotAndRoutesKeysToTheirOwner() throws {
        let connection = try Self.clusterConnection()
        #expect(try ClusterSlotMap.isCluster(connection))
        let map = try ClusterSlotMap.discover(connection)
        #expect(map.coversAllSlots)
        #expect(Set(map.ranges.map(\.endpoint)).count == 3)
        for key in ["dql:{m}:idx", "dql:chunk:x:0", "dql:chunk:x:1", "dql:chunk:x:2"] {
            let owner = try #require(map.range(for: HashSlot(key: key)))
            let direct = try RedisConnection(url: RedisURL(host: owner.host, port: owner.port))
            // The owner answers a read of the key; any other master redirects with MOVED.
            let reply = try direct.send(RedisCommand("EXISTS", key))
            #expect(reply.errorMessage == nil, "\(key) at \(owner.endpoint)")
            for other in map.ranges where other.endpoint != owner.endpoint {
                let elsewhere = try RedisConnection(url: RedisURL(host: other.host, port: other.port))
                let moved = try elsewhere.send(RedisCommand("EXISTS", key))
                #expect(moved.errorMessage?.hasPrefix("MOVED \(HashSlot(key: key).value) ") == true)
            }
        }
    }

    @Test func aSingleServerIsNotACluster() throws {
        #expect(try ClusterSlotMap.isCluster(try TestRedis.connection()) == false)
    }
}

import Foundation
import RedisIO
import TestSupport
import Testing

/// `RedisClient` against the real three-master test cluster and the single test server:
/// detection, routing, pipelines split per master, and redirect parsing.
@Suite struct RedisClientTests {
    @Test func theClientFindsTheClusterAndEveryKeysOwner() throws {
        let client = try RedisClient(TestRedis.clusterConfiguration())
        defer { client.close() }
        #expect(client.isCluster)
        #expect(client.shards.count == 3)
        #expect(client.shards.reduce(0) { $0 + $1.slotCount } == HashSlot.count)
        for index in 0..<30 {
            let key = "dqltest:route:\(index)"
            let reply = try client.pool(forKey: key).withConnection { try $0.send(RedisCommand("EXISTS", key)) }
            #expect(reply.errorMessage == nil, "\(key) was sent to a master that does not own it: \(reply)")
        }
        let single = try RedisClient(TestRedis.configuration())
        defer { single.close() }
        #expect(!single.isCluster)
        #expect(single.shards.map(\.endpoint) == [try TestRedis.url().endpoint])
    }

    @Test func pipelinesAreSplitPerShardAndRepliesComeBackInOrder() throws {
        let client = try RedisClient(TestRedis.clusterConfiguration())
        defer { client.close() }
        let prefix = "dqltest:pipeline:\(UUID().uuidString.prefix(8)):"
        let keys = (0..<300).map { prefix + String($0) }
        let owners = Set(try keys.map { try client.pool(forKey: $0).configuration.url.endpoint })
        #expect(owners.count == 3, "300 keys should land on every master")
        let set = try client.pipeline(keys.indices.map { RedisCommand("SET", keys[$0], String($0)) }, routedBy: keys)
        #expect(set.allSatisfy { $0 == .status("OK") })
        let got = try client.pipeline(keys.map { RedisCommand("GET", $0) }, routedBy: keys)
        #expect(got.map(\.string) == keys.indices.map { String($0) })
        #expect(try client.unlink(keys) == 300)
        #expect(try client.unlink(keys) == 0)
    }

    @Test(arguments: [
        ("MOVED 3999 127.0.0.1:6381", ClusterRedirect.moved(slot: HashSlot(3999)!, host: "127.0.0.1", port: 6381)),
        ("ASK 15627 10.0.0.7:7002", .ask(slot: HashSlot(15627)!, host: "10.0.0.7", port: 7002)),
        ("MOVED 12 :7100", .moved(slot: HashSlot(12)!, host: "192.0.2.1", port: 7100)),
        ("MOVED 12 [::1]:7100", .moved(slot: HashSlot(12)!, host: "::1", port: 7100)),
        ("TRYAGAIN Multiple keys request during rehashing of slot", .tryAgain),
    ])
    func redirectsAreParsed(message: String, expected: ClusterRedirect) {
        #expect(ClusterRedirect(errorMessage: message, fallbackHost: "192.0.2.1") == expected)
    }

    @Test(arguments: [
        "ERR unknown command", "MOVED", "MOVED x 127.0.0.1:1", "MOVED 16384 127.0.0.1:1", "ASK 1 127.0.0.1",
        "ASK 1 127.0.0.1:0", "CLUSTERDOWN The cluster is down",
    ])
    func otherErrorsAreNotRedirects(message: String) {
        #expect(ClusterRedirect(errorMessage: message) == nil)
    }
}

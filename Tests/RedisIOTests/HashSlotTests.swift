import RedisIO
import Testing

/// Key → slot as Redis Cluster computes it (values from the cluster specification and from
/// `CLUSTER KEYSLOT` on Redis 8.2).
@Suite struct HashSlotTests {
    @Test func matchesRedisClusterSlots() {
        #expect(HashSlot(key: "123456789").value == 0x31C3 % 16384)
        #expect(HashSlot(key: "foo").value == 12182)
        #expect(HashSlot(key: "bar").value == 5061)
        #expect(HashSlot(key: "").value == 0)
    }

    @Test func hashTagsPickTheSlot() {
        #expect(HashSlot(key: "{user1000}.following").value == HashSlot(key: "user1000").value)
        #expect(HashSlot(key: "dql:{m}:idx").value == HashSlot(key: "m").value)
        #expect(HashSlot(key: "dql:{m}:file:abc").value == HashSlot(key: "dql:{m}:idx").value)
        // An empty tag does not count: the whole key is hashed.
        #expect(HashSlot(key: "foo{}{bar}").value == HashSlot(key: Array("foo{}{bar}".utf8)).value)
        #expect(HashSlot(key: "foo{}{bar}").value != HashSlot(key: "bar").value)
        // Only the first `{` and the next `}`.
        #expect(HashSlot(key: "foo{{bar}}zap").value == HashSlot(key: "{bar").value)
        #expect(HashSlot(key: "foo{bar}{zap}").value == HashSlot(key: "bar").value)
    }

    @Test func chunksOfOneFileSpreadOverTheSlots() {
        let slots = Set((0..<2048).map { HashSlot(key: "dql:chunk:\(String(repeating: "a", count: 64)):\($0)") })
        #expect(slots.count > 1900, "chunk keys carry no tag, so they spread over the cluster")
    }
}

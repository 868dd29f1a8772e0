import RedisIO
import Testing

/// Key → slot as Redis Cluster computes it (values from the cluster specification and from
/// `CLUSTER KEYSLOT` on Redis 8.2).
@Suite struct HashSlotTests {
    @Test func matchesRedisClusterSlots() {
        #expect(HashSlot.of("123456789") == 0x31C3 % 16384)
        #expect(HashSlot.of("foo") == 12182)
        #expect(HashSlot.of("bar") == 5061)
        #expect(HashSlot.of("") == 0)
    }

    @Test func hashTagsPickTheSlot() {
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("user1000"))
        #expect(HashSlot.of("dql:{m}:idx") == HashSlot.of("m"))
        #expect(HashSlot.of("dql:{m}:file:abc") == HashSlot.of("dql:{m}:idx"))
        // An empty tag does not count: the whole key is hashed.
        #expect(HashSlot.of("foo{}{bar}") == HashSlot.of(Array("foo{}{bar}".utf8)))
        #expect(HashSlot.of("foo{}{bar}") != HashSlot.of("bar"))
        // Only the first `{` and the next `}`.
        #expect(HashSlot.of("foo{{bar}}zap") == HashSlot.of("{bar"))
        #expect(HashSlot.of("foo{bar}{zap}") == HashSlot.of("bar"))
    }

    @Test func chunksOfOneFileSpreadOverTheSlots() {
        let slots = Set((0..<2048).map { HashSlot.of("dql:chunk:\(String(repeating: "a", count: 64)):\($0)") })
        #expect(slots.count > 1900, "chunk keys carry no tag, so they spread over the cluster")
    }
}

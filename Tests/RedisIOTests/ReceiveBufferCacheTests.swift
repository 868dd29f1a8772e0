import Testing

@testable import RedisIO

/// Receive buffers are kept between downloads, within bounds.
@Suite struct ReceiveBufferCacheTests {
    @Test func aBufferGivenBackIsTakenAgainForASizeThatFits() {
        let cache = ReceiveBufferCache()
        let first = cache.take(size: 138_518)
        #expect(first.count >= 138_518)
        #expect(Int(bitPattern: first.baseAddress) % 4096 == 0, "page-aligned, for direct I/O")
        first.initializeMemory(as: UInt8.self, repeating: 7)
        cache.giveBack(first)
        let again = cache.take(size: 130_000)
        #expect(again.baseAddress == first.baseAddress, "the kept buffer is reused")
        // A buffer more than twice the size asked for is not used for a small chunk.
        let small = cache.take(size: 1000)
        #expect(small.baseAddress != again.baseAddress)
        cache.giveBack(small)
        cache.giveBack(again)
        #expect(cache.keptBytes == again.count + small.count)
    }

    @Test func largeBuffersAreFreedAndTheKeptBytesAreBounded() {
        let cache = ReceiveBufferCache(largestKept: 1 << 20, bytesKept: 4 << 20)
        let large = cache.take(size: (1 << 20) + 1)
        #expect(large.count > 1 << 20)
        cache.giveBack(large)
        #expect(cache.keptBytes == 0, "larger than largestKept: freed")
        // Many buffers given back at once: no more than the bound stay; the rest are freed.
        let taken = (0..<8).map { _ in cache.take(size: 1 << 20) }
        for buffer in taken { cache.giveBack(buffer) }
        #expect(cache.keptBytes == 4 << 20)
    }
}

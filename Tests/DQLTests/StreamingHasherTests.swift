import Crypto
import Foundation
import TestSupport
import Testing

@testable import DQL

/// The fetch's hash over chunks that arrive in any order, from many threads, with only a few
/// allowed to wait: always the SHA-256 of the whole, never a deadlock.
@Suite struct StreamingHasherTests {
    @Test func outOfOrderChunksFromManyThreadsHashToTheWhole() throws {
        let chunkSize = 1000
        var random = SplitMix64(seed: 3)
        let data = (0..<(37 * chunkSize + 123)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let expected = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        for limit in [1, 2, 8, 64] {
            let hasher = StreamingHasher(totalSize: data.count, chunkSize: chunkSize, limit: limit)
            let count = hasher.chunkCount
            // Every chunk from its own thread, started in reverse order.
            let group = DispatchGroup()
            for index in (0..<count).reversed() {
                group.enter()
                Thread {
                    let start = index * chunkSize
                    data[start..<min(start + chunkSize, data.count)].withUnsafeBytes { hasher.add(index, $0) }
                    group.leave()
                }.start()
            }
            group.wait()
            #expect(try hasher.finish() == expected, "limit \(limit)")
        }
    }

    @Test func anEmptyFileHashesToTheEmptyDigest() throws {
        let hasher = StreamingHasher(totalSize: 0, chunkSize: 512)
        #expect(try hasher.finish() == SHA256.hash(data: Data()).map { String(format: "%02x", $0) }.joined())
    }
}

import Crypto
import Foundation
import RedisIO
import Synchronization
import TestSupport
import Testing

@testable import DQL

/// The fetch's hash over lent chunks that arrive in any order, from many threads: always the
/// SHA-256 of the whole, every loan released exactly once, and nothing held after a failure.
@Suite struct StreamingHasherTests {
    /// A file of one chunk (or none) is hashed where it arrives, without a thread of its own.
    @Test func oneChunkOrNoneIsHashedInPlace() throws {
        let empty = StreamingHasher(totalSize: 0, chunkSize: 1000, check: .sha256(""))
        #expect(try empty.finish() == SHA256.hash(data: Data()).map { String(format: "%02x", $0) }.joined())
        empty.cancel()
        let data = Array("one chunk".utf8)
        let released = Mutex(0)
        let hasher = StreamingHasher(totalSize: data.count, chunkSize: 1000, check: .sha256(""))
        data.withUnsafeBytes { bytes in
            hasher.add(ChunkLoan(index: 0, bytes: bytes) { released.withLock { $0 += 1 } })
        }
        #expect(try hasher.finish() == SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined())
        #expect(released.withLock { $0 } == 1)
        hasher.cancel()
        // Abandoned before its chunk came: finish says so instead of waiting.
        let abandoned = StreamingHasher(totalSize: data.count, chunkSize: 1000, check: .sha256(""))
        abandoned.abandon()
        abandoned.cancel()
        #expect(throws: (any Error).self) { try abandoned.finish() }
    }

    @Test func outOfOrderChunksFromManyThreadsHashToTheWhole() throws {
        let chunkSize = 1000
        var random = SplitMix64(seed: 3)
        let data = (0..<(37 * chunkSize + 123)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let sha256 = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        let xxh3 = data.withUnsafeBytes { ContentCheck.xxh3(of: $0) }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 8)
        defer { storage.deallocate() }
        storage.copyBytes(from: data)
        nonisolated(unsafe) let bytes = UnsafeRawBufferPointer(storage)
        for round in 0..<4 {
            // Either kind of check (see ContentCheck): the digest is the one of the whole file.
            let check: ContentCheck = round % 2 == 0 ? .sha256(sha256) : .xxh3(xxh3)
            let expected = check.expected
            let hasher = StreamingHasher(totalSize: data.count, chunkSize: chunkSize, check: check)
            let count = hasher.chunkCount
            let releases = Mutex([Int](repeating: 0, count: count))
            // Every chunk from its own thread, started in reverse order.
            let group = DispatchGroup()
            for index in (0..<count).reversed() {
                group.enter()
                Thread {
                    let start = index * chunkSize
                    let chunk = UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + chunkSize, bytes.count)])
                    hasher.add(ChunkLoan(index: index, bytes: chunk) { releases.withLock { $0[index] += 1 } })
                    group.leave()
                }.start()
            }
            group.wait()
            #expect(try hasher.finish() == expected, "round \(round)")
            #expect(releases.withLock { $0 } == [Int](repeating: 1, count: count), "each loan released once")
            hasher.cancel()
        }
    }

    @Test func abandoningReleasesWhatIsHeldAndWhatComesLater() throws {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 100, alignment: 8)
        defer { bytes.deallocate() }
        bytes.initializeMemory(as: UInt8.self, repeating: 7)
        let hasher = StreamingHasher(totalSize: 400, chunkSize: 100, check: .sha256(""))
        let released = Mutex<Set<Int>>([])
        func loan(_ index: Int) -> ChunkLoan {
            ChunkLoan(index: index, bytes: UnsafeRawBufferPointer(bytes)) { _ = released.withLock { $0.insert(index) } }
        }
        // Chunk 0 never comes (its transfer failed): 2 and 3 wait for it.
        hasher.add(loan(2))
        hasher.add(loan(3))
        #expect(released.withLock { $0 }.isEmpty)
        hasher.abandon()
        #expect(released.withLock { $0 } == [2, 3])
        hasher.add(loan(1))
        #expect(released.withLock { $0 } == [1, 2, 3])
        #expect(throws: CancellationError.self) { try hasher.finish() }
        hasher.cancel()
    }

    @Test func anEmptyFileHashesToTheEmptyDigest() throws {
        let hasher = StreamingHasher(totalSize: 0, chunkSize: 512, check: .sha256(""))
        #expect(try hasher.finish() == SHA256.hash(data: Data()).map { String(format: "%02x", $0) }.joined())
    }
}

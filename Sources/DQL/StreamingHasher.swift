import Crypto
import Foundation

/// SHA-256 of a file whose chunks arrive in any order, computed alongside the transfer: each
/// chunk is copied aside as it arrives and a thread of its own hashes them in order. A chunk
/// more than `limit` places ahead of the one being hashed waits to be copied, so memory stays
/// bounded whatever the file size (and the chunk the hash needs next is never held back).
final class StreamingHasher: @unchecked Sendable {
    private let condition = NSCondition()
    private var parked: [Int: [UInt8]] = [:]
    private var stopped = false
    /// The chunk the hash needs next.
    private var next = 0
    private var digest: Result<String, Error>?
    let chunkCount: Int
    let limit: Int

    init(totalSize: Int, chunkSize: Int, limit: Int = 64) {
        chunkCount = totalSize == 0 ? 0 : (totalSize + chunkSize - 1) / chunkSize
        self.limit = max(limit, 1)
        let thread = Thread { [self] in run() }
        thread.name = "dql.hash"
        thread.start()
    }

    /// Chunk `index` has arrived with these bytes (valid only during the call).
    func add(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        let copy = Array(bytes)
        condition.withLock {
            while index >= next + limit && !stopped { condition.wait() }
            parked[index] = copy
            condition.broadcast()
        }
    }

    /// The hex digest, once every chunk has been added.
    func finish() throws -> String {
        try condition.withLock {
            while digest == nil { condition.wait() }
            return try digest?.get() ?? ""
        }
    }

    /// Stops the thread (the transfer failed).
    func cancel() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    private func run() {
        var hasher = SHA256()
        var outcome: Result<String, Error> = .failure(CancellationError())
        for index in 0..<chunkCount {
            let chunk: [UInt8]? = condition.withLock {
                while parked[index] == nil && !stopped { condition.wait() }
                let chunk = parked.removeValue(forKey: index)
                next = index + 1
                condition.broadcast()
                return chunk
            }
            guard let chunk else { break }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            if index == chunkCount - 1 { outcome = .success(hasher.finalize().map { Loader.hex($0) }.joined()) }
        }
        if chunkCount == 0 { outcome = .success(hasher.finalize().map { Loader.hex($0) }.joined()) }
        condition.withLock {
            digest = outcome
            condition.broadcast()
        }
    }
}

import Crypto
import Foundation

/// SHA-256 of a file whose chunks arrive in any order, computed alongside the transfer: each
/// chunk is copied into one of a few reusable buffers as it arrives and a thread of its own
/// hashes them in order. A chunk more than `limit` places ahead of the one being hashed waits
/// for its copy, so memory stays at `limit` chunks whatever the file size (and the chunk the
/// hash needs next is never held back).
final class StreamingHasher: @unchecked Sendable {
    private let condition = NSCondition()
    private var parked: [Int: UnsafeMutableRawBufferPointer] = [:]
    /// Buffers ready for reuse; each is `chunkSize` bytes.
    private var spare: [UnsafeMutableRawBufferPointer] = []
    private var allocated: [UnsafeMutableRawBufferPointer] = []
    private var stopped = false
    /// The chunk the hash needs next.
    private var next = 0
    private var digest: Result<String, Error>?
    let chunkCount: Int
    let chunkSize: Int
    let totalSize: Int
    let limit: Int

    init(totalSize: Int, chunkSize: Int, limit: Int = 64) {
        self.totalSize = totalSize
        self.chunkSize = max(chunkSize, 1)
        chunkCount = totalSize == 0 ? 0 : (totalSize + chunkSize - 1) / chunkSize
        self.limit = max(limit, 1)
        let thread = Thread { [self] in run() }
        thread.name = "dql.hash"
        thread.start()
    }

    deinit {
        for buffer in allocated { buffer.deallocate() }
    }

    /// Chunk `index` has arrived with these bytes (valid only during the call).
    func add(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        let buffer: UnsafeMutableRawBufferPointer? = condition.withLock {
            while index >= next + limit && !stopped { condition.wait() }
            if stopped { return nil }
            if let reused = spare.popLast() { return reused }
            let fresh = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
            allocated.append(fresh)
            return fresh
        }
        guard let buffer, let target = buffer.baseAddress, let source = bytes.baseAddress else { return }
        memcpy(target, source, min(bytes.count, buffer.count))
        condition.withLock {
            parked[index] = buffer
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

    /// Stops the thread (the transfer failed) and waits for it.
    func cancel() {
        condition.withLock {
            stopped = true
            condition.broadcast()
            while digest == nil { condition.wait() }
        }
    }

    /// Stops waiting for chunks, without waiting for the thread: callers of ``add(_:_:)``
    /// blocked on a chunk that will never come (its transfer failed) return at once.
    func abandon() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    private func run() {
        var hasher = SHA256()
        var complete = true
        for index in 0..<chunkCount {
            let buffer: UnsafeMutableRawBufferPointer? = condition.withLock {
                while parked[index] == nil && !stopped { condition.wait() }
                return parked.removeValue(forKey: index)
            }
            guard let buffer else {
                complete = false
                break
            }
            let length = min(chunkSize, totalSize - index * chunkSize)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
            condition.withLock {
                spare.append(buffer)
                next = index + 1
                condition.broadcast()
            }
        }
        let outcome: Result<String, Error> =
            complete ? .success(hasher.finalize().map { Loader.hex($0) }.joined()) : .failure(CancellationError())
        condition.withLock {
            digest = outcome
            condition.broadcast()
        }
    }
}

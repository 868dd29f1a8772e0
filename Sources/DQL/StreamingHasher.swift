import Crypto
import Foundation
import RedisIO

/// The digest a file is checked against (``ContentCheck``), of a file whose chunks arrive in any order, computed alongside the transfer without
/// copying a byte: the transfer lends each chunk's receive buffer (``ChunkLoan``) and a thread
/// of its own hashes the loans in order, releasing each when done. Memory stays at the
/// transfer's own buffers whatever the file size; a connection whose buffers are all lent
/// waits, and the one holding the chunk the hash needs next never does (the transfer claims
/// chunks in order).
final class StreamingHasher: @unchecked Sendable {
    private let condition = NSCondition()
    private var parked: [Int: ChunkLoan] = [:]
    private var stopped = false
    private var digest: Result<String, Error>?
    let chunkCount: Int
    let chunkSize: Int
    let totalSize: Int
    let check: ContentCheck

    init(totalSize: Int, chunkSize: Int, check: ContentCheck) {
        self.check = check
        self.totalSize = totalSize
        self.chunkSize = max(chunkSize, 1)
        chunkCount = totalSize == 0 ? 0 : (totalSize + self.chunkSize - 1) / self.chunkSize
        // A file of one chunk (most of an archive's) is hashed where it arrives: a thread per
        // file cost more than the hash.
        if chunkCount == 0 { digest = .success(check.hasher().finish()) }
        guard chunkCount > 1 else { return }
        let thread = Thread { [self] in run() }
        thread.name = "dql.hash"
        thread.start()
    }

    /// Takes chunk `loan.index`; the loan is released once hashed (at once if the hash has
    /// stopped).
    func add(_ loan: ChunkLoan) {
        if chunkCount <= 1 {
            let length = min(chunkSize, totalSize, loan.bytes.count)
            let hasher = check.hasher()
            hasher.update(UnsafeRawBufferPointer(rebasing: loan.bytes[0..<length]))
            let hex = hasher.finish()
            loan.release()
            condition.withLock {
                if digest == nil { digest = stopped ? .failure(CancellationError()) : .success(hex) }
                condition.broadcast()
            }
            return
        }
        let accepted = condition.withLock {
            guard !stopped else { return false }
            parked[loan.index] = loan
            condition.broadcast()
            return true
        }
        if !accepted { loan.release() }
    }

    /// The digest, written as ``ContentCheck/expected`` writes it, once every chunk has been added.
    func finish() throws -> String {
        try condition.withLock {
            while digest == nil { condition.wait() }
            return try digest?.get() ?? ""
        }
    }

    /// Stops the thread (the transfer failed, or is over) and waits for it; every loan it
    /// held is released.
    func cancel() {
        abandon()
        condition.withLock {
            if chunkCount <= 1 && digest == nil { digest = .failure(CancellationError()) }
            while digest == nil { condition.wait() }
        }
    }

    /// Stops waiting for chunks, without waiting for the thread: the loans parked here are
    /// released, so the connections waiting for their buffers (and the transfer's end) go on,
    /// and later loans are released on arrival.
    func abandon() {
        let dropped = condition.withLock {
            stopped = true
            condition.broadcast()
            defer { parked = [:] }
            return Array(parked.values)
        }
        dropped.forEach { $0.release() }
    }

    private func run() {
        let hasher = check.hasher()
        var complete = true
        for index in 0..<chunkCount {
            let loan: ChunkLoan? = condition.withLock {
                while parked[index] == nil && !stopped { condition.wait() }
                return parked.removeValue(forKey: index)
            }
            guard let loan else {
                complete = false
                break
            }
            let length = min(chunkSize, totalSize - index * chunkSize, loan.bytes.count)
            hasher.update(UnsafeRawBufferPointer(rebasing: loan.bytes[0..<length]))
            loan.release()
        }
        let outcome: Result<String, Error> =
            complete ? .success(hasher.finish()) : .failure(CancellationError())
        condition.withLock {
            digest = outcome
            condition.broadcast()
        }
    }
}

import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// SHA-256 of a file that is being written chunk by chunk in any order: a thread of its own
/// hashes chunk after chunk as soon as each is on disk, reading it back from the page cache
/// into one chunk-sized buffer. The hash runs alongside the transfer instead of after it, and
/// memory stays at one chunk however large the file.
final class StreamingHasher: @unchecked Sendable {
    private let descriptor: Int32
    private let totalSize: Int
    private let chunkSize: Int
    private let condition = NSCondition()
    private var written: [Bool]
    private var stopped = false
    private var result: Result<String, Error>?

    init(descriptor: Int32, totalSize: Int, chunkSize: Int) {
        self.descriptor = descriptor
        self.totalSize = totalSize
        self.chunkSize = chunkSize
        written = [Bool](repeating: false, count: totalSize == 0 ? 0 : (totalSize + chunkSize - 1) / chunkSize)
        let thread = Thread { [self] in run() }
        thread.name = "dql.hash"
        thread.start()
    }

    /// Chunk `index` is completely written.
    func chunkWritten(_ index: Int) {
        condition.withLock {
            written[index] = true
            condition.broadcast()
        }
    }

    /// Waits for the hash of the whole file (every chunk must have been reported).
    func finish() throws -> String {
        try condition.withLock {
            while result == nil { condition.wait() }
            return try result?.get() ?? ""
        }
    }

    /// Stops hashing (the transfer failed); returns once the thread is done.
    func cancel() {
        condition.withLock {
            stopped = true
            condition.broadcast()
            while result == nil { condition.wait() }
        }
    }

    private func run() {
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunkSize, 1), alignment: 4096)
        defer { buffer.deallocate() }
        var outcome: Result<String, Error>
        do {
            for index in written.indices {
                let ready = condition.withLock {
                    while !written[index] && !stopped { condition.wait() }
                    return !stopped
                }
                guard ready else { throw CancellationError() }
                let length = min(chunkSize, totalSize - index * chunkSize)
                var done = 0
                while done < length {
                    let count = pread(
                        descriptor, buffer.baseAddress! + done, length - done, off_t(index * chunkSize + done))
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else {
                        throw FetchError.cannotWrite(
                            path: "(temporary file)", reason: "cannot read back: \(String(cString: strerror(errno)))")
                    }
                    done += count
                }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
            }
            outcome = .success(hasher.finalize().map { Loader.hex($0) }.joined())
        } catch {
            outcome = .failure(error)
        }
        condition.withLock {
            result = outcome
            condition.broadcast()
        }
    }
}

import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// Conveniences over the loan-based download, for tests only (the library's file writing
/// lives in DQL).
extension ChunkTransfer {
    /// Reads chunks into the file open as `descriptor`, each at its offset.
    func download(
        into descriptor: Int32, totalSize: Int, key: @escaping @Sendable (Int) -> String, client: RedisClient,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws {
        let chunkSize = chunkSize
        try download(totalSize: totalSize, key: key, client: client, progress: progress) { index, bytes in
            var written = 0
            while written < bytes.count {
                guard let base = bytes.baseAddress else { return }
                let result = pwrite(
                    descriptor, base + written, bytes.count - written, off_t(index * chunkSize + written))
                guard result > 0 else { throw TestWriteError(reason: String(cString: strerror(errno))) }
                written += result
            }
        }
    }

    /// Hands each chunk to `deliver` with its index, valid only during the call.
    func download(
        totalSize: Int, key: @escaping @Sendable (Int) -> String, client: RedisClient,
        progress: (@Sendable (Int) -> Void)? = nil, isCancelled: @escaping @Sendable () -> Bool = { false },
        abandon: (@Sendable () -> Void)? = nil,
        deliver: @escaping @Sendable (Int, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try download(
            totalSize: totalSize, key: key, client: client, buffersPerConnection: 1, progress: progress,
            isCancelled: isCancelled, abandon: abandon
        ) { loan in
            defer { loan.release() }
            try deliver(loan.index, loan.bytes)
        }
    }
}

/// A delivery that failed on purpose, or a write that failed.
struct TestWriteError: Error, Equatable {
    var reason: String
}

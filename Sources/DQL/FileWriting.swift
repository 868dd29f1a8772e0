import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// Writes `bytes` at `offset` of the open file `descriptor` (pwrite until all is written); a
/// failure names the offset and the reason.
public func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
    var written = 0
    while written < bytes.count {
        guard let base = bytes.baseAddress else { return }
        let result = pwrite(descriptor, base + written, bytes.count - written, off_t(offset + written))
        if result < 0 {
            if errno == EINTR { continue }
            throw FileWriteError(offset: offset + written, reason: systemMessage(errno))
        }
        written += result
    }
}

/// A write to a file that failed.
public struct FileWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public var description: String { "cannot write at offset \(offset): \(reason)" }
}

extension ChunkTransfer {
    /// Reads chunks straight into the file open as `descriptor`, each written at its offset.
    /// The file is not truncated or renamed here; the caller owns it. Returns the time spent
    /// writing, summed over the connections.
    @discardableResult
    public func download(
        into descriptor: Int32, totalSize: Int, key: @escaping @Sendable (Int) -> String, client: RedisClient,
        progress: (@Sendable (Int) -> Void)? = nil, isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws -> Duration {
        let chunkSize = chunkSize
        return try download(
            totalSize: totalSize, key: key, client: client, buffersPerConnection: 1, progress: progress,
            isCancelled: isCancelled
        ) { loan in
            defer { loan.release() }
            try writeFully(descriptor, loan.bytes, at: loan.index * chunkSize)
        }
    }
}

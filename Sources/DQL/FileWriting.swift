import DicomCore
import Foundation
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

/// Creates `path` and its parents as `mkdir -p` does; a part that exists but is not a
/// directory, or cannot be created, is an error that says which and why ("permission denied",
/// "it is a regular file, not a directory").
public func createDirectories(_ path: String) throws {
    var status = stat()
    if stat(path, &status) == 0 {
        guard (status.st_mode & S_IFMT) == S_IFDIR else {
            throw FetchError.cannotWrite(path: path, reason: "it is \(fileKind(status.st_mode)), not a directory")
        }
        return
    }
    // Not there (create it), or a part of the way is a file (the parent says which).
    guard errno == ENOENT || errno == ENOTDIR else {
        throw FetchError.cannotWrite(path: path, reason: systemMessage(errno))
    }
    let parent = PathText.parent(path)
    if !parent.isEmpty, parent != path { try createDirectories(parent) }
    guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
        throw FetchError.cannotWrite(path: path, reason: systemMessage(errno))
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

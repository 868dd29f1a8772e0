#if canImport(Glibc)
    import Glibc
#endif

/// A file mapped read-only into memory: reading the header of a 2 GB file touches only the
/// pages the parser looks at.
final class MappedFile {
    let buffer: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?

    init(path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw DicomError(.io, offset: 0, "cannot open: \(String(cString: strerror(errno)))", path: path)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw DicomError(.io, offset: 0, "cannot stat: \(String(cString: strerror(errno)))", path: path)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw DicomError(.io, offset: 0, "not a regular file", path: path)
        }
        let size = Int(status.st_size)
        if size == 0 {
            mapping = nil
            buffer = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), pointer != MAP_FAILED else {
            throw DicomError(.io, offset: 0, "cannot map: \(String(cString: strerror(errno)))", path: path)
        }
        mapping = pointer
        buffer = UnsafeRawBufferPointer(start: pointer, count: size)
    }

    deinit {
        if let mapping { munmap(mapping, buffer.count) }
    }
}

/// Reads the first bytes of a file with one pread into a pooled buffer (no fresh pages to
/// fault in per file) and lends them to `body`.
func withFilePrefix<Result>(
    path: String, maximum: Int, _ body: (UnsafeRawBufferPointer, _ fileSize: Int) throws -> Result
) throws -> Result {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw DicomError(.io, offset: 0, "cannot open: \(String(cString: strerror(errno)))", path: path)
    }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
        throw DicomError(.io, offset: 0, "not a regular file", path: path)
    }
    let size = Int(status.st_size)
    let wanted = min(size, maximum)
    let buffer = PrefixBufferPool.shared.checkOut(capacity: maximum)
    defer { PrefixBufferPool.shared.checkIn(buffer) }
    var filled = 0
    while filled < wanted {
        let got = pread(descriptor, buffer.baseAddress.map { $0 + filled }, wanted - filled, off_t(filled))
        if got <= 0 { break }
        filled += got
    }
    guard filled == wanted else {
        throw DicomError(.io, offset: filled, "cannot read: \(String(cString: strerror(errno)))", path: path)
    }
    return try body(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), size)
}

/// Reusable read buffers for header prefixes.
final class PrefixBufferPool: @unchecked Sendable {
    static let shared = PrefixBufferPool()
    private let lock = Mutex()
    private var idle: [UnsafeMutableRawBufferPointer] = []

    func checkOut(capacity: Int) -> UnsafeMutableRawBufferPointer {
        if let buffer = lock.withLock({ idle.popLast() }), buffer.count >= capacity { return buffer }
        return UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    func checkIn(_ buffer: UnsafeMutableRawBufferPointer) {
        let kept = lock.withLock {
            guard idle.count < 8 else { return false }
            idle.append(buffer)
            return true
        }
        if !kept { buffer.deallocate() }
    }
}

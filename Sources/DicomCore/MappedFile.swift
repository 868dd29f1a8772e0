import CMappingGuard

#if canImport(Glibc)
    import Glibc
#endif

/// A file mapped read-only into memory (immutable while mapped): reading the header of a 2 GB
/// file touches only the pages the parser looks at. A small file is read into memory instead
/// (see ``readLimit``).
///
/// A file that shrinks while it is mapped cannot crash the reader: the pages past its new end
/// read as zeros (CMappingGuard), and ``changedSinceOpened`` says the file changed, so whatever
/// was read from it is discarded. A small file cut while it is read is treated the same way.
public final class MappedFile: @unchecked Sendable {
    public let buffer: UnsafeRawBufferPointer
    /// The file as it was when mapped.
    public let identity: FileIdentity
    public let path: String
    private let mapping: UnsafeMutableRawPointer?
    private let guardSlot: Int32
    /// The memory a small file was read into.
    private let copy: UnsafeMutableRawPointer?
    /// A small file ended before its size while it was read.
    private let cutWhileRead: Bool

    /// Files of up to this many bytes are read, not mapped: for a tiny instance, mapping,
    /// faulting its page in and unmapping cost more than copying it (an eighth of the time of
    /// loading 1.8 KB files, measured).
    public static let readLimit = 64 << 10

    public init(path: String) throws {
        self.path = path
        // Non-blocking, so a FIFO or a device never stalls the open; it is refused below.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw DicomError(.io, offset: 0, "cannot open: \(systemMessage(errno))", path: path)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw DicomError(.io, offset: 0, "cannot stat: \(systemMessage(errno))", path: path)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw DicomError(.io, offset: 0, "not a regular file (\(fileKind(status.st_mode)))", path: path)
        }
        identity = FileIdentity(status)
        let size = Int(status.st_size)
        if size == 0 {
            // Files in /proc say they are empty and are not: their bytes are made as they are
            // read, so they have no size to map or check. Said, rather than read as 0 bytes.
            var probe: UInt8 = 0
            let probed = pread(descriptor, &probe, 1, 0)
            if probed < 0 {
                throw DicomError(.io, offset: 0, "cannot read: \(systemMessage(errno))", path: path)
            }
            if probed > 0 {
                throw DicomError(
                    .io, offset: 0,
                    "the file reports a size of 0 but has bytes (as files in /proc do): it cannot be read as a file of a known size",
                    path: path)
            }
            mapping = nil
            copy = nil
            cutWhileRead = false
            buffer = UnsafeRawBufferPointer(start: nil, count: 0)
            guardSlot = -1
            return
        }
        if size <= Self.readLimit {
            let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            var filled = 0
            while filled < size {
                let got = pread(descriptor, memory + filled, size - filled, off_t(filled))
                if got < 0 && errno == EINTR { continue }
                if got < 0 {
                    let code = errno
                    memory.deallocate()
                    throw DicomError(.io, offset: filled, "cannot read: \(systemMessage(code))", path: path)
                }
                if got == 0 { break }
                filled += got
            }
            // Past the end of a file cut while it was read: zeros, as a mapping reads them.
            if filled < size { (memory + filled).initializeMemory(as: UInt8.self, repeating: 0, count: size - filled) }
            mapping = nil
            copy = memory
            cutWhileRead = filled < size
            buffer = UnsafeRawBufferPointer(start: memory, count: size)
            guardSlot = -1
            return
        }
        copy = nil
        cutWhileRead = false
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), pointer != MAP_FAILED else {
            throw DicomError(.io, offset: 0, "cannot map: \(systemMessage(errno))", path: path)
        }
        mapping = pointer
        buffer = UnsafeRawBufferPointer(start: pointer, count: size)
        guardSlot = dql_guard_mapping(pointer, size)
    }

    deinit {
        dql_unguard_mapping(guardSlot)
        if let mapping { munmap(mapping, buffer.count) }
        copy?.deallocate()
    }

    /// Whether the file is no longer what was mapped: it shrank under a read, or its size,
    /// modification time, or identity differ now. Bytes read from a changed file must not be
    /// trusted.
    public var changedSinceOpened: Bool {
        if cutWhileRead || dql_mapping_was_cut(guardSlot) != 0 { return true }
        var status = stat()
        guard stat(path, &status) == 0 else { return true }
        return FileIdentity(status) != identity
    }
}

/// Which file, of what size, as last modified: enough to tell that a file changed.
public struct FileIdentity: Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modified: Int64
    public var changed: Int64

    public init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        modified = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
        changed = Int64(status.st_ctim.tv_sec) * 1_000_000_000 + Int64(status.st_ctim.tv_nsec)
    }
}

/// `strerror` of an errno value, lower-cased as dql's messages are: "permission denied".
public func systemMessage(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    return text.prefix(1).lowercased() + text.dropFirst()
}

/// What kind of file a mode says, for messages: "a directory", "a FIFO", ….
public func fileKind(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFREG: "a regular file"
    case S_IFDIR: "a directory"
    case S_IFIFO: "a FIFO"
    case S_IFSOCK: "a socket"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFLNK: "a symbolic link"
    default: "an unknown kind of file"
    }
}

/// Lends growing prefixes of a file to `body`, read with pread into a pooled buffer (no fresh
/// pages to fault in per file): first `steps[0]` bytes, then more up to each further step,
/// until `body` returns a result or the steps run out.
func withFilePrefixes<Result>(
    path: String, steps: [Int], _ body: (UnsafeRawBufferPointer, _ fileSize: Int) throws -> Result?
) throws -> Result? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else {
        throw DicomError(.io, offset: 0, "cannot open: \(systemMessage(errno))", path: path)
    }
    defer { close(descriptor) }
    let capacity = steps.max() ?? 0
    // The size comes from fstat only when the first read fills its step: a shorter read has
    // already reached the end of the file.
    var knownSize: Int?
    func fileSize() throws -> Int {
        if let knownSize { return knownSize }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw DicomError(.io, offset: 0, "not a regular file (\(fileKind(status.st_mode)))", path: path)
        }
        knownSize = Int(status.st_size)
        return Int(status.st_size)
    }
    let buffer = PrefixBufferPool.shared.checkOut(capacity: capacity)
    defer { PrefixBufferPool.shared.checkIn(buffer) }
    var filled = 0
    for step in steps {
        let wanted = min(knownSize ?? step, step)
        while filled < wanted {
            let got = pread(descriptor, buffer.baseAddress.map { $0 + filled }, wanted - filled, off_t(filled))
            if got < 0 {
                if errno == EISDIR { throw DicomError(.io, offset: 0, "not a regular file", path: path) }
                throw DicomError(.io, offset: filled, "cannot read: \(systemMessage(errno))", path: path)
            }
            if got == 0 { break }
            filled += got
        }
        if filled < wanted && knownSize == nil { knownSize = filled }
        let size = try fileSize()
        if let result = try body(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), size) { return result }
        if filled >= size { break }
    }
    return nil
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

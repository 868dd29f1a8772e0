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

import DicomCore
import DicomImage
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// `preview`: a stored file's bytes read back from its chunks, one frame decoded and windowed
/// (DicomImage), and the picture written as a PNG when the statement says `to FILE.png`.
extension Executor {
    /// Files larger than this are not read whole for a preview.
    static let previewLimit = 512 << 20

    func preview(_ lookup: FileLookup, _ preview: PreviewStatement, context: StatementContext) throws -> Preview {
        let id = try resolve(lookup, context: context)
        let key = layout.documentKey(id: id)
        let facts = try context.profile.measure(.query) {
            try client.call(RedisCommand("JSON.GET", key, "$.size", "$.chunkSize", "$.name"), routedBy: key).string
        }
        guard let facts, let object = try? JSONSerialization.jsonObject(with: Data(facts.utf8)) as? [String: [Any]],
            let size = object["$.size"]?.first as? Int, let chunkSize = object["$.chunkSize"]?.first as? Int,
            chunkSize > 0
        else { throw ExecutionError(.noFileWithId(id), at: lookup.range) }
        let name = object["$.name"]?.first as? String ?? id
        func failure(_ text: String) -> ExecutionError {
            ExecutionError(.statementFailed("cannot preview \(name): \(text)"), at: lookup.range)
        }
        guard size <= Self.previewLimit else {
            throw failure("preview reads the whole file, and it holds \(size) bytes (more than 512 MiB)")
        }
        // The picture of damaged chunks would be a wrong picture: the bytes are checked against
        // the file's SHA-256 as a fetch checks them.
        let bytes: [UInt8]
        let digest: String
        do {
            (bytes, digest) = try readWhole(id: id, size: size, chunkSize: chunkSize, context: context)
        } catch let error as ChunkTransferError where error != .cancelled {
            throw failure("\(error); \(FetchError.mending(id: id))")
        }
        guard digest == id else {
            throw failure("its stored chunks do not match its SHA-256 (checksum mismatch): they are damaged")
        }
        if context.isCancelled() { throw ChunkTransferError.cancelled }
        do {
            let image = try StoredImage(bytes)
            let frame = try image.frame(preview.frame - 1, in: bytes, isCancelled: context.isCancelled)
            var window: Window?
            switch preview.window {
            case .values(let center, let width): window = Window(center: center, width: width)
            case .preset(let name): window = Window.preset(named: name)
            case nil: window = nil
            }
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            var picture = Picture.render(frame, image.description, window: window)
            if let size = preview.size { picture = picture.fitted(to: size) }
            var written: String?
            if let file = preview.file {
                let path = try PathExpansion.expand(file)
                try Self.writeAtomically(try PNGEncoder.encode(picture), to: path) {
                    failure("cannot write \(path): \($0)")
                }
                written = path
            }
            return Preview(
                name: name, id: id, frame: preview.frame, frames: image.description.frames, picture: picture,
                window: image.description.samplesPerPixel == 1
                    ? Picture.window(for: frame, image.description, given: window) : nil,
                file: written)
        } catch let error as ImageError {
            // Ctrl-C while a decoder ran: the statement was cancelled, not the file damaged.
            if error == .cancelled || context.isCancelled() { throw ChunkTransferError.cancelled }
            throw failure(error.message)
        }
    }

    /// Writes `bytes` to a new file beside `path`, then renames it over `path`: a reader never
    /// sees half a picture, and a failure leaves nothing behind.
    static func writeAtomically(
        _ bytes: [UInt8], to path: String, failure: (String) -> ExecutionError
    ) throws {
        // Only a regular file (or none yet) is replaced: a device, a FIFO, a directory or a
        // symbolic link named here is refused, never swapped for a picture.
        if path.hasSuffix("/") { throw failure("it names a directory; name the PNG file") }
        var existing = stat()
        var mode: mode_t = 0o644
        if lstat(path, &existing) == 0 {
            switch existing.st_mode & S_IFMT {
            case S_IFREG: mode = existing.st_mode & 0o7777
            case S_IFDIR: throw failure("is a directory")
            case S_IFLNK: throw failure("is a symbolic link; name the file itself")
            default: throw failure("is not a regular file (a device or a FIFO)")
            }
        }
        let temporary = path + ".dql-\(UUID().uuidString.prefix(8)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure(systemMessage(errno)) }
        _ = fchmod(descriptor, mode)
        do {
            defer { close(descriptor) }
            try bytes.withUnsafeBytes { try writeFully(descriptor, $0, at: 0) }
        } catch {
            unlink(temporary)
            throw failure("\(error)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = systemMessage(errno)
            unlink(temporary)
            throw failure(reason)
        }
    }

    /// The bytes of a stored file and their SHA-256, read by the chunk transfer engine a fetch
    /// uses (parallel connections, Ctrl-C between chunks), hashed as they arrive.
    private func readWhole(
        id: String, size: Int, chunkSize: Int, context: StatementContext
    ) throws -> (bytes: [UInt8], digest: String) {
        var bytes = [UInt8](repeating: 0, count: size)
        let memory = Fetcher.memoryPlan(chunkSize: chunkSize, size: size, connections: settings.connections)
        let transfer = ChunkTransfer(chunkSize: chunkSize, connections: memory.connections, window: settings.window)
        let hasher = StreamingHasher(totalSize: size, chunkSize: chunkSize)
        defer { hasher.cancel() }
        let storage = layout
        try bytes.withUnsafeMutableBytes { buffer in
            let destination = SharedBuffer(bytes: buffer)
            try context.profile.measure(.transfer) {
                try transfer.download(
                    totalSize: size, key: { storage.chunkKey(id: id, index: $0) }, client: client,
                    buffersPerConnection: memory.buffers, isCancelled: context.isCancelled,
                    abandon: { hasher.abandon() }
                ) { loan in
                    // Each chunk to its own place: the workers never write the same bytes.
                    UnsafeMutableRawBufferPointer(rebasing: destination.bytes[(loan.index * chunkSize)...])
                        .copyMemory(from: loan.bytes)
                    hasher.add(loan)
                }
            }
        }
        let digest = try context.profile.measure(.checksum) { try hasher.finish() }
        return (bytes, digest)
    }
}

/// A buffer the transfer's workers fill, each chunk at its own offset.
private struct SharedBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
}

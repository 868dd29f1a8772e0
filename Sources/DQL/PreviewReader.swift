import DicomCore
import DicomImage
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// `preview`: one frame of a stored file read back from its chunks, decoded and windowed
/// (DicomImage), and the picture written as a PNG when the statement says `to FILE.png`.
/// A file is read whole and checked against its SHA-256, except a native frame of a file over
/// 32 MiB, which is read alone (the header, then the frame's bytes).
extension Executor {
    /// Files larger than this are not read whole for a preview of compressed pixel data.
    static let previewLimit = 512 << 20
    /// A native frame of a file larger than this is read alone. A smaller file is read whole,
    /// so that its bytes are checked against its SHA-256 before they are shown.
    static let frameAloneThreshold = 32 << 20

    func preview(_ lookup: FileLookup, _ preview: PreviewStatement, context: StatementContext) throws -> Preview {
        let id = try resolve(lookup, context: context)
        var shown: Preview
        do {
            shown = try picture(ofFile: id, preview.picture, at: lookup.range, context: context)
        } catch let failure as PictureFailure {
            throw failure.executionError
        }
        if let file = preview.file {
            let path = try Self.pngPath(file)
            try Self.writeAtomically(try PNGEncoder.encode(shown.picture), to: path) {
                PictureFailure(name: shown.name, reason: "cannot write \(path): \($0)", range: lookup.range)
                    .executionError
            }
            shown.file = path
        }
        return shown
    }

    /// The picture of a frame of file `id`, windowed and fitted to the size asked for (not
    /// written anywhere). A file that cannot be shown is a ``PictureFailure`` saying why.
    func picture(
        ofFile id: String, _ options: PictureOptions, at range: SourceRange? = nil, context: StatementContext
    ) throws -> Preview {
        let key = try layout.documentKeys(ids: [id], client: client)[id] ?? layout.documentKey(id: id)
        let facts = try context.profile.measure(.query) {
            try client.call(
                RedisCommand("JSON.GET", key, "$.size", "$.chunkSize", "$.name", "$.headerLength", "$.xxh3"),
                routedBy: key
            ).string
        }
        guard let facts, let object = try? JSONSerialization.jsonObject(with: Data(facts.utf8)) as? [String: [Any]],
            let size = object["$.size"]?.first as? Int, let chunkSize = object["$.chunkSize"]?.first as? Int,
            chunkSize > 0
        else { throw ExecutionError(.noFileWithId(id), at: range) }
        let name = object["$.name"]?.first as? String ?? id
        func failure(_ text: String) -> PictureFailure { PictureFailure(name: name, reason: text, range: range) }
        var window: Window?
        switch options.window {
        case .values(let center, let width): window = Window(center: center, width: width)
        case .preset(let name): window = Window.preset(named: name)
        case nil: window = nil
        }
        func shown(_ frame: Frame, _ image: StoredImage) -> Preview {
            var picture = Picture.render(frame, image.description, window: window)
            if let size = options.size { picture = picture.fitted(to: size) }
            return Preview(
                name: name, id: id, frame: options.frame, frames: image.description.frames, picture: picture,
                window: image.description.samplesPerPixel == 1 && image.description.palette == nil
                    ? Picture.window(for: frame, image.description, given: window) : nil,
                file: nil)
        }
        // A native frame of a large file is read alone: the header, then the frame's own bytes.
        if size > Self.frameAloneThreshold, let headerLength = object["$.headerLength"]?.first as? Int,
            headerLength > 0, headerLength <= size
        {
            let header = try context.profile.measure(.transfer) {
                try StoredRange.read(
                    [StoredRange(id: id, chunkSize: chunkSize, range: 0..<headerLength, described: name)],
                    layout: layout, client: client)[0]
            }
            do {
                let image = try StoredImage(header: header)
                if let frameRange = try image.frameRange(options.frame - 1) {
                    guard frameRange.upperBound <= size else {
                        throw failure(
                            "frame \(options.frame) lies at bytes \(frameRange.lowerBound)–\(frameRange.upperBound), past the end of the file (\(size) bytes)"
                        )
                    }
                    let bytes = try context.profile.measure(.transfer) {
                        try StoredRange.read(
                            [StoredRange(id: id, chunkSize: chunkSize, range: frameRange, described: name)],
                            layout: layout, client: client)[0]
                    }
                    if context.isCancelled() { throw ChunkTransferError.cancelled }
                    var preview = shown(try image.frame(options.frame - 1, from: bytes), image)
                    preview.readAlone = true
                    return preview
                }
            } catch let error as ImageError {
                throw failure(error.message)
            }
        }
        guard size <= Self.previewLimit else {
            throw failure(
                "its pixel data is compressed, so preview reads the whole file, and it holds \(size) bytes (more than 512 MiB)"
            )
        }
        // The picture of damaged chunks would be a wrong picture: the bytes are checked as a
        // fetch checks them.
        let check = ContentCheck(id: id, xxh3: ContentCheck.recordedXXH3(jsonValue: object["$.xxh3"]?.first))
        let bytes: [UInt8]
        let digest: String
        do {
            (bytes, digest) = try readWhole(id: id, size: size, chunkSize: chunkSize, check: check, context: context)
        } catch let error as ChunkTransferError where error != .cancelled {
            throw failure("\(error); \(FetchError.mending(id: id))")
        }
        guard digest == check.expected else {
            throw failure("its stored chunks do not match its checksum (checksum mismatch): they are damaged")
        }
        if context.isCancelled() { throw ChunkTransferError.cancelled }
        do {
            let image = try StoredImage(bytes)
            let frame = try image.frame(options.frame - 1, in: bytes, isCancelled: context.isCancelled)
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            return shown(frame, image)
        } catch let error as ImageError {
            // Ctrl-C while a decoder ran: the statement was cancelled, not the file damaged.
            if error == .cancelled || context.isCancelled() { throw ChunkTransferError.cancelled }
            throw failure(error.message)
        }
    }

    /// The path a picture is written to: a PNG file, named so (a name ending in `.jpg` would
    /// hold a PNG nobody expects).
    static func pngPath(_ file: PathLiteral) throws -> String {
        let path = try PathExpansion.expand(file)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if let dot = name.lastIndex(of: "."), name[name.index(after: dot)...].lowercased() != "png" {
            throw ExecutionError(
                .statementFailed("\(path): pictures are written as PNG; name the file .png"), at: file.range)
        }
        return path
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

    /// The bytes of a stored file and their digest of `check`'s kind, read by the chunk transfer
    /// engine a fetch uses (parallel connections, Ctrl-C between chunks), hashed as they arrive.
    private func readWhole(
        id: String, size: Int, chunkSize: Int, check: ContentCheck, context: StatementContext
    ) throws -> (bytes: [UInt8], digest: String) {
        var bytes = [UInt8](repeating: 0, count: size)
        let memory = Fetcher.memoryPlan(chunkSize: chunkSize, size: size, connections: settings.connections)
        let transfer = ChunkTransfer(chunkSize: chunkSize, connections: memory.connections, window: settings.window)
        let hasher = StreamingHasher(totalSize: size, chunkSize: chunkSize, check: check)
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

/// Why a stored file's picture cannot be made: `preview` says "cannot preview NAME: REASON",
/// a contact sheet crosses the file's cell out and says the reason beside its name.
struct PictureFailure: Error {
    var name: String
    var reason: String
    var range: SourceRange?

    var executionError: ExecutionError {
        ExecutionError(.statementFailed("cannot preview \(name): \(reason)"), at: range)
    }
}

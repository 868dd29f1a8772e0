import Crypto
import DQL
import DicomCore
import Hummingbird
import NIOCore

/// Instances streamed as one `multipart/related` body from their chunks: a window of chunks
/// read while the one before it is written, so memory stays at two windows whatever the
/// size, and each file checked (``StoredFile/check``) as it goes (a damaged file ends the
/// response early instead of arriving as wrong bytes).
struct RetrieveStream: Sendable {
    var files: [StoredFile]
    var pool: ExecutorPool
    var layout = MultipartLayout.random()
    /// Bytes read per request to Redis (a whole number of chunks).
    var windowBytes = 4 << 20
    /// Whether each file is checked before its last bytes go out.
    var verify = true

    func partContentType(_ file: StoredFile) -> String {
        "application/dicom; transfer-syntax=\(file.servedTransferSyntax)"
    }

    /// The body's length, known before a byte is read.
    var contentLength: Int {
        files.reduce(layout.closing.count) { total, file in
            total + layout.partHead(contentType: partContentType(file), length: file.size).count + file.size
                + MultipartLayout.partTail.count
        }
    }

    var contentType: String { layout.contentType(partType: "application/dicom") }

    /// A part of a file read in one batch (all of it, for a file smaller than a batch).
    struct Piece: Sendable {
        var file: Int
        var range: Range<Int>
    }

    /// The files' bytes in batches of about ``windowBytes``: many small files share a batch
    /// (one round trip for all of them), a large file spans several (a whole number of chunks
    /// each).
    func batches() -> [[Piece]] {
        var batches: [[Piece]] = []
        var current: [Piece] = []
        var currentBytes = 0
        for (index, file) in files.enumerated() {
            let window = max(1, windowBytes / file.chunkSize) * file.chunkSize
            var start = 0
            repeat {
                let end = min(file.size, start + window)
                current.append(Piece(file: index, range: start..<end))
                currentBytes += end - start
                if currentBytes >= windowBytes {
                    batches.append(current)
                    current = []
                    currentBytes = 0
                }
                start = end
            } while start < file.size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    /// The multipart body, starting with the batch ``opening(multipart:with:)`` read.
    func body(first: Batch?) -> ResponseBody {
        ResponseBody(contentLength: contentLength) { writer in
            try await stream(multipart: true, first: first) { try await writer.write($0) }
            try await writer.finish(nil)
        }
    }

    /// One file bare (`application/dicom`), for a client that asked for a single instance so.
    func singleBody(_ file: StoredFile, first: Batch?) -> ResponseBody {
        let only = RetrieveStream(files: [file], pool: pool, layout: layout, windowBytes: windowBytes, verify: verify)
        return ResponseBody(contentLength: file.size) { writer in
            try await only.stream(multipart: false, first: first) { try await writer.write($0) }
            try await writer.finish(nil)
        }
    }

    /// A batch read into one buffer, framing and all (each chunk is read from the socket into
    /// its place between the part headers, and the batch goes out in one write), with whether
    /// each file the batch holds whole passed its check; and where each piece starts in it.
    func read(_ batch: [Piece], multipart: Bool, with executor: Executor) throws -> Batch {
        var offsets: [Int] = []
        var total = 0
        let heads = batch.map { piece in
            multipart && piece.range.lowerBound == 0
                ? layout.partHead(contentType: partContentType(files[piece.file]), length: files[piece.file].size)
                : []
        }
        let tail = multipart ? MultipartLayout.partTail : []
        for (piece, head) in zip(batch, heads) {
            total += head.count
            offsets.append(total)
            total += piece.range.count
            if piece.range.upperBound == files[piece.file].size { total += tail.count }
        }
        var buffer = ByteBufferAllocator().buffer(capacity: total)
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { destination in
            for ((piece, head), offset) in zip(zip(batch, heads), offsets) {
                head.withUnsafeBytes {
                    UnsafeMutableRawBufferPointer(rebasing: destination[(offset - head.count)..<offset])
                        .copyMemory(from: $0)
                }
                if piece.range.upperBound == files[piece.file].size {
                    let end = offset + piece.range.count
                    tail.withUnsafeBytes {
                        UnsafeMutableRawBufferPointer(rebasing: destination[end..<(end + tail.count)])
                            .copyMemory(from: $0)
                    }
                }
            }
            try executor.read(batch.map { (files[$0.file], $0.range) }, into: destination, at: offsets)
            return total
        }
        let checked = zip(batch, offsets).map { piece, offset -> Bool? in
            guard verify, piece.range.count == files[piece.file].size else { return nil }
            return buffer.withUnsafeReadableBytes {
                files[piece.file].check.matches(
                    UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + piece.range.count)]))
            }
        }
        return (buffer, checked, offsets)
    }

    /// A batch as read: its buffer, whether each file it holds whole passed its check, and
    /// where each piece starts in the buffer.
    typealias Batch = (buffer: ByteBuffer, checked: [Bool?], offsets: [Int])

    /// What is read before the response begins, on the thread that found the files (without
    /// another trip through the executor pool): the whole body when it is one batch (a small
    /// instance), else the first batch. Either way every file held whole is checked first, so
    /// a damaged file there is an error answer with its reason, not a 200 cut short.
    func opening(multipart: Bool, with executor: Executor) throws -> (whole: ByteBuffer?, first: Batch?) {
        let batches = self.batches()
        guard let batch = batches.first else { return (nil, nil) }
        var first = try read(batch, multipart: multipart, with: executor)
        for (piece, passed) in zip(batch, first.checked) where verify && passed == false {
            throw Self.damaged(files[piece.file])
        }
        guard batches.count == 1 else { return (nil, first) }
        if multipart { first.buffer.writeBytes(layout.closing) }
        return (first.buffer, nil)
    }

    static func damaged(_ file: StoredFile) -> DICOMwebError {
        var error = DICOMwebError(
            .internalServerError,
            "the stored chunks of \(file.name) do not match its checksum: they are damaged (\(FetchError.mending(id: file.id)))"
        )
        error.damagedFile = file.id
        return error
    }

    /// Batches read while earlier ones are written (``inFlight`` at a time), each file checked
    /// before its last bytes go out: a file held whole by a batch is hashed on the thread that
    /// read it.
    /// `first`, when given, is the first batch already read (and its whole files checked).
    func stream(multipart: Bool, first: Batch? = nil, write: (ByteBuffer) async throws -> Void) async throws {
        let batches = self.batches()
        let pool = self.pool
        let verify = self.verify
        let stream = self
        var pending: [Task<Batch, any Error>] = []
        var next = 0
        if let first {
            pending.append(Task { first })
            next = 1
        }
        func launch() {
            while pending.count < Self.inFlight && next < batches.count {
                let batch = batches[next]
                next += 1
                pending.append(
                    Task {
                        try await pool.run { executor in try stream.read(batch, multipart: multipart, with: executor) }
                    })
            }
        }
        defer { pending.forEach { $0.cancel() } }
        launch()
        var hasher: ContentHasher?
        var batchIndex = 0
        while !pending.isEmpty {
            let task = pending.removeFirst()
            launch()
            let (buffer, checked, offsets) = try await task.value
            for (piece, (pieceChecked, offset)) in zip(batches[batchIndex], zip(checked, offsets)) where verify {
                let file = files[piece.file]
                let last = piece.range.upperBound == file.size
                var passed = pieceChecked
                if passed == nil {
                    // A file spread over several batches: hashed piece by piece, here.
                    if piece.range.lowerBound == 0 { hasher = file.check.hasher() }
                    buffer.withUnsafeReadableBytes {
                        hasher?.update(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + piece.range.count)]))
                    }
                    if last { passed = hasher?.finish() == file.check.expected }
                }
                if last && passed != true { throw Self.damaged(file) }
            }
            try await write(buffer)
            batchIndex += 1
        }
        if multipart { try await write(ByteBuffer(bytes: layout.closing)) }
    }

    /// Batches read at once, ahead of the one being written.
    static let inFlight = 3
}

extension StoredFile {
    /// The transfer syntax the file is served as: the one it records, or Explicit VR Little
    /// Endian for a file that records none (its header was read so, see the retrieve route).
    var servedTransferSyntax: String { transferSyntax ?? TransferSyntax.explicitVRLittleEndian.uid }
}

import Crypto
import DQL
import Hummingbird
import NIOCore

/// Instances streamed as one `multipart/related` body from their chunks: a window of chunks
/// read while the one before it is written, so memory stays at two windows whatever the
/// size, and each file checked against its SHA-256 as it goes (a damaged file ends the
/// response early instead of arriving as wrong bytes).
struct RetrieveStream: Sendable {
    var files: [StoredFile]
    var pool: ExecutorPool
    var layout = MultipartLayout.random()
    /// Bytes read per request to Redis (a whole number of chunks).
    var windowBytes = 4 << 20

    func partContentType(_ file: StoredFile) -> String {
        "application/dicom; transfer-syntax=\(file.transferSyntax ?? "1.2.840.10008.1.2.1")"
    }

    /// The body's length, known before a byte is read.
    var contentLength: Int {
        files.reduce(layout.closing.count) { total, file in
            total + layout.partHead(contentType: partContentType(file), length: file.size).count + file.size
                + MultipartLayout.partTail.count
        }
    }

    var contentType: String { layout.contentType(partType: "application/dicom") }

    /// The multipart body.
    func body() -> ResponseBody {
        ResponseBody(contentLength: contentLength) { writer in
            for file in files {
                try await writer.write(
                    ByteBuffer(bytes: layout.partHead(contentType: partContentType(file), length: file.size)))
                try await stream(file) { try await writer.write($0) }
                try await writer.write(ByteBuffer(bytes: MultipartLayout.partTail))
            }
            try await writer.write(ByteBuffer(bytes: layout.closing))
            try await writer.finish(nil)
        }
    }

    /// One file bare (`application/dicom`), for a client that asked for a single instance so.
    func singleBody(_ file: StoredFile) -> ResponseBody {
        ResponseBody(contentLength: file.size) { writer in
            try await stream(file) { try await writer.write($0) }
            try await writer.finish(nil)
        }
    }

    /// The file's bytes in windows, the next window read while this one is written.
    func stream(_ file: StoredFile, write: (ByteBuffer) async throws -> Void) async throws {
        let window = max(1, windowBytes / file.chunkSize) * file.chunkSize
        let ranges = stride(from: 0, to: file.size, by: window).map { $0..<min(file.size, $0 + window) }
        var hasher = SHA256()
        var pending: Task<[UInt8], any Error>?
        func read(_ range: Range<Int>) -> Task<[UInt8], any Error> {
            let pool = self.pool
            return Task { try await pool.run { try $0.bytes(of: file, in: range) } }
        }
        pending = ranges.first.map(read)
        for (position, _) in ranges.enumerated() {
            guard let task = pending else { break }
            let bytes = try await task.value
            pending = position + 1 < ranges.count ? read(ranges[position + 1]) : nil
            hasher.update(data: bytes)
            if position + 1 == ranges.count {
                let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                guard digest == file.id else {
                    throw DICOMwebError(
                        .internalServerError,
                        "the stored chunks of \(file.name) do not match its SHA-256: they are damaged (loading the file again mends it)"
                    )
                }
            }
            try await write(ByteBuffer(bytes: bytes))
        }
    }
}

import DicomCore
import NIOCore

/// `multipart/related` bodies (RFC 2387) as DICOMweb writes them: each part its headers, a
/// blank line and its bytes, parts separated by `--boundary`, closed by `--boundary--`.
struct MultipartLayout: Sendable {
    var boundary: String

    /// A boundary no part's bytes are likely to hold (a random 128-bit token, new for each
    /// answer, so nobody can store a file that holds a later answer's boundary).
    static func random() -> MultipartLayout {
        var generator = SystemRandomNumberGenerator()
        return MultipartLayout(
            boundary: "dql-" + HexDigits.lowercase(generator.next()) + HexDigits.lowercase(generator.next()))
    }

    /// `multipart/related; type="…"; boundary=…` for parts of `partType`.
    func contentType(partType: String, transferSyntax: String? = nil) -> String {
        var value = "multipart/related; type=\"\(partType)\""
        if let transferSyntax { value += "; transfer-syntax=\(transferSyntax)" }
        return value + "; boundary=\(boundary)"
    }

    /// What comes before a part's bytes.
    func partHead(contentType: String, length: Int, location: String? = nil) -> [UInt8] {
        var head = "--\(boundary)\r\nContent-Type: \(contentType)\r\nContent-Length: \(length)\r\n"
        if let location { head += "Content-Location: \(location)\r\n" }
        return Array((head + "\r\n").utf8)
    }

    /// What follows a part's bytes.
    static let partTail: [UInt8] = Array("\r\n".utf8)

    /// What closes the body.
    var closing: [UInt8] { Array("--\(boundary)--\r\n".utf8) }

    /// A whole body of parts held in memory, written straight into the buffer the response
    /// sends (each part's bytes copied once).
    func body(_ parts: [(contentType: String, bytes: [UInt8])]) -> ByteBuffer {
        let heads = parts.map { partHead(contentType: $0.contentType, length: $0.bytes.count) }
        let closing = closing
        var body = ByteBufferAllocator().buffer(
            capacity: zip(parts, heads).reduce(closing.count) {
                $0 + $1.1.count + $1.0.bytes.count + Self.partTail.count
            })
        for (part, head) in zip(parts, heads) {
            body.writeBytes(head)
            body.writeBytes(part.bytes)
            body.writeBytes(Self.partTail)
        }
        body.writeBytes(closing)
        return body
    }
}

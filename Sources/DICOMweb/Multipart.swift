import Foundation

/// `multipart/related` bodies (RFC 2387) as DICOMweb writes them: each part its headers, a
/// blank line and its bytes, parts separated by `--boundary`, closed by `--boundary--`.
struct MultipartLayout: Sendable {
    var boundary: String

    /// A boundary no part's bytes are likely to hold (a random 128-bit token).
    static func random() -> MultipartLayout {
        MultipartLayout(boundary: "dql-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
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

    /// A whole body of parts held in memory.
    func body(_ parts: [(contentType: String, bytes: [UInt8])]) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(parts.reduce(closing.count) { $0 + $1.bytes.count + 128 })
        for part in parts {
            body += partHead(contentType: part.contentType, length: part.bytes.count)
            body += part.bytes
            body += Self.partTail
        }
        return body + closing
    }
}

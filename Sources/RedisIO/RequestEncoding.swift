/// RESP request framing (`*N` then `$len` bulk strings), shared by ``RedisConnection``'s
/// output buffer and ``RawChannel``'s header so commands are framed one way.
enum RequestEncoding {
    /// Appends `*count\r\n`.
    static func appendArrayHeader(_ count: Int, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "*"))
        appendDecimal(count, to: &output)
        output += crlf
    }

    /// Appends `$length\r\n` (the bytes and their CRLF follow separately).
    static func appendBulkHeader(length: Int, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "$"))
        appendDecimal(length, to: &output)
        output += crlf
    }

    /// Appends one whole bulk string.
    static func appendBulk(_ bytes: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        appendBulkHeader(length: bytes.count, to: &output)
        output.append(contentsOf: bytes)
        output += crlf
    }

    /// Appends one whole bulk string.
    static func appendBulk(_ bytes: [UInt8], to output: inout [UInt8]) {
        bytes.withUnsafeBytes { appendBulk($0, to: &output) }
    }

    static let crlf: [UInt8] = [13, 10]

    private static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        output += Array(String(value).utf8)
    }
}

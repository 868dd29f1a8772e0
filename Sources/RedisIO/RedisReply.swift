/// One RESP2 reply, copied out of hiredis into Swift values.
///
/// Bulk strings are bytes, not text: Redis values are binary. For large values read in place
/// with ``RedisConnection/withNextReply(_:)`` instead.
public enum RedisReply: Sendable, Equatable, CustomStringConvertible {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case array([RedisReply])
    case null

    /// The reply as text: bulk strings decoded as UTF-8 (nil if invalid), status lines, and
    /// integers in decimal.
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self)
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The bytes of a bulk string or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): bytes
        case .status(let text): Array(text.utf8)
        default: nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer (as `FT.SEARCH` counts
    /// and `INFO` fields come).
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk, .status: string.flatMap { Int64($0) }
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// An array of alternating names and values (`[name, value, …]`, as FT.INFO, FT.CONFIG
    /// GET, aggregate rows and MODULE LIST entries come), as pairs in order; nil for any other
    /// reply. An odd element at the end is left out.
    public var pairs: [(name: String, value: RedisReply)]? {
        guard let elements = array else { return nil }
        return stride(from: 0, to: elements.count - 1, by: 2).compactMap { position in
            elements[position].string.map { ($0, elements[position + 1]) }
        }
    }

    /// ``pairs`` with text values, as a dictionary (the first of a repeated name wins).
    public var textPairs: [String: String]? {
        pairs.map { pairs in
            var result: [String: String] = [:]
            for (name, value) in pairs where result[name] == nil { result[name] = value.string }
            return result
        }
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { message } else { nil }
    }

    /// The reply itself, or a thrown ``RedisError`` of kind `.server` if it is an error reply.
    public func checked(endpoint: String = "") throws -> RedisReply {
        if case .error(let message) = self { throw RedisError(.server, endpoint: endpoint, message) }
        return self
    }

    /// A short rendering in redis-cli's style, for logs and error messages.
    public var description: String {
        switch self {
        case .status(let text): return text
        case .error(let message): return "(error) \(message)"
        case .integer(let value): return "(integer) \(value)"
        case .null: return "(nil)"
        case .bulk(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) { return "\"\(text)\"" }
            return "<\(bytes.count) bytes>"
        case .array(let elements):
            return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// A `multipart/related` body read as it arrives (RFC 2046 §5.1): parts begin, their bytes
/// come in pieces, parts end. Memory is one piece plus a boundary's length, whatever the size
/// of a part. A body that does not follow the grammar is an error saying where it went wrong.
struct MultipartReader {
    enum Event: Equatable {
        /// A part begins, with its headers (names lower-cased).
        case began([String: String])
        case bytes([UInt8])
        case ended
    }

    private enum State {
        /// Before the first boundary (a preamble is skipped).
        case preamble
        /// Just after a boundary: `--` closes the body, a line break begins a part.
        case afterBoundary
        case headers
        case body
        /// After the closing boundary: the rest is ignored.
        case epilogue
    }

    /// Longest header block of a part.
    static let headerLimit = 16 << 10

    private let delimiter: [UInt8]
    private var state = State.preamble
    private var buffer: [UInt8] = Array("\r\n".utf8)
    /// Bytes consumed before `buffer`, for messages.
    private var consumed = -2
    private(set) var parts = 0

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// Whether the closing boundary has been read.
    var isComplete: Bool { if case .epilogue = state { true } else { false } }

    /// The events the next bytes of the body complete.
    mutating func feed(_ bytes: some Collection<UInt8>) throws(MultipartError) -> [Event] {
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while true {
            switch state {
            case .preamble:
                guard let found = find(delimiter) else {
                    drop(max(0, buffer.count - delimiter.count + 1))
                    if consumed > Self.headerLimit {
                        throw MultipartError(
                            "the body holds no boundary line (--\(boundaryText)) in its first \(Self.headerLimit) bytes"
                        )
                    }
                    return events
                }
                drop(found + delimiter.count)
                state = .afterBoundary
            case .afterBoundary:
                guard buffer.count >= 2 else { return events }
                if buffer[0] == UInt8(ascii: "-") && buffer[1] == UInt8(ascii: "-") {
                    state = .epilogue
                    continue
                }
                // Transport padding (spaces, tabs) may follow a boundary before its line break.
                var index = 0
                while index < buffer.count, buffer[index] == 0x20 || buffer[index] == 0x09 { index += 1 }
                guard index + 1 < buffer.count else { return events }
                guard buffer[index] == 0x0D, buffer[index + 1] == 0x0A else {
                    throw MultipartError("byte \(consumed + index): a boundary line is not followed by a line break")
                }
                drop(index + 2)
                state = .headers
            case .headers:
                let blank: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
                let headers: [String: String]
                if buffer.count >= 2, buffer[0] == 0x0D, buffer[1] == 0x0A {
                    // No headers at all.
                    headers = [:]
                    drop(2)
                } else {
                    guard let end = find(blank) else {
                        if buffer.count > Self.headerLimit {
                            throw MultipartError(
                                "byte \(consumed): the headers of part \(parts + 1) run past \(Self.headerLimit) bytes")
                        }
                        return events
                    }
                    headers = try Self.headers(Array(buffer[0..<end]), at: consumed, part: parts + 1)
                    drop(end + blank.count)
                }
                parts += 1
                events.append(.began(headers))
                state = .body
            case .body:
                if let found = find(delimiter) {
                    if found > 0 { events.append(.bytes(Array(buffer[0..<found]))) }
                    events.append(.ended)
                    drop(found + delimiter.count)
                    state = .afterBoundary
                } else {
                    let safe = buffer.count - delimiter.count + 1
                    if safe > 0 {
                        events.append(.bytes(Array(buffer[0..<safe])))
                        drop(safe)
                    }
                    return events
                }
            case .epilogue:
                consumed += buffer.count
                buffer.removeAll()
                return events
            }
        }
    }

    /// Checks that the body closed; a body cut short is an error.
    func finish() throws(MultipartError) {
        switch state {
        case .epilogue: return
        case .preamble: throw MultipartError("the body holds no part: no boundary line (--\(boundaryText)) was found")
        default:
            throw MultipartError(
                "the body ends at byte \(consumed + buffer.count) inside part \(parts), before its closing boundary (--\(boundaryText)--)"
            )
        }
    }

    private var boundaryText: String { String(decoding: delimiter.dropFirst(4), as: UTF8.self) }

    private mutating func drop(_ count: Int) {
        buffer.removeFirst(count)
        consumed += count
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        return buffer.withUnsafeBytes { haystack -> Int? in
            guard let base = haystack.baseAddress else { return nil }
            guard let first = needle.first else { return nil }
            var start = 0
            let last = haystack.count - needle.count
            while start <= last {
                guard let hit = memchr(base + start, Int32(first), last - start + 1) else { return nil }
                let index = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                if memcmp(base + index, needle, needle.count) == 0 { return index }
                start = index + 1
            }
            return nil
        }
    }

    static func headers(_ bytes: [UInt8], at offset: Int, part: Int) throws(MultipartError) -> [String: String] {
        var headers: [String: String] = [:]
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else {
                throw MultipartError(
                    "byte \(offset): part \(part) has a header line without a colon: \(line.prefix(80))")
            }
            headers[line[..<colon].trimmingSpaces.lowercased()] = line[line.index(after: colon)...].trimmingSpaces
        }
        return headers
    }
}

/// A body that does not follow the multipart grammar: what and where (a byte offset).
struct MultipartError: Error, Equatable, CustomStringConvertible {
    var message: String

    init(_ message: String) { self.message = message }

    var description: String { message }
}

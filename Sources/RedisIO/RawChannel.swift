import CHiredis

#if canImport(Glibc)
    import Glibc
#endif

/// A connection's transport used directly, for the chunk transfer engine: commands written
/// straight from the caller's buffer (`writev` on plain TCP) (hiredis would first copy each 512 KiB argument
/// into its output buffer and then shift that buffer after every partial write), and bulk
/// replies read straight into the caller's buffer (hiredis copies each one three times).
/// Only the reply shapes the engine needs are understood: `+OK`, errors, bulk strings and nil.
///
/// Borrowed through ``RedisConnection/withRawChannel(_:)`` while the connection has nothing
/// pending; if anything goes wrong the connection is dropped, since the stream position is
/// then unknown.
public final class RawChannel {
    /// What a bulk reply turned out to be.
    public enum Bulk: Equatable {
        /// The value, of the expected length, now in the destination buffer.
        case value
        case missing
        /// A string of another length (skipped).
        case wrongLength(Int)
        case error(String)
    }

    private let transport: Transport
    var endpoint: String { transport.endpoint }
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var header: [UInt8] = []
    /// Replies owed for commands written here.
    public private(set) var pending = 0

    init(transport: Transport) {
        self.transport = transport
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// True when no reply bytes are left over (the connection can go back to hiredis).
    var isDrained: Bool { start == end && pending == 0 }

    // MARK: Writing

    /// Sends one command: `words` as the first arguments, then `body` (if any) as the last,
    /// written from where it lies.
    public func send(_ words: [String], body: UnsafeRawBufferPointer? = nil) throws {
        header.removeAll(keepingCapacity: true)
        RequestEncoding.appendArrayHeader(words.count + (body == nil ? 0 : 1), to: &header)
        for word in words { RequestEncoding.appendBulk(Array(word.utf8), to: &header) }
        if let body { RequestEncoding.appendBulkHeader(length: body.count, to: &header) }
        try header.withUnsafeBytes { head in
            try RequestEncoding.crlf.withUnsafeBytes { tail in
                var parts = [head]
                if let body {
                    parts.append(body)
                    parts.append(tail)
                }
                try transport.write(parts, doing: "send a command")
            }
        }
        pending += 1
    }

    // MARK: Reading

    /// Reads a status reply: nil for `+…`, the message for `-…`.
    public func readStatus() throws -> String? {
        let line = try readLine()
        pending -= 1
        switch line.first {
        case UInt8(ascii: "+"): return nil
        case UInt8(ascii: "-"): return String(decoding: line.dropFirst(), as: UTF8.self)
        default: throw protocolError("expected a status reply, found \(describe(line))")
        }
    }

    /// Reads a bulk reply of `destination.count` bytes into `destination`.
    public func readBulk(into destination: UnsafeMutableRawBufferPointer) throws -> Bulk {
        let line = try readLine()
        pending -= 1
        switch line.first {
        case UInt8(ascii: "-"): return .error(String(decoding: line.dropFirst(), as: UTF8.self))
        case UInt8(ascii: "$"):
            guard let length = Int(String(decoding: line.dropFirst(), as: UTF8.self)) else {
                throw protocolError("bad bulk length \(describe(line))")
            }
            if length < 0 { return .missing }
            if length != destination.count {
                try skip(length + 2)
                return .wrongLength(length)
            }
            try readExactly(into: destination)
            try skip(2)
            return .value
        default:
            throw protocolError("expected a bulk reply, found \(describe(line))")
        }
    }

    /// One line without its CRLF.
    private func readLine() throws -> [UInt8] {
        while true {
            if let newline = buffer[start..<end].firstIndex(of: 10) {
                var line = Array(buffer[start..<newline])
                if line.last == 13 { line.removeLast() }
                start = newline + 1
                return line
            }
            if start > 0 {
                // Keep what is buffered at the front, then read more after it.
                let count = end - start
                if count > 0, let base = buffer.baseAddress { memmove(base, base + start, count) }
                start = 0
                end = count
            }
            guard end < buffer.count else { throw protocolError("reply line longer than \(buffer.count) bytes") }
            try fill()
        }
    }

    private func readExactly(into destination: UnsafeMutableRawBufferPointer) throws {
        let buffered = min(end - start, destination.count)
        if buffered > 0, let target = destination.baseAddress, let source = buffer.baseAddress {
            memcpy(target, source + start, buffered)
            start += buffered
        }
        var done = buffered
        while done < destination.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: destination[done...])
            done += try transport.read(into: rest, doing: "read a reply")
        }
    }

    private func skip(_ count: Int) throws {
        var left = count
        while left > 0 {
            if start == end { try fill() }
            let taken = min(left, end - start)
            start += taken
            left -= taken
        }
    }

    private func fill() throws {
        if start == end {
            start = 0
            end = 0
        }
        end += try transport.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]), doing: "read a reply")
    }

    // MARK: Errors

    private func protocolError(_ message: String) -> RedisError {
        RedisError(.protocolViolation, endpoint: endpoint, message)
    }

    private func describe(_ line: [UInt8]) -> String {
        "'" + String(decoding: line.prefix(40), as: UTF8.self) + "'"
    }
}

extension RedisConnection {
    /// Lends the socket to `body` as a ``RawChannel``. The connection must have nothing
    /// pending; it is dropped (and rebuilt on next use) if `body` throws or leaves replies
    /// unread.
    public func withRawChannel<Result>(_ body: (RawChannel) throws -> Result) throws -> Result {
        let channel = RawChannel(transport: try rawTransport())
        do {
            let result = try body(channel)
            if !channel.isDrained { close() }
            return result
        } catch {
            close()
            throw error
        }
    }
}

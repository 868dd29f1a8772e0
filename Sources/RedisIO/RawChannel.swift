import CHiredis

#if canImport(Glibc)
    import Glibc
#endif

/// A connection's socket used directly, for the chunk transfer engine: commands written with
/// `writev` straight from the caller's buffer (hiredis would first copy each 512 KiB argument
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

    private let descriptor: Int32
    let endpoint: String
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var header: [UInt8] = []
    /// Replies owed for commands written here.
    public private(set) var pending = 0

    init(descriptor: Int32, endpoint: String) {
        self.descriptor = descriptor
        self.endpoint = endpoint
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
        let count = words.count + (body == nil ? 0 : 1)
        header += Array("*\(count)\r\n".utf8)
        for word in words {
            let bytes = Array(word.utf8)
            header += Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        }
        if let body { header += Array("$\(body.count)\r\n".utf8) }
        let trailer: [UInt8] = [13, 10]
        try header.withUnsafeBytes { head in
            try trailer.withUnsafeBytes { tail in
                var parts = [head]
                if let body, body.count > 0 { parts.append(body) }
                if body != nil { parts.append(tail) }
                try writeAll(parts)
            }
        }
        pending += 1
    }

    private func writeAll(_ parts: [UnsafeRawBufferPointer]) throws {
        var vectors = parts.map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        var index = 0
        while index < vectors.count {
            let written = vectors[index...].withUnsafeBufferPointer { slice in
                writev(descriptor, slice.baseAddress, Int32(slice.count))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError("send a command")
            }
            var remaining = written
            while index < vectors.count && remaining >= vectors[index].iov_len {
                remaining -= vectors[index].iov_len
                index += 1
            }
            if index < vectors.count && remaining > 0 {
                vectors[index].iov_base = vectors[index].iov_base.map { $0 + remaining }
                vectors[index].iov_len -= remaining
            }
        }
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
            guard let base = destination.baseAddress else { return }
            let count = read(descriptor, base + done, destination.count - done)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw count == 0 ? closedError() : ioError("read a reply") }
            done += count
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
        guard let base = buffer.baseAddress else { return }
        while true {
            let count = read(descriptor, base + end, buffer.count - end)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw count == 0 ? closedError() : ioError("read a reply") }
            end += count
            return
        }
    }

    // MARK: Errors

    private func ioError(_ what: String) -> RedisError {
        if errno == EAGAIN || errno == EWOULDBLOCK {
            return RedisError(.timeout, endpoint: endpoint, "no reply in time while trying to \(what)")
        }
        return RedisError(
            .io, endpoint: endpoint, "connection failed while trying to \(what): \(String(cString: strerror(errno)))")
    }

    private func closedError() -> RedisError {
        RedisError(.io, endpoint: endpoint, "server closed the connection")
    }

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
        let descriptor = try rawDescriptor()
        let channel = RawChannel(descriptor: descriptor, endpoint: endpoint)
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

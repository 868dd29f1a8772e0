import DQL
import DicomCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What reading a line gave.
enum LineRead: Equatable {
    case line(String)
    /// Ctrl-C at the prompt.
    case interrupted
    /// End of input (Ctrl-D, end of file).
    case end
    /// The input cannot be read on (a line past the limit, a read error): why.
    case failed(String)
}

/// Where the session's lines come from: the line editor, a script, piped stdin, `-c` text.
protocol LineSource {
    /// Reads the next line; `pending` is the unfinished statement so far (for completion).
    mutating func readLine(prompt: String, pending: String) -> LineRead
    /// Called with each complete unit, so the line editor can add it to its history.
    mutating func remember(_ unit: InputUnit)
    /// Whether the next line (or the end) can be read without waiting: a script holds a
    /// complete statement back only while it can see the next line.
    var hasLineReady: Bool { get }
}

extension LineSource {
    mutating func remember(_ unit: InputUnit) {}
    var hasLineReady: Bool { true }
}

/// Lines of a script file, of given text, or of stdin. No prompts: prompts are for people at
/// a terminal.
struct ScriptLines: LineSource {
    private var lines: [String] = []
    private var position = 0
    private var input: DescriptorLines?

    /// The lines of `text`.
    init(text: String) {
        lines = Self.split(text)
    }

    /// Standard input, read as it arrives, so a pipe is served line by line.
    static func standardInput() -> ScriptLines {
        var lines = ScriptLines(text: "")
        lines.input = DescriptorLines(descriptor: STDIN_FILENO)
        return lines
    }

    /// The lines of the file at `path` (`-` is stdin); a file that cannot be read is an error
    /// that says why.
    init(path: String) throws {
        if path == "-" {
            self = .standardInput()
            return
        }
        guard let expanded = PathExpansion.expand(path) else {
            throw SessionError("cannot read \(path): no such user", exitCode: ExitCodes.usage)
        }
        var status = stat()
        guard stat(expanded, &status) == 0 else {
            throw SessionError("cannot read \(path): \(systemMessage(errno))", exitCode: ExitCodes.usage)
        }
        // A file, or a pipe (`dql -f <(…)`), read as it arrives; not a directory or a device.
        let kind = status.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFIFO else {
            throw SessionError(
                "cannot read \(path): it is \(fileKind(status.st_mode)), not a script", exitCode: ExitCodes.usage)
        }
        let descriptor = open(expanded, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SessionError("cannot read \(path): \(systemMessage(errno))", exitCode: ExitCodes.usage)
        }
        self.init(text: "")
        input = DescriptorLines(descriptor: descriptor, closesOnEnd: true)
    }

    mutating func readLine(prompt: String, pending: String) -> LineRead {
        if let input {
            do {
                guard let line = try input.next() else { return .end }
                return .line(line)
            } catch {
                return .failed("\(error)")
            }
        }
        guard position < lines.count else { return .end }
        defer { position += 1 }
        return .line(lines[position])
    }

    var hasLineReady: Bool { input?.hasLineReady ?? true }

    static func split(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { (line: Substring) -> String in
            line.last == "\r" ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// Lines read from a file descriptor with a buffer of its own, so the reader can tell whether
/// another line is already there without waiting for it. A line may be at most
/// ``maximumLine`` bytes: endless input without a newline (`/dev/zero`) is an error, not a
/// process that grows until it is killed.
final class DescriptorLines {
    private let descriptor: Int32
    private let closesOnEnd: Bool
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var lineNumber = 0
    /// Bytes of the input dropped from the front of the buffer so far.
    private var dropped = 0

    /// The longest line accepted: 64 MiB.
    static let maximumLine = 64 << 20

    init(descriptor: Int32, closesOnEnd: Bool = false) {
        self.descriptor = descriptor
        self.closesOnEnd = closesOnEnd
    }

    deinit {
        if closesOnEnd { close(descriptor) }
    }

    /// A line past the limit.
    struct LineTooLong: Error, CustomStringConvertible {
        var line: Int
        var description: String { "line \(line) is longer than \(DescriptorLines.maximumLine >> 20) MiB" }
    }

    /// Bytes that are not UTF-8, and where: a script runs as written or not at all, never with
    /// U+FFFD in place of what was there.
    struct NotUTF8: Error, CustomStringConvertible {
        var line: Int
        var column: Int
        var byte: Int
        var description: String { "line \(line), column \(column) (byte \(byte)) is not valid UTF-8" }
    }

    /// `bytes` as text, or where they stop being UTF-8; `offset` is where they start in the input.
    private func text(_ bytes: ArraySlice<UInt8>, at offset: Int) throws -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        var consumed = 0
        var column = 1
        while case .scalarValue(let scalar) = decoder.decode(&iterator) {
            consumed += UTF8.width(scalar)
            column += 1
        }
        throw NotUTF8(line: lineNumber, column: column, byte: offset + consumed)
    }

    /// The next line without its newline (and a `\r` before it), or nil at the end.
    func next() throws -> String? {
        lineNumber += 1
        // Where the newline search goes on from: a long line is not scanned again per read.
        var searched = start
        while true {
            if buffer.count - start > Self.maximumLine { throw LineTooLong(line: lineNumber) }
            if let newline = buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[start..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                let offset = dropped + start
                start = newline + 1
                return try text(line, at: offset)
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let rest = buffer[start...]
                let offset = dropped + start
                start = buffer.count
                return try text(rest.last == UInt8(ascii: "\r") ? rest.dropLast() : rest, at: offset)
            }
            searched = buffer.count - start
            fill()
        }
    }

    /// Whether `next()` would return without waiting.
    var hasLineReady: Bool {
        if atEnd || buffer[start...].contains(UInt8(ascii: "\n")) { return true }
        var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&poll, 1, 0) > 0
    }

    private func fill() {
        if start > 0 {
            buffer.removeFirst(start)
            dropped += start
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR && !Interrupt.isPending { continue }
            if count <= 0 {
                atEnd = true
                return
            }
            buffer += chunk[0..<count]
            return
        }
    }
}

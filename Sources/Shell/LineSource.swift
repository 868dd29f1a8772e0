import Foundation

/// What reading a line gave.
enum LineRead: Equatable {
    case line(String)
    /// Ctrl-C at the prompt.
    case interrupted
    /// End of input (Ctrl-D, end of file).
    case end
}

/// Where the session's lines come from: the line editor, a script, piped stdin, `-c` text.
protocol LineSource {
    /// Reads the next line; `pending` is the unfinished statement so far (for completion).
    mutating func readLine(prompt: String, pending: String) -> LineRead
    /// Called with each complete unit, so the line editor can add it to its history.
    mutating func remember(_ unit: InputUnit)
}

extension LineSource {
    mutating func remember(_ unit: InputUnit) {}
}

/// Lines of a script file, of stdin (read as they arrive, so a pipe is served line by line),
/// or of given text. No prompts: prompts are for people at a terminal.
struct ScriptLines: LineSource {
    private var lines: [String] = []
    private var position = 0
    private let readsStandardInput: Bool

    /// The lines of `text`.
    init(text: String) {
        lines = Self.split(text)
        readsStandardInput = false
    }

    /// Standard input, read line by line.
    static func standardInput() -> ScriptLines {
        ScriptLines(readsStandardInput: true)
    }

    private init(readsStandardInput: Bool) {
        self.readsStandardInput = readsStandardInput
    }

    /// The lines of the file at `path` (`-` is stdin); nil if it cannot be read.
    init?(path: String) throws {
        if path == "-" {
            self = .standardInput()
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        self.init(text: String(decoding: data, as: UTF8.self))
    }

    mutating func readLine(prompt: String, pending: String) -> LineRead {
        if readsStandardInput {
            guard let line = Swift.readLine(strippingNewline: true) else { return .end }
            return .line(line.hasSuffix("\r") ? String(line.dropLast()) : line)
        }
        guard position < lines.count else { return .end }
        defer { position += 1 }
        return .line(lines[position])
    }

    static func split(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { (line: Substring) -> String in
            line.last == "\r" ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

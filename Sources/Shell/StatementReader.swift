import DQL

/// One thing to run, cut from a stream of lines: a meta-command (`\timing on`) or DQL text
/// holding one or more complete statements, with the line it started on.
struct InputUnit: Equatable {
    enum Kind: Equatable {
        case meta(String)
        case statements(String)
    }

    var kind: Kind
    /// 1-based line of the unit's first line in its source.
    var firstLine: Int
    /// Byte offset of the unit's first line in its source.
    var firstByte: Int
}

/// Cuts lines into units the way the REPL, `-f` and piped stdin all do: a line starting with
/// `\` on its own is a meta-command; otherwise lines gather until what was gathered parses or
/// fails for a reason other than running out of input (a newline inside parentheses, after
/// `and`, or inside a string keeps the statement open).
struct StatementReader {
    private var pending: [String] = []
    private var pendingFirstLine = 1
    private var pendingFirstByte = 0
    private var nextLine = 1
    private var nextByte = 0

    /// True while a statement has started but is not complete (the REPL shows `...>`).
    var isContinuing: Bool { !pending.isEmpty }

    /// The text gathered so far.
    var pendingText: String { pending.joined(separator: "\n") }

    /// Feeds one line (without its newline); returns a unit when one is complete.
    mutating func feed(_ line: String) -> InputUnit? {
        let lineNumber = nextLine
        let byte = nextByte
        nextLine += 1
        nextByte += line.utf8.count + 1
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if pending.isEmpty {
            if trimmed.hasPrefix("\\") {
                return InputUnit(kind: .meta(String(trimmed)), firstLine: lineNumber, firstByte: byte)
            }
            if trimmed.isEmpty || trimmed.hasPrefix("--") { return nil }
            pendingFirstLine = lineNumber
            pendingFirstByte = byte
        }
        pending.append(line)
        let text = pendingText
        if let error = Parser.parseUntilError(text).error, error.isIncomplete { return nil }
        return takePending()
    }

    /// At end of input: whatever is still gathered, to be reported as incomplete.
    mutating func finish() -> InputUnit? {
        pending.isEmpty ? nil : takePending()
    }

    /// Drops a half-typed statement (Ctrl-C in the REPL).
    mutating func discard() { pending.removeAll() }

    private mutating func takePending() -> InputUnit {
        defer { pending.removeAll() }
        return InputUnit(kind: .statements(pendingText), firstLine: pendingFirstLine, firstByte: pendingFirstByte)
    }
}

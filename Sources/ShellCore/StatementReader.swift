import DQL

/// One thing to run, cut from a stream of lines: a meta-command (`\timing on`) or DQL text
/// holding one or more complete statements, with the line it started on.
struct InputUnit: Equatable {
    enum Kind: Equatable {
        case meta(String)
        case statements(String)
    }

    var kind: Kind
    /// For `\g` and `\e`: the statement typed before them (not run), which they take.
    var statement: String? = nil
    /// For a meta-command: the 1-based column of its `\` in its line (the line is kept whole,
    /// indentation and a statement before `\g` included, so errors point into it as written).
    var metaColumn = 1
    /// Where ``statement`` started: its line and byte in the source.
    var statementLine = 1
    var statementByte = 0
    /// 1-based line of the unit's first line in its source.
    var firstLine: Int
    /// Byte offset of the unit's first line in its source.
    var firstByte: Int
}

/// Cuts lines into units the way the REPL, `-f` and piped stdin all do: a line starting with
/// `\` on its own is a meta-command; otherwise lines gather until what was gathered parses or
/// fails for a reason other than running out of input (a newline inside parentheses, after
/// `and`, or inside a string keeps the statement open).
///
/// In a script (`holdsCompleteStatements`), a complete statement is held until the next line
/// shows whether it goes on: a line that starts with a word that can only continue a
/// statement (`and`, `or`, `where`, `order`, `by`, `limit`, `offset`, `fetch to`) joins it,
/// so a condition split over lines never runs half-read. The REPL runs a complete statement at
/// once (and asks before a delete).
struct StatementReader {
    let holdsCompleteStatements: Bool
    /// The text as it will run, for telling whether it is complete: variables replaced
    /// (`:name` is no DQL, and its value may hold anything).
    var substitute: (String) -> String = { $0 }
    private var pending: [String] = []
    private var pendingFirstLine = 1
    private var pendingFirstByte = 0
    private var nextLine = 1
    private var nextByte = 0
    /// The pending text parses as complete statements (held for the next line).
    private var pendingIsComplete = false

    /// Whether the pending text ends inside a string (a `\` line is then part of it).
    private var pendingInString = false

    init(holdsCompleteStatements: Bool = false, substitute: @escaping (String) -> String = { $0 }) {
        self.holdsCompleteStatements = holdsCompleteStatements
        self.substitute = substitute
    }

    /// Meta-commands that take the statement typed before them instead of letting it run:
    /// `\g` runs it (to a file), `\e` edits it.
    static let metaCommandsTakingStatement: Set<String> = ["\\g", "\\go", "\\e", "\\edit"]

    /// `find name \g out.csv`: the statement on the line before a `\g` or `\e` outside quotes
    /// and comments, and the meta-command (nil when the line has none).
    static func trailingMetaCommand(in line: String) -> (statement: Substring, meta: Substring, metaByte: Int)? {
        var found: String.Index?
        QuoteScan.unquoted(line) { index, character in
            // A comment ends the search: a `\g` in it is text.
            if character == "-" && line[index...].hasPrefix("--") { return false }
            if character == "\\" {
                found = index
                return false
            }
            return true
        }
        guard let index = found, takesStatement(line[index...]) else { return nil }
        return (line[..<index], line[index...], line.utf8.distance(from: line.startIndex, to: index))
    }

    static func takesStatement(_ line: Substring) -> Bool {
        let name = line.prefix { $0 != " " && $0 != "\t" && $0 != "|" }
        return metaCommandsTakingStatement.contains(String(name))
    }

    /// True while a statement has started but is not complete (the REPL shows `...>`).
    var isContinuing: Bool { !pending.isEmpty && !pendingIsComplete }

    /// True while a complete statement waits for the next line.
    var isHolding: Bool { !pending.isEmpty && pendingIsComplete }

    /// The text gathered so far.
    var pendingText: String { pending.joined(separator: "\n") }

    /// Feeds one line (without its newline); returns the units it completed, in order (a held
    /// statement, then possibly the line itself).
    mutating func feed(_ line: String) -> [InputUnit] {
        var units: [InputUnit] = []
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if !pendingInString, !trimmed.hasPrefix("\\"), let split = Self.trailingMetaCommand(in: line) {
            // A held statement that this line does not continue runs first, on its own.
            if isHolding && !Self.continues(trimmed) { units.append(takePending()) }
            if pending.isEmpty {
                pendingFirstLine = nextLine
                pendingFirstByte = nextByte
            }
            let lineNumber = nextLine
            let byte = nextByte
            advance(past: line)
            var statementPart = split.statement
            while statementPart.last == " " || statementPart.last == "\t" { statementPart.removeLast() }
            pending.append(String(statementPart))
            let taken = takePending()
            guard case .statements(let text) = taken.kind else { return units }
            let meta = InputUnit(
                kind: .meta(line), statement: text,
                metaColumn: line[..<split.meta.startIndex].unicodeScalars.count + 1, statementLine: taken.firstLine,
                statementByte: taken.firstByte, firstLine: lineNumber, firstByte: byte)
            return units + [meta]
        }
        if !pending.isEmpty, !pendingInString, trimmed.hasPrefix("\\"), Self.takesStatement(trimmed) {
            let taken = takePending()
            let lineNumber = nextLine
            let byte = nextByte
            advance(past: line)
            guard case .statements(let text) = taken.kind else { return [] }
            return [
                InputUnit(
                    kind: .meta(line), statement: text, statementLine: taken.firstLine, statementByte: taken.firstByte,
                    firstLine: lineNumber, firstByte: byte)
            ]
        }
        if isHolding {
            if trimmed.isEmpty || trimmed.hasPrefix("--") || Self.continues(trimmed) {
                return append(line)
            }
            units.append(takePending())
        }
        let lineNumber = nextLine
        let byte = nextByte
        if pending.isEmpty {
            if trimmed.hasPrefix("\\") {
                advance(past: line)
                return units + [InputUnit(kind: .meta(line), firstLine: lineNumber, firstByte: byte)]
            }
            if trimmed.isEmpty || trimmed.hasPrefix("--") {
                advance(past: line)
                return units
            }
            pendingFirstLine = lineNumber
            pendingFirstByte = byte
        }
        return units + append(line)
    }

    /// At end of input, or when no more input is ready: whatever is still gathered (a held
    /// statement, or one to be reported as incomplete).
    mutating func finish() -> InputUnit? {
        pending.isEmpty ? nil : takePending()
    }

    /// Drops a half-typed statement (Ctrl-C in the REPL).
    mutating func discard() {
        pending.removeAll()
        pendingIsComplete = false
        pendingInString = false
    }

    /// Whether a line (without leading blanks) can only continue a statement.
    static func continues(_ line: Substring) -> Bool {
        guard line.first?.isLetter == true else { return false }
        let words = line.split(whereSeparator: { !$0.isLetter }).prefix(2).map(String.init)
        guard let first = words.first, let keyword = Keyword(word: first) else { return false }
        return keyword.continuesStatement
            || (keyword == .fetch && words.count > 1 && Keyword(word: words[1]) == .to
                && line.dropFirst(first.count).first?.isWhitespace == true)
    }

    private mutating func advance(past line: String) {
        nextLine += 1
        nextByte += line.utf8.count + 1
    }

    private mutating func append(_ line: String) -> [InputUnit] {
        advance(past: line)
        pending.append(line)
        let error = Parser.parseUntilError(substitute(pendingText)).error
        if let error, error.isIncomplete {
            pendingIsComplete = false
            if case .unterminatedString = error.kind { pendingInString = true } else { pendingInString = false }
            return []
        }
        pendingInString = false
        if error == nil && holdsCompleteStatements {
            pendingIsComplete = true
            return []
        }
        return [takePending()]
    }

    private mutating func takePending() -> InputUnit {
        defer {
            pending.removeAll()
            pendingIsComplete = false
            pendingInString = false
        }
        return InputUnit(kind: .statements(pendingText), firstLine: pendingFirstLine, firstByte: pendingFirstByte)
    }
}

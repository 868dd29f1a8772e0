/// A diagnostic about a DQL statement: a message from the catalogue (``DiagnosticMessage``)
/// and the source range it is about. Lexer, parser, compiler and executor-side checks all
/// throw it; failures that are not about the text (the server, the disk) become one at their
/// statement's range, so every error is printed by ``rendered(source:file:firstLine:)``.
public struct DQLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case error
        case warning
    }

    public var kind: DiagnosticMessage
    public var range: SourceRange
    /// True when the input simply ended too soon: more lines could complete the statement.
    public var isIncomplete: Bool

    public init(_ kind: DiagnosticMessage, at range: SourceRange, isIncomplete: Bool = false) {
        self.kind = kind
        self.range = range
        self.isIncomplete = isIncomplete
    }

    /// The catalogue identifier, e.g. `DQL208` for an unknown field.
    public var id: String { kind.id }
    public var severity: Severity { kind.severity }
    /// The message, one line.
    public var message: String { kind.text }
    /// A suggestion, e.g. "did you mean 'protocol'?".
    public var help: String? { kind.help }

    /// Replacement text for the range that fixes the mistake, when one is clear.
    public struct FixIt: Sendable, Equatable {
        public var range: SourceRange
        public var replacement: String
    }

    public var fixIt: FixIt? { kind.replacement.map { FixIt(range: range, replacement: $0) } }

    /// `line:column: error: message`.
    public var description: String {
        "\(range.start): \(severity.rawValue): \(message)" + (help.map { " (\($0))" } ?? "")
    }

    /// The same diagnostic for text that began `lines` lines and `bytes` bytes into a larger
    /// source (a statement read from line 40 of a script).
    public func shifted(lines: Int, bytes: Int) -> DQLError {
        var copy = self
        for keyPath in [\SourceRange.start, \SourceRange.end] {
            copy.range[keyPath: keyPath].line += lines
            copy.range[keyPath: keyPath].offset += bytes
        }
        return copy
    }

    /// The full diagnostic: `file:line:column: error: message`, the source line, a caret
    /// under the range, and the help line. `source` is the text the range points into; it
    /// starts at line `firstLine` when it is a piece of a longer file. Long lines are cut to a
    /// window around the caret, and control characters are shown as `�`, so a diagnostic
    /// stays a few short lines whatever the input.
    public func rendered(source: String, file: String? = nil, firstLine: Int = 1) -> String {
        var output =
            (file.map { "\(visible($0)):" } ?? "")
            + "\(range.start.line):\(range.start.column): \(severity.rawValue): \(visible(message))\n"
        if let line = Self.line(range.start.line - firstLine, of: source) {
            let width = range.end.line == range.start.line ? max(1, range.end.column - range.start.column) : 1
            let (shown, caretColumn, caretWidth) = Self.window(
                of: line, column: range.start.column, width: width)
            output += "    " + shown + "\n"
            let padding = String(
                shown.unicodeScalars.prefix(caretColumn - 1).map { $0 == "\t" ? "\t" : " " })
            output += "    " + padding + "^" + String(repeating: "~", count: caretWidth - 1) + "\n"
        }
        if let help { output += "    help: \(visible(help))\n" }
        return output
    }

    /// Line `index` (0-based) of `source`, without scanning past it.
    static func line(_ index: Int, of source: String) -> [Unicode.Scalar]? {
        guard index >= 0 else { return nil }
        var current = 0
        var line: [Unicode.Scalar] = []
        for scalar in source.unicodeScalars {
            if scalar == "\n" {
                if current == index { return line }
                current += 1
                continue
            }
            if current == index { line.append(scalar) }
        }
        return current == index ? line : nil
    }

    /// Columns of source shown around the caret at most.
    static let windowWidth = 100

    /// The part of `line` to show, and where the caret goes in it (1-based) and how wide.
    static func window(
        of line: [Unicode.Scalar], column: Int, width: Int
    ) -> (text: String, caretColumn: Int, caretWidth: Int) {
        let cleaned = line.map { $0 == "\t" || !isUnsafeOnATerminal($0) ? $0 : "\u{FFFD}" }
        let caret = max(0, min(column - 1, cleaned.count))
        var start = 0
        var end = cleaned.count
        if cleaned.count > windowWidth {
            start = max(0, min(caret - windowWidth / 3, cleaned.count - windowWidth))
            end = min(cleaned.count, start + windowWidth)
        }
        var text = start > 0 ? "…" : ""
        text.unicodeScalars.append(contentsOf: cleaned[start..<end])
        if end < cleaned.count { text += "…" }
        let caretColumn = caret - start + 1 + (start > 0 ? 1 : 0)
        let caretWidth = max(1, min(width, end - caret))
        return (text, caretColumn, caretWidth)
    }
}

/// A statement that ran into a problem with the data or the server rather than the text: a
/// message from the catalogue, and where in the statement it is about when that is known (the
/// shell shows it at the whole statement otherwise).
public struct ExecutionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var kind: DiagnosticMessage
    public var range: SourceRange?

    public init(_ kind: DiagnosticMessage, at range: SourceRange? = nil) {
        self.kind = kind
        self.range = range
    }

    public var description: String { kind.text }
}

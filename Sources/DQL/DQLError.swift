/// A diagnostic about DQL text: what is wrong, where, and what to do about it. Rendered with
/// the offending line and a caret under the exact text, like a compiler's.
public struct DQLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case error
        case warning
    }

    public var message: String
    public var range: SourceRange
    public var severity: Severity
    /// A suggestion, e.g. "did you mean 'protocol'?".
    public var help: String?
    /// Replacement text for `range` that fixes the problem, when one is clear.
    public var fixIt: String?
    /// True when the input simply ended too soon: more lines could complete the statement.
    public var isIncomplete: Bool

    public init(
        _ message: String, at range: SourceRange, severity: Severity = .error, help: String? = nil,
        fixIt: String? = nil, isIncomplete: Bool = false
    ) {
        self.message = message
        self.range = range
        self.severity = severity
        self.help = help
        self.fixIt = fixIt
        self.isIncomplete = isIncomplete
    }

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
    /// underline, and the help line. `source` is the text the range points into; it starts at
    /// line `firstLine` when it is a piece of a longer file.
    public func rendered(source: String, file: String? = nil, firstLine: Int = 1) -> String {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        var output =
            (file.map { "\($0):" } ?? "")
            + "\(range.start.line):\(range.start.column): \(severity.rawValue): \(message)\n"
        let lineIndex = range.start.line - firstLine
        if lineIndex >= 0, lineIndex < lines.count {
            let line = String(lines[lineIndex])
            output += "    " + line + "\n"
            let width = range.end.line == range.start.line ? max(1, range.end.column - range.start.column) : 1
            let padding = String(line.unicodeScalars.prefix(range.start.column - 1).map { $0 == "\t" ? "\t" : " " })
            output += "    " + padding + "^" + String(repeating: "~", count: width - 1) + "\n"
        }
        if let help { output += "    help: \(help)\n" }
        return output
    }
}

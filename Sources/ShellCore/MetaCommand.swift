import DQL

/// A psql-style backslash command: settings and session control that are not DQL.
enum MetaCommand: Equatable {
    /// `\timing [on|off]`; nil toggles.
    case timing(Bool?)
    /// `\format [table|csv|json|ndjson]`; nil shows the current one.
    case format(OutputFormat?)
    /// `\x [on|off]`: one line per column; nil toggles.
    case expanded(Bool?)
    /// `\i FILE`: run a script.
    case include(String)
    /// `\o [FILE]`: send results to a file, or back to stdout.
    case output(String?)
    /// `\connect [URL]`: another server, or the same one again.
    case connect(String?)
    /// `\help [statement]`.
    case help(String?)
    /// `\?`.
    case list
    /// `\q`.
    case quit

    /// Every meta-command, for `\?` and completion: name, arguments, what it does.
    static let catalogue: [(name: String, arguments: String, summary: String)] = [
        ("\\timing", "[on|off]", "show the time of each statement and its phases"),
        ("\\format", "[table|csv|json|ndjson]", "how results are printed"),
        ("\\x", "[on|off]", "expanded rows: one line per column"),
        ("\\i", "FILE", "run the statements in FILE"),
        ("\\o", "[FILE]", "write results to FILE; without FILE, to stdout again"),
        ("\\connect", "[URL]", "connect to another server (redis://[user[:password]@]host[:port][/db])"),
        ("\\help", "[STATEMENT]", "the syntax of DQL statements"),
        ("\\?", "", "this list"),
        ("\\q", "", "quit"),
    ]

    /// Parses one line that starts with `\`. Errors say what is wrong and where (column).
    static func parse(_ line: String) throws(MetaCommandError) -> MetaCommand {
        let words = Self.words(line)
        guard let name = words.first else { throw MetaCommandError("empty meta-command", column: 1) }
        let arguments = Array(words.dropFirst())
        let argument = arguments.first?.text
        func extra(_ allowed: Int) throws(MetaCommandError) {
            if arguments.count > allowed {
                throw MetaCommandError(
                    "\(name.text) takes \(allowed == 0 ? "no arguments" : "at most \(allowed) argument")",
                    column: arguments[allowed].column)
            }
        }
        func onOff() throws(MetaCommandError) -> Bool? {
            try extra(1)
            guard let argument else { return nil }
            switch argument.lowercased() {
            case "on", "true", "1": return true
            case "off", "false", "0": return false
            default: throw MetaCommandError("expected on or off, found '\(argument)'", column: arguments[0].column)
            }
        }
        switch name.text {
        case "\\timing": return .timing(try onOff())
        case "\\x": return .expanded(try onOff())
        case "\\format", "\\pset":
            try extra(1)
            guard let argument else { return .format(nil) }
            guard let format = OutputFormat(rawValue: argument.lowercased()) else {
                throw MetaCommandError(
                    "unknown format '\(argument)'; formats are table, csv, json, ndjson", column: arguments[0].column)
            }
            return .format(format)
        case "\\i", "\\include":
            try extra(1)
            guard let argument else { throw MetaCommandError("\\i needs a file name", column: name.column) }
            return .include(argument)
        case "\\o", "\\out":
            try extra(1)
            return .output(argument)
        case "\\connect", "\\c":
            try extra(1)
            return .connect(argument)
        case "\\help", "\\h":
            try extra(1)
            return .help(argument)
        case "\\?": try extra(0); return .list
        case "\\q", "\\quit": try extra(0); return .quit
        default:
            let closest = Suggestion.closest(to: name.text, among: catalogue.map(\.name))
            throw MetaCommandError(
                "unknown meta-command '\(excerpt(name.text))'" + (closest.map { "; did you mean '\($0)'?" } ?? "")
                    + " (\\? lists them)",
                column: name.column)
        }
    }

    /// Splits on blanks; '…' and "…" group words, as in a shell.
    static func words(_ line: String) -> [(text: String, column: Int)] {
        var words: [(String, Int)] = []
        var current = ""
        var start: Int?
        var quote: Character?
        for (offset, character) in line.enumerated() {
            let column = offset + 1
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == " " || character == "\t" {
                if let begun = start { words.append((current, begun)) }
                current = ""
                start = nil
            } else {
                if start == nil { start = column }
                if character == "'" || character == "\"" { quote = character } else { current.append(character) }
            }
        }
        if let begun = start { words.append((current, begun)) }
        return words.map { (text: $0.0, column: $0.1) }
    }
}

/// A meta-command that could not be understood.
struct MetaCommandError: Error, Equatable, CustomStringConvertible {
    var message: String
    /// 1-based column in the line.
    var column: Int

    init(_ message: String, column: Int) {
        self.message = message
        self.column = column
    }

    var description: String { message }
}

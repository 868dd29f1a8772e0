import DQL

/// A psql-style backslash command: settings and session control that are not DQL.
enum MetaCommand: Equatable {
    /// `\timing [on|off]`; nil toggles.
    case timing(Bool?)
    /// `\format [table|csv|json|ndjson]`; nil shows the current one.
    case format(OutputFormat?)
    /// `\x [on|off|auto]`: one line per column; nil toggles on and off.
    case expanded(ExpandedMode?)
    /// `\pager [on|off|auto]`; nil shows the current mode.
    case pager(PagerMode?)
    /// `\i FILE`: run a script.
    case include(String)
    /// `\o [FILE | |COMMAND]`: send results to a file or a command, or back to stdout.
    case output(String?)
    /// `\g [FILE | |COMMAND]`: run the statement being typed, or else the last one again,
    /// with its results sent to FILE or COMMAND if given.
    case go(String?)
    /// `\e`: edit the statement being typed, or else the last one, in `$VISUAL`/`$EDITOR`,
    /// and run what is saved.
    case edit
    /// `\watch [SECONDS] [COUNT]`: run the last statement again every SECONDS (2 unless
    /// given), COUNT times or until Ctrl-C.
    case watch(seconds: Double, count: Int?)
    /// `\set NAME [VALUE …]`: a variable for `:NAME` and `:'NAME'`; the values are joined
    /// with spaces.
    case setVariable(name: String, value: String)
    /// `\set` alone: list the variables.
    case listVariables
    /// `\unset NAME`.
    case unsetVariable(String)
    /// `\echo [TEXT …]`: print the words to stdout (for scripts).
    case echo(String)
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
        ("\\x", "[on|off|auto]", "expanded rows: one line per column (auto: when a table is wider than the terminal)"),
        (
            "\\pager", "[on|off|auto]",
            "results through $PAGER (less -FRSX): always, never, or when longer than the screen"
        ),
        ("\\i", "FILE", "run the statements in FILE"),
        ("\\o", "[FILE | |COMMAND]", "write results to FILE or a command; without one, to stdout again"),
        (
            "\\g", "[FILE | |COMMAND]",
            "run the statement typed so far, or the last one again; results to FILE or COMMAND"
        ),
        ("\\e", "", "edit the statement typed so far, or the last one, in $VISUAL or $EDITOR; run it on save"),
        ("\\watch", "[SECONDS] [COUNT]", "run the last statement every SECONDS (2), COUNT times or until Ctrl-C"),
        (
            "\\set", "[NAME [VALUE]]",
            "set a variable, used as :NAME (as written) or :'NAME' (as a quoted string); alone, list them"
        ),
        ("\\unset", "NAME", "remove a variable"),
        ("\\echo", "[TEXT]", "print TEXT to stdout"),
        ("\\connect", "[URL]", "connect to another server (redis://[user[:password]@]host[:port][/db])"),
        ("\\help", "[STATEMENT]", "the syntax of DQL statements"),
        ("\\?", "", "this list"),
        ("\\q", "", "quit"),
    ]

    /// Parses one line that starts with `\`. Errors say what is wrong and where (column).
    static func parse(_ line: String) throws(MetaCommandError) -> MetaCommand {
        var unterminated: Int?
        let words = Self.words(line, unterminatedAt: &unterminated)
        if let unterminated {
            throw MetaCommandError("unterminated quoted string", column: unterminated)
        }
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
            try mode(Switch.self).map { $0 == .on }
        }
        func mode<Mode: RawRepresentable & CaseIterable>(_: Mode.Type) throws(MetaCommandError) -> Mode?
        where Mode.RawValue == String {
            try extra(1)
            guard let argument else { return nil }
            let names = ["true": "on", "1": "on", "false": "off", "0": "off"]
            let lowered = argument.lowercased()
            guard let mode = Mode(rawValue: names[lowered] ?? lowered) else {
                let allowed = Mode.allCases.map(\.rawValue)
                throw MetaCommandError(
                    "expected \(allowed.dropLast().joined(separator: ", ")) or \(allowed.last ?? ""), found '\(excerpt(argument))'",
                    column: arguments[0].column)
            }
            return mode
        }
        /// The rest of the line after the name, for `|command`.
        let rest = String(line.dropFirst(name.column - 1 + name.text.count)).trimmingCharacters(in: .whitespaces)
        func target() throws(MetaCommandError) -> String? {
            if rest.hasPrefix("|") {
                guard rest.dropFirst().contains(where: { $0 != " " && $0 != "\t" }) else {
                    throw MetaCommandError("\(name.text) | needs a command after the bar", column: arguments[0].column)
                }
                return rest
            }
            try extra(1)
            return argument
        }
        switch name.text {
        case "\\timing": return .timing(try onOff())
        case "\\x":
            try extra(1)
            return .expanded(argument == nil ? nil : try mode(ExpandedMode.self))
        case "\\pager": return .pager(try mode(PagerMode.self))
        case "\\g", "\\go": return .go(try target())
        case "\\e", "\\edit": try extra(0); return .edit
        case "\\watch": return try watch(arguments)
        case "\\set":
            guard let variable = arguments.first else { return .listVariables }
            guard Variables.isValidName(variable.text) else {
                throw MetaCommandError(
                    "'\(excerpt(variable.text))' cannot be a variable name: a letter or _, then letters, digits and _",
                    column: variable.column)
            }
            return .setVariable(name: variable.text, value: arguments.dropFirst().map(\.text).joined(separator: " "))
        case "\\unset":
            guard let variable = arguments.first else {
                throw MetaCommandError("\\unset needs a name", column: name.column)
            }
            try extra(1)
            return .unsetVariable(variable.text)
        case "\\echo": return .echo(arguments.map(\.text).joined(separator: " "))
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
            return .output(try target())
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

    /// `\watch [SECONDS] [COUNT]`, also as `i=SECONDS`, `interval=SECONDS`, `c=COUNT`,
    /// `count=COUNT` (psql's spelling).
    static func watch(_ arguments: [(text: String, column: Int)]) throws(MetaCommandError) -> MetaCommand {
        var seconds: Double?
        var count: Int?
        if arguments.count > 2 {
            throw MetaCommandError("\\watch takes at most 2 arguments (SECONDS and COUNT)", column: arguments[2].column)
        }
        /// Plain decimal numbers only (`Double` would also take `0x10`, `inf`, `1e3`).
        func decimal(_ text: String) -> Double? {
            text.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") } ? Double(text) : nil
        }
        for (position, argument) in arguments.enumerated() {
            let parts = argument.text.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts.count == 2 ? parts[0].lowercased() : (position == 0 ? "i" : "c")
            let value = parts.last ?? ""
            switch key {
            case "i", "interval":
                guard seconds == nil, let number = decimal(value), (0.1...86_400).contains(number)
                else {
                    throw MetaCommandError(
                        "\\watch: the interval is a number of seconds from 0.1 to 86400, found '\(excerpt(value))'",
                        column: argument.column)
                }
                seconds = number
            case "c", "count":
                guard count == nil, let number = Int(value), (1...1_000_000).contains(number) else {
                    throw MetaCommandError(
                        "\\watch: the count is a whole number from 1 to 1000000, found '\(excerpt(value))'",
                        column: argument.column)
                }
                count = number
            default:
                throw MetaCommandError(
                    "\\watch takes SECONDS and COUNT (or i=SECONDS c=COUNT), found '\(excerpt(argument.text))'",
                    column: argument.column)
            }
        }
        return .watch(seconds: seconds ?? 2, count: count)
    }

    /// Splits on blanks; '…' and "…" group words, as in a shell. Inside '…', as in DQL
    /// strings and psql, `''` is a quote and a backslash escapes (`\\`, `\'`, `\n`, `\t`), so
    /// `:'NAME'` gives back any value whole. `unterminatedAt`: where a quote never closed opens.
    static func words(_ line: String, unterminatedAt: inout Int?) -> [(text: String, column: Int)] {
        var quoteColumn = 0
        var words: [(String, Int)] = []
        var current = ""
        var start: Int?
        var quote: Character?
        var characters = Array(line)
        var offset = 0
        characters.append(" ")
        while offset < characters.count - 1 {
            let character = characters[offset]
            let column = offset + 1
            offset += 1
            if let open = quote {
                if open == "'" && character == "\\" {
                    let next = characters[offset]
                    offset += 1
                    switch next {
                    case "n": current.append("\n")
                    case "t": current.append("\t")
                    case "r": current.append("\r")
                    default: current.append(next)
                    }
                } else if character == open && characters[offset] == open {
                    current.append(open)
                    offset += 1
                } else if character == open {
                    quote = nil
                } else {
                    current.append(character)
                }
            } else if character == " " || character == "\t" {
                if let begun = start { words.append((current, begun)) }
                current = ""
                start = nil
            } else {
                if start == nil { start = column }
                if character == "'" || character == "\"" {
                    quote = character
                    quoteColumn = column
                } else {
                    current.append(character)
                }
            }
        }
        if let begun = start { words.append((current, begun)) }
        if quote != nil { unterminatedAt = quoteColumn }
        return words.map { (text: $0.0, column: $0.1) }
    }
}

/// `on` or `off` (also `true`/`false`, `1`/`0`), for `\timing`.
enum Switch: String, CaseIterable {
    case on, off
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

import DQL
import Foundation

/// Tab completion for the REPL, as a pure function of the text before the cursor: statement
/// keywords at the start, meta-commands after `\`, tag values from the index inside a quoted
/// value after `FIELD =` or `FIELD in (`, paths after `load` and `to` (quoted or not), and
/// elsewhere the field names and keywords that the parser accepts at that point: after a
/// complete condition that is `and`, `or`, `order`, `limit`, `fetch`, …, never a field.
///
/// What is inserted never breaks the line: a value's quotes are doubled and its backslashes
/// escaped, a directory ends with `/` (Tab goes on inside it), a file in quotes gets its
/// closing quote.
struct Completer {
    /// Tag values of a field, from the index.
    var tagValues: (Field) -> [String]
    /// The directory relative paths start from.
    var currentDirectory: () -> String = { FileManager.default.currentDirectoryPath }

    /// What to offer for `word`, the text from the word's start to the cursor; `before` is
    /// everything before the word (earlier lines of the statement included).
    enum Completion: Equatable {
        /// Candidates that each start with the word, and what to append after a single match
        /// (nil: nothing, as after a directory).
        case candidates([String], append: Character?)
    }

    /// Keywords offered inside a statement: every one that does not start a statement, and
    /// `count` (for `order by count`) and `fetch` (for `find … fetch to`).
    static let keywords = Keyword.allCases.filter { !$0.startsStatement || $0 == .count || $0 == .fetch }.map(
        \.rawValue)

    /// Keywords that are always followed by the same one, offered together.
    static let pairs = ["order": "order by", "fetch": "fetch to"]

    func complete(word: String, before: String) -> Completion {
        let lowered = word.lowercased()
        if before.hasSuffix("\\") {
            let names = MetaCommand.catalogue.map { String($0.name.dropFirst()) }
            return .candidates(names.filter { $0.hasPrefix(lowered) }, append: " ")
        }
        let text = before + word
        if let open = Self.openQuote(in: text) {
            let written = String(text[text.index(after: open.index)...])
            let head = String(text[..<open.index])
            if let field = Self.valueField(before: head) {
                return valueCandidates(field, written: written, word: word, quote: open.quote)
            }
            if Self.takesPath(before: head) {
                return pathCandidates(written: written, word: word, quote: open.quote)
            }
            return .candidates([], append: nil)
        }
        let statement = Self.currentStatement(before)
        let words = statement.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        if Self.takesPath(before: statement) {
            return pathCandidates(written: word, word: word, quote: nil)
        }
        // A value: the field's values, quoted (a bare word would have to be one).
        if let field = Self.valueField(before: statement) {
            return valueCandidates(field, written: word, word: word, quote: nil)
        }
        if Self.expectsValue(after: statement) { return .candidates([], append: nil) }
        // `show` and `fetch` take a stored name first.
        if words.count == 1, let first = words.first.map(String.init), ["show", "fetch"].contains(first.lowercased()),
            let name = Schema.field(named: "name")
        {
            return valueCandidates(name, written: word, word: word, quote: nil)
        }
        if words.isEmpty {
            return .candidates(Keyword.statements.map(\.rawValue).filter { $0.hasPrefix(lowered) }, append: " ")
        }
        // Whatever the parser takes next: each candidate is tried after the text so far.
        let fields = (Schema.fields.map(\.name) + Self.levelColumns).filter { $0.lowercased().hasPrefix(lowered) }
        let keywords = Self.keywords.filter { $0.hasPrefix(lowered) }
        var fitting = (fields + keywords).filter { Self.parses(statement + $0 + " ") }.map { candidate in
            // `order by` and `fetch to` in one go.
            Self.pairs[candidate].flatMap { Self.parses(statement + $0 + " ") ? $0 : nil } ?? candidate
        }
        // Any keyword of the data dictionary where an attribute fits (there are thousands): for a
        // word that starts with a capital, as keywords do (`Slice<Tab>`), or that fits nothing
        // else.
        if let first = word.first, first.isUppercase || fitting.isEmpty, Self.parses(statement + "SliceThickness ") {
            fitting += AttributeFields.keywords.filter {
                $0.lowercased().hasPrefix(lowered) && !fitting.contains($0) && Schema.field(named: $0) == nil
            }
        }
        return .candidates(fitting, append: " ")
    }

    /// The columns of the levels' rows that are not fields (`numberOfSeries`, `modalities`).
    static let levelColumns: [String] = {
        var names: [String] = []
        for level in Level.allCases {
            for column in level.columns where column.field == nil && !names.contains(column.name) {
                names.append(column.name)
            }
        }
        return names
    }()

    /// Whether `text` is a statement so far: complete, or wanting only more text.
    static func parses(_ text: String) -> Bool {
        guard let error = Parser.parseUntilError(text).error else { return true }
        return error.isIncomplete
    }

    /// The text after the last `;` outside quotes and comments: the statement being typed.
    static func currentStatement(_ text: String) -> String {
        var start = text.startIndex
        QuoteScan.unquoted(text) { index, character in
            if character == ";" { start = text.index(after: index) }
            return true
        }
        return String(text[start...])
    }

    /// Whether the next word is a path: right after `load` or `to`, or as the argument of
    /// `\i`, `\o` and `\g`.
    static func takesPath(before text: String) -> Bool {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard text.last == " " || text.last == "\t" || text.last == "\n", let last = words.last else { return false }
        if words.count == 1, Self.metaCommandsTakingFiles.contains(String(last)) { return true }
        return Keyword(word: String(last)).map { $0 == .load || $0 == .to } ?? false
    }

    static let metaCommandsTakingFiles: Set<String> = ["\\i", "\\include", "\\o", "\\out", "\\g", "\\go"]

    /// Whether the text ends where a value must come (after a comparison), so no field or
    /// keyword fits.
    static func expectsValue(after text: String) -> Bool {
        var trimmed = Substring(text)
        while trimmed.last == " " || trimmed.last == "\t" || trimmed.last == "\n" { trimmed.removeLast() }
        return ["=", "<", ">"].contains { trimmed.hasSuffix($0) }
            || ["like", "contains", "between"].contains { trimmed.lowercased().hasSuffix(" " + $0) }
    }

    // MARK: Values

    /// `written`: the text after the open quote, as typed (escapes and all); `word` is its end.
    /// With no quote open (a bare value typed, or none yet), candidates open one.
    private func valueCandidates(_ field: Field, written: String, word: String, quote: Character?) -> Completion {
        let prefix = (quote.map { Self.unescaped(written, quote: $0) } ?? written).lowercased()
        // A value that could drive the terminal is not offered (it would be printed raw).
        let values = tagValues(field).filter {
            $0.lowercased().hasPrefix(prefix) && !$0.unicodeScalars.contains { isUnsafeOnATerminal($0) }
        }
        // With no quote open, each candidate opens one; a single match closes it.
        guard let quote else { return .candidates(values.map { "'" + StringLiteral.escaped($0) }, append: "'") }
        // Only the word is replaced: each candidate is the value escaped for its quotes, less
        // what was typed before the word (case as stored: `'o` gives `'Other^Person`).
        let kept = written.count - word.count
        let candidates = values.map { String(StringLiteral.escaped($0, quote: quote).dropFirst(kept)) }
        return .candidates(candidates, append: quote)
    }

    /// The field whose value is being typed when `head` is the text before the open quote:
    /// `protocol =`, `modality !=`, `sex in ('F',`.
    static func valueField(before head: String) -> Field? {
        var head = Substring(head)
        func trim() { while head.last == " " || head.last == "\t" || head.last == "\n" { head.removeLast() } }
        trim()
        if head.hasSuffix("!=") || head.hasSuffix("<>") {
            head.removeLast(2)
        } else if head.hasSuffix("=") {
            head.removeLast()
        } else if head.hasSuffix("(") || head.hasSuffix(",") {
            guard let open = head.lastIndex(of: "(") else { return nil }
            head = head[..<open]
            trim()
            guard head.lowercased().hasSuffix("in") else { return nil }
            head.removeLast(2)
            trim()
            if head.lowercased().hasSuffix(" not") { head.removeLast(4) }
        } else if head.lowercased().hasSuffix("like") {
            head.removeLast(4)
        } else {
            return nil
        }
        trim()
        let name = head.reversed().prefix { $0.isLetter || $0.isNumber || $0 == "_" }.reversed()
        guard let field = Schema.field(named: String(name)), field.kind == .tag else { return nil }
        return field
    }

    // MARK: Paths

    private func pathCandidates(written: String, word: String, quote: Character?) -> Completion {
        let typed = quote.map { Self.unescaped(written, quote: $0) } ?? written
        let entries = Self.paths(completing: typed, from: currentDirectory())
        let kept = written.count - word.count
        // Unquoted, a name with a blank, a quote or a control character would end the path
        // early or break the line: then every candidate opens a quote (the typed word stays in
        // it) and is escaped for it.
        let needsQuote =
            quote == nil
            && entries.contains { $0.path.unicodeScalars.contains { Self.endsBarePath($0) } }
        let opened: Character? = needsQuote ? "'" : quote
        let candidates = entries.map { entry -> String in
            if needsQuote { return "'" + StringLiteral.escaped(entry.path) }
            if let quote { return String(StringLiteral.escaped(entry.path, quote: quote).dropFirst(kept)) }
            return word + String(entry.path.dropFirst(typed.count))
        }
        // A directory goes on (no space, no quote); a file ends the path.
        let single = candidates.count == 1 ? entries.first : nil
        let append: Character? = single.map { $0.isDirectory ? nil : (opened ?? " ") } ?? nil
        return .candidates(candidates, append: append)
    }

    /// Characters that cannot be in a bare path: blanks, quotes, `;` and control characters.
    static func endsBarePath(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "'" || scalar == "\"" || scalar == ";" || scalar == "\\" || scalar.value < 0x20
            || scalar.value == 0x7F
    }

    /// Entries whose path starts with `typed` (`~` and `~user` as a shell expands them,
    /// relative paths from `directory`), keeping `typed` as written; directories end with `/`.
    /// Hidden entries only when the name typed starts with `.`.
    static func paths(completing typed: String, from directory: String) -> [(path: String, isDirectory: Bool)] {
        if typed.hasPrefix("~") && !typed.contains("/") {
            return PathExpansion.expand(typed) == nil ? [] : [(typed + "/", true)]
        }
        let slash = typed.lastIndex(of: "/")
        let typedDirectory = slash.map { String(typed[...$0]) } ?? ""
        let partial = slash.map { String(typed[typed.index(after: $0)...]) } ?? typed
        let listed: String
        if typedDirectory.isEmpty {
            listed = directory
        } else {
            guard let expanded = PathExpansion.expand(typedDirectory) else { return [] }
            listed = expanded.hasPrefix("/") ? expanded : directory + "/" + expanded
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: listed) else { return [] }
        return names.filter { $0.hasPrefix(partial) && (partial.hasPrefix(".") || !$0.hasPrefix(".")) }.sorted().map {
            name in
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: listed + "/" + name, isDirectory: &isDirectory)
            return (typedDirectory + name + (isDirectory.boolValue ? "/" : ""), isDirectory.boolValue)
        }
    }

    // MARK: Quotes

    /// The quote left open at the end of `text` and where it is, if the text ends inside a
    /// string (`''` and backslash escapes inside are part of it).
    static func openQuote(in text: String) -> (quote: Character, index: String.Index)? {
        QuoteScan.unquoted(text)
    }

    /// Text as typed inside quotes, read back: `''` is a quote, `\x` is x (enough to match
    /// values by their start).
    static func unescaped(_ text: String, quote: Character) -> String {
        var result = ""
        var escaping = false
        var previousWasQuote = false
        for character in text {
            if escaping {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                default: result.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == quote && previousWasQuote {
                previousWasQuote = false
                continue
            } else {
                previousWasQuote = character == quote
                result.append(character)
            }
        }
        return result
    }
}

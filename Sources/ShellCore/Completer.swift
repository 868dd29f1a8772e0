import DQL
import Foundation

/// Tab completion for the REPL, as a pure function of the text before the cursor: statement
/// keywords at the start, meta-commands after `\`, field names and keywords elsewhere, tag
/// values from the index inside a quoted value after `FIELD =` or `FIELD in (`, and file names
/// (from the line editor) after `load` and `to`.
struct Completer {
    /// Tag values of a field, from the index.
    var tagValues: (Field) -> [String]

    /// What to offer for `word`, the text from the word's start to the cursor; `before` is
    /// everything before the word (earlier lines of the statement included).
    enum Completion: Equatable {
        /// Candidates that each start with the word, and what to append after a single match.
        case candidates([String], append: Character?)
        /// Let the line editor complete a file name.
        case fileNames
    }

    /// Keywords offered inside a statement: every one that does not start a statement, and
    /// `count` (for `order by count`).
    static let keywords = Keyword.allCases.filter { !$0.startsStatement || $0 == .count }.map(\.rawValue)

    func complete(word: String, before: String) -> Completion {
        let lowered = word.lowercased()
        if before.hasSuffix("\\") {
            let names = MetaCommand.catalogue.map { String($0.name.dropFirst()) }
            return .candidates(names.filter { $0.hasPrefix(lowered) }, append: " ")
        }
        if let (field, typed) = Self.quotedValueContext(before + word) {
            let prefix = typed.lowercased()
            // A value that could drive the terminal is not offered (it would be printed raw).
            let values = tagValues(field).filter {
                $0.lowercased().hasPrefix(prefix) && !$0.unicodeScalars.contains { isUnsafeOnATerminal($0) }
            }
            // Only the part of the value after `word` is replaced, so candidates begin with it.
            let kept = typed.count - word.count
            return .candidates(values.map { word + String($0.dropFirst(max(0, kept) + word.count)) }, append: "'")
        }
        let words = before.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        let previous = words.last.map { $0.lowercased() }
        if previous == "load" || previous == "to" {
            // libedit expands `~` from the password database; dql from $HOME, as a shell does.
            return word.hasPrefix("~") ? .candidates(Self.homePaths(word), append: nil) : .fileNames
        }
        let statementStart = words.isEmpty || before.trimmingCharacters(in: .whitespaces).hasSuffix(";")
        if statementStart {
            return .candidates(
                Keyword.statements.map(\.rawValue).filter { $0.hasPrefix(lowered) }, append: " ")
        }
        let fields = Schema.fields.map(\.name).filter { $0.lowercased().hasPrefix(lowered) }
        let keywords = Self.keywords.filter { $0.hasPrefix(lowered) && !lowered.isEmpty }
        return .candidates(fields + keywords, append: " ")
    }

    /// Paths under a home directory that complete `word` (`~/sc` → `~/scans/`), keeping the
    /// `~` as typed; directories end with `/` so completion goes on inside them.
    static func homePaths(_ word: String) -> [String] {
        guard let slash = word.lastIndex(of: "/") else { return PathExpansion.expand(word) == nil ? [] : [word + "/"] }
        let typedDirectory = String(word[...slash])
        let partial = String(word[word.index(after: slash)...])
        guard let directory = PathExpansion.expand(typedDirectory),
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory)
        else { return [] }
        return names.filter { $0.hasPrefix(partial) && (partial.hasPrefix(".") || !$0.hasPrefix(".")) }.sorted().map {
            name in
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory)
            return typedDirectory + name + (isDirectory.boolValue ? "/" : "")
        }
    }

    /// The field and the value typed so far when the text ends inside a quoted value:
    /// `protocol = 'ANG`, `modality in ('CT', 'M`.
    static func quotedValueContext(_ text: String) -> (Field, String)? {
        // Find the open quote: an odd number of quotes of one kind before the end.
        var openQuote: (Character, String.Index)?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if let (quote, _) = openQuote {
                if character == quote { openQuote = nil }
            } else if character == "'" || character == "\"" {
                openQuote = (character, index)
            }
            index = text.index(after: index)
        }
        guard let (_, quoteIndex) = openQuote else { return nil }
        let typed = String(text[text.index(after: quoteIndex)...])
        var head = text[..<quoteIndex]
        while head.last == " " || head.last == "\t" { head.removeLast() }
        // `FIELD =`, `FIELD !=`, `FIELD <>`, or inside `FIELD [not] in ( … ,`.
        if head.hasSuffix("!=") || head.hasSuffix("<>") {
            head.removeLast(2)
        } else if head.hasSuffix("=") {
            head.removeLast()
        } else if head.hasSuffix("(") || head.hasSuffix(",") {
            guard let open = head.lastIndex(of: "(") else { return nil }
            head = head[..<open]
            while head.last == " " { head.removeLast() }
            guard head.lowercased().hasSuffix("in") else { return nil }
            head.removeLast(2)
            while head.last == " " { head.removeLast() }
            if head.lowercased().hasSuffix(" not") { head.removeLast(4) }
        } else {
            return nil
        }
        while head.last == " " || head.last == "\t" { head.removeLast() }
        let name = head.reversed().prefix { $0.isLetter || $0.isNumber || $0 == "_" }.reversed()
        guard let field = Schema.field(named: String(name)), field.kind == .tag else { return nil }
        return (field, typed)
    }
}

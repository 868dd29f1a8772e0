import DQL

/// The session's variables (`\set NAME VALUE`, `dql -v NAME=VALUE`) and their interpolation
/// into input, psql style: `:NAME` is replaced by the value as it is, `:'NAME'` by the value
/// as a DQL string literal (quotes doubled, backslashes and line breaks escaped), so any value,
/// however nasty, arrives as one string. Nothing inside quotes or after `--` is touched, and a
/// colon inside a word or path (`C:/scans`, `host:6379`) is no reference.
struct Variables: Equatable {
    private(set) var values: [String: String] = [:]

    subscript(name: String) -> String? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// Names as `\set` lists them.
    var sortedNames: [String] { values.keys.sorted() }

    /// Whether `name` can be a variable: a letter or `_`, then letters, digits and `_`.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else {
            return false
        }
        return name.unicodeScalars.allSatisfy(isNamePart)
    }

    /// `NAME=VALUE` from the command line.
    static func assignment(_ text: String) -> (name: String, value: String)? {
        guard let equals = text.firstIndex(of: "=") else { return nil }
        let name = String(text[..<equals])
        guard isValidName(name) else { return nil }
        return (name, String(text[text.index(after: equals)...]))
    }

    /// A reference to a variable that has no value: its name and where it is (byte range in
    /// the text).
    struct Undefined: Error, Equatable {
        var name: String
        var bytes: Range<Int>
    }

    /// `text` with every reference replaced. `strict`: a reference to an unset variable is an
    /// error (statements); otherwise it stays as written (meta-commands, whose arguments hold
    /// URLs and times).
    func interpolate(_ text: String, strict: Bool) throws(Undefined) -> String {
        try interpolation(of: text, strict: strict).text
    }

    /// The text with every reference replaced, and where each value came from.
    func interpolation(of text: String, strict: Bool) throws(Undefined) -> Interpolation {
        // References are read where the lexer would read text: not in strings or comments.
        var references: [(range: Range<String.Index>, name: String, quoted: Bool)] = []
        QuoteScan.unquoted(text) { index, character in
            if character == ":", index == text.startIndex || !Self.continuesWord(text[text.index(before: index)]),
                let reference = Self.reference(in: text, at: index)
            {
                references.append(reference)
            }
            return true
        }
        func bytes(_ range: Range<String.Index>) -> Range<Int> {
            let start = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
            return start..<(start + text.utf8.distance(from: range.lowerBound, to: range.upperBound))
        }
        var output = ""
        var replacements: [Interpolation.Replacement] = []
        var copied = text.startIndex
        for reference in references {
            output += text[copied..<reference.range.lowerBound]
            copied = reference.range.upperBound
            guard let value = values[reference.name] else {
                if strict { throw Undefined(name: reference.name, bytes: bytes(reference.range)) }
                output += text[reference.range]
                continue
            }
            let start = output.utf8.count
            output += reference.quoted ? StringLiteral.quoted(value) : value
            replacements.append(.init(written: bytes(reference.range), value: start..<output.utf8.count))
        }
        output += text[copied...]
        return Interpolation(text: output, replacements: replacements)
    }

    /// The reference starting at the colon at `colon` (`:name` or `:'name'`), if there is one.
    private static func reference(
        in text: String, at colon: String.Index
    ) -> (
        range: Range<String.Index>, name: String, quoted: Bool
    )? {
        var index = text.index(after: colon)
        let quoted = index < text.endIndex && text[index] == "'"
        if quoted { index = text.index(after: index) }
        let nameStart = index
        while index < text.endIndex, text[index].unicodeScalars.allSatisfy(isNamePart) {
            index = text.index(after: index)
        }
        let name = String(text[nameStart..<index])
        guard isValidName(name) else { return nil }
        if quoted {
            guard index < text.endIndex, text[index] == "'" else { return nil }
            index = text.index(after: index)
        }
        return (colon..<index, name, quoted)
    }

    private static func isNamePart(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_"
    }

    /// Characters after which a colon is part of the word (`C:`, `host:`, `./a:`), not a
    /// reference.
    private static func continuesWord(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.last else { return false }
        return scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_./~:".unicodeScalars.contains(scalar)
    }
}

/// Text with variables replaced, and where each value came from: a diagnostic about the text
/// points at what was written (the file's own line and column), not at the expanded text.
struct Interpolation {
    /// A reference's bytes in the written text, and its value's bytes in ``text``.
    struct Replacement: Equatable {
        var written: Range<Int>
        var value: Range<Int>
    }

    var text: String
    var replacements: [Replacement] = []

    /// Where byte `offset` of ``text`` was written: the same text shifted by the values before
    /// it; inside a value, its reference (the start, or for the end of a range, the end).
    func writtenOffset(_ offset: Int, isEnd: Bool = false) -> Int {
        var shift = 0
        for replacement in replacements {
            if offset < replacement.value.lowerBound || (isEnd && offset == replacement.value.lowerBound) { break }
            if offset < replacement.value.upperBound || (isEnd && offset == replacement.value.upperBound) {
                return isEnd ? replacement.written.upperBound : replacement.written.lowerBound
            }
            shift = replacement.written.upperBound - replacement.value.upperBound
        }
        return offset + shift
    }

    /// `error`, about ``text``, placed in `written`.
    func locate(_ error: DQLError, in written: String) -> DQLError {
        var located = error
        located.range = SourceRange(
            SourceLocation(byte: writtenOffset(error.range.start.offset), in: written),
            SourceLocation(byte: writtenOffset(error.range.end.offset, isEnd: true), in: written))
        return located
    }

    /// A 1-based column of ``text`` (one line) as a column of `written`.
    func writtenColumn(_ column: Int, in written: String) -> Int {
        let byte = text.unicodeScalars.prefix(max(0, column - 1)).reduce(0) { $0 + $1.utf8.count }
        return SourceLocation(byte: writtenOffset(byte), in: written).column
    }
}

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
        return name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// `NAME=VALUE` from the command line.
    static func assignment(_ text: String) -> (name: String, value: String)? {
        guard let equals = text.firstIndex(of: "=") else { return nil }
        let name = String(text[..<equals])
        guard isValidName(name) else { return nil }
        return (name, String(text[text.index(after: equals)...]))
    }

    /// A value written as a DQL string literal.
    static func literal(_ value: String) -> String {
        var text = "'"
        for scalar in value.unicodeScalars {
            switch scalar {
            case "'": text += "''"
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "'"
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
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var replacements: [Interpolation.Replacement] = []
        var produced = 0
        var index = 0
        var byte = 0
        var quote: Unicode.Scalar?
        func isNamePart(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_"
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if let open = quote {
                if scalar == "\\", index + 1 < scalars.count {
                    output.append(scalar)
                    output.append(scalars[index + 1])
                    byte += scalar.utf8.count + scalars[index + 1].utf8.count
                    produced += scalar.utf8.count + scalars[index + 1].utf8.count
                    index += 2
                    continue
                }
                if scalar == open { quote = nil }
            } else if scalar == "'" || scalar == "\"" {
                quote = scalar
            } else if scalar == "-", index + 1 < scalars.count, scalars[index + 1] == "-" {
                // A comment: to the end of the line, untouched.
                while index < scalars.count, scalars[index] != "\n" {
                    output.append(scalars[index])
                    byte += scalars[index].utf8.count
                    produced += scalars[index].utf8.count
                    index += 1
                }
                continue
            } else if scalar == ":", index == 0 || !Self.continuesWord(scalars[index - 1]) {
                let quoted = index + 1 < scalars.count && scalars[index + 1] == "'"
                var end = index + (quoted ? 2 : 1)
                let nameStart = end
                if end < scalars.count, scalars[end].properties.isAlphabetic || scalars[end] == "_" {
                    while end < scalars.count, isNamePart(scalars[end]) { end += 1 }
                }
                var name = String.UnicodeScalarView()
                name.append(contentsOf: scalars[nameStart..<end])
                let closed = !quoted || (end < scalars.count && scalars[end] == "'")
                if !name.isEmpty && closed {
                    if quoted { end += 1 }
                    let length = scalars[index..<end].reduce(0) { $0 + $1.utf8.count }
                    if let value = values[String(name)] {
                        let inserted = quoted ? Self.literal(value) : value
                        output.append(contentsOf: inserted.unicodeScalars)
                        let size = inserted.utf8.count
                        replacements.append(.init(written: byte..<(byte + length), value: produced..<(produced + size)))
                        produced += size
                    } else if strict {
                        throw Undefined(name: String(name), bytes: byte..<(byte + length))
                    } else {
                        output.append(contentsOf: scalars[index..<end])
                        produced += length
                    }
                    byte += length
                    index = end
                    continue
                }
            }
            output.append(scalar)
            byte += scalar.utf8.count
            produced += scalar.utf8.count
            index += 1
        }
        return Interpolation(text: String(output), replacements: replacements)
    }

    /// Characters after which a colon is part of the word (`C:`, `host:`, `./a:`), not a
    /// reference.
    private static func continuesWord(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_./~:".unicodeScalars.contains(scalar)
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

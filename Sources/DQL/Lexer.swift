/// Splits DQL text into tokens, keeping each token's source range so every diagnostic can point
/// at the exact text. Comments (`-- …`) and spaces are skipped; newlines are tokens, because a
/// newline can end a statement.
public struct Lexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var location = SourceLocation.start
    /// Set after `to`, `load`, `show` and `fetch`: the next bare word is a path.
    private var expectPath = false

    public init(_ source: String) {
        scalars = Array(source.unicodeScalars)
    }

    /// All tokens, ending with `.endOfInput`.
    public static func tokenize(_ source: String) throws(DQLError) -> [Token] {
        var lexer = Lexer(source)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .endOfInput { return tokens }
        }
    }

    public mutating func next() throws(DQLError) -> Token {
        skipSpacesAndComments()
        let start = location
        guard let scalar = peek() else { return token(.endOfInput, from: start) }
        let pathExpected = expectPath
        expectPath = false

        if scalar == "\n" {
            advance()
            return token(.newline, from: start)
        }
        if scalar == ";" {
            advance()
            return token(.semicolon, from: start)
        }
        if scalar == "'" || scalar == "\"" { return try lexString(quote: scalar, start: start) }
        if pathExpected && !isSymbolStart(scalar) {
            let word = lexBareWord()
            // `fetch to ./out`: the keyword `to` is not a path.
            if Keyword(word: word) == .to {
                expectPath = true
                return token(.word(word), from: start)
            }
            if isWordShaped(word), Keyword(word: word)?.followsPath == true {
                return token(.word(word), from: start)
            }
            return token(.path(word), from: start)
        }
        // Something path-shaped is a path wherever it appears (`/data`, `./out`, `../x`, `~/x`),
        // so a misplaced one gets a parser error about its place, not a lexer error.
        if scalar == "/" || scalar == "~" || (scalar == "." && (peek(1) == "/" || peek(1) == ".")) {
            // Read first: `token` looks at the text read so far, and a call's arguments are
            // read after the value it is called on (the text was empty).
            // Outside a path's place it ends where a list goes on (`in (/x, ~/y)`).
            let path = lexBareWord(endingLists: true)
            return token(.path(path), from: start)
        }
        if isDigit(scalar) || (scalar == "-" && peek(1).map(isDigit) == true)
            || (scalar == "." && peek(1).map(isDigit) == true)
        {
            return try lexNumber(start: start)
        }
        if isWordStart(scalar) {
            // A bare name may hold `.` and `-` between its parts (`CT_small.dcm`, `IM-0001`),
            // wherever it appears: the same rule as after `show`, so a value needs quotes only
            // for spaces and symbols. `--` still starts a comment.
            var word = ""
            while let next = peek() {
                if isWordPart(next) {
                    word.unicodeScalars.append(next)
                } else if next == "." || (next == "-" && peek(1) != "-"), let after = peek(1), isWordPart(after) {
                    word.unicodeScalars.append(next)
                } else {
                    break
                }
                advance()
            }
            if Keyword(word: word)?.takesPath == true { expectPath = true }
            return token(.word(word), from: start)
        }
        // A DICOM tag, `(0018,0050)`: one word, a field name.
        if scalar == "(", let tag = tagAhead() {
            for _ in 0..<11 { advance() }
            return token(.word(tag), from: start)
        }
        for symbol in ["!=", "<>", "<=", ">=", "(", ")", ",", "*", "=", "<", ">"] where matches(symbol) {
            for _ in symbol.unicodeScalars { advance() }
            return token(.symbol(symbol), from: start)
        }
        advance()
        throw DQLError(.unexpectedCharacter(scalar), at: SourceRange(start, location))
    }

    // MARK: Pieces

    /// `(gggg,eeee)` with hex digits, from the current position, as a tag is written
    /// (upper-case), or nil.
    private func tagAhead() -> String? {
        var text = "("
        for index in 1...10 {
            guard let scalar = peek(index) else { return nil }
            switch index {
            case 5: guard scalar == "," else { return nil }
            case 10: guard scalar == ")" else { return nil }
            default: guard scalar.properties.isASCIIHexDigit else { return nil }
            }
            text.unicodeScalars.append(scalar)
        }
        return text.uppercased()
    }

    private mutating func lexString(quote: Unicode.Scalar, start: SourceLocation) throws(DQLError) -> Token {
        advance()
        var value = ""
        while true {
            guard let scalar = peek() else {
                throw DQLError(
                    .unterminatedString(quote: quote), at: SourceRange(start, location), isIncomplete: true)
            }
            if scalar == quote {
                advance()
                // SQL style: '' inside '…' is one quote.
                if peek() == quote {
                    value.unicodeScalars.append(quote)
                    advance()
                    continue
                }
                return token(.string(value), from: start)
            }
            if scalar == "\\" {
                value.unicodeScalars.append(try lexEscape(quote: quote))
                continue
            }
            if scalar == "\0" {
                let at = location
                advance()
                throw DQLError(.nulInValue, at: SourceRange(at, location))
            }
            value.unicodeScalars.append(scalar)
            advance()
        }
    }

    /// One escape after a backslash: `\\ \' \" \n \t \r`, and Unicode as `\u` with exactly
    /// four hex digits, `\U` with exactly eight, or `\u{…}` with one to six, so no letter
    /// after an escape is ever taken as part of it.
    private mutating func lexEscape(quote: Unicode.Scalar) throws(DQLError) -> Unicode.Scalar {
        let escapeStart = location
        advance()
        guard let escaped = peek() else {
            throw DQLError(
                .unterminatedString(quote: quote), at: SourceRange(escapeStart, location), isIncomplete: true)
        }
        advance()
        switch escaped {
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "\\", "'", "\"": return escaped
        case "0": throw DQLError(.nulInValue, at: SourceRange(escapeStart, location))
        case "u", "U":
            var hex = ""
            let braced = escaped == "u" && peek() == "{"
            if braced {
                advance()
                while hex.unicodeScalars.count < 7, let digit = peek(), digit.properties.isASCIIHexDigit {
                    hex.unicodeScalars.append(digit)
                    advance()
                }
                guard peek() == "}" else { throw invalidEscape(from: escapeStart) }
                advance()
            } else {
                let wanted = escaped == "u" ? 4 : 8
                while hex.unicodeScalars.count < wanted, let digit = peek(), digit.properties.isASCIIHexDigit {
                    hex.unicodeScalars.append(digit)
                    advance()
                }
                guard hex.unicodeScalars.count == wanted else { throw invalidEscape(from: escapeStart) }
            }
            guard (1...(braced ? 6 : 8)).contains(hex.unicodeScalars.count), let code = UInt32(hex, radix: 16),
                let unicode = Unicode.Scalar(code)
            else { throw invalidEscape(from: escapeStart) }
            if code == 0 { throw DQLError(.nulInValue, at: SourceRange(escapeStart, location)) }
            return unicode
        default:
            throw DQLError(.unknownEscape(escaped), at: SourceRange(escapeStart, location))
        }
    }

    private func invalidEscape(from start: SourceLocation) -> DQLError {
        DQLError(.invalidUnicodeEscape(text(from: start)), at: SourceRange(start, location))
    }

    private mutating func lexNumber(start: SourceLocation) throws(DQLError) -> Token {
        var text = ""
        if peek() == "-" {
            text += "-"
            advance()
        }
        while let scalar = peek(), isDigit(scalar) || scalar == "." {
            text.unicodeScalars.append(scalar)
            advance()
        }
        // A date: 2019-03-05.
        if text.count == 4, !text.hasPrefix("-"), peek() == "-", peek(1).map(isDigit) == true {
            var date = text
            while let scalar = peek(), isDigit(scalar) || scalar == "-" {
                date.unicodeScalars.append(scalar)
                advance()
            }
            let parts = date.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[1].count == 2, parts[2].count == 2,
                let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
                DateValue.isValid(year: year, month: month, day: day)
            else {
                throw DQLError(.invalidDate(date), at: SourceRange(start, location))
            }
            return token(.date(year * 10000 + month * 100 + day), from: start)
        }
        if let e = peek(), e == "e" || e == "E", let after = peek(1),
            isDigit(after) || ((after == "-" || after == "+") && peek(2).map(isDigit) == true)
        {
            text.unicodeScalars.append(e)
            advance()
            while let scalar = peek(), isDigit(scalar) || scalar == "-" || scalar == "+" {
                text.unicodeScalars.append(scalar)
                advance()
            }
        }
        // A UID written bare (`show study 1.2.840.113619.2.5`): digits in three or more parts.
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count >= 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && Int($0) != nil }),
            !text.hasPrefix("-")
        {
            return token(.word(text), from: start)
        }
        guard let parsed = Double(text), text.filter({ $0 == "." }).count <= 1 else {
            throw DQLError(.invalidNumber(text), at: SourceRange(start, location))
        }
        // Too large (inf), or too small to be told from 0 (1e-400).
        let significand = text.split(whereSeparator: { $0 == "e" || $0 == "E" }).first ?? ""
        guard parsed.isFinite, parsed != 0 || !significand.contains(where: { ("1"..."9").contains($0) }) else {
            throw DQLError(.numberOutOfRange(text), at: SourceRange(start, location))
        }
        // A size: 64KB, 1.5MB, 512K.
        if let scalar = peek(), scalar.properties.isAlphabetic {
            var unit = ""
            while let next = peek(), isWordPart(next) {
                unit.unicodeScalars.append(next)
                advance()
            }
            guard let multiplier = Self.sizeUnits[unit.lowercased()] else {
                // Digits then letters that are no unit: a word such as an id (`3dd3…`).
                if text.allSatisfy(\.isNumber), (text + unit).unicodeScalars.allSatisfy(isWordPart) {
                    return token(.word(text + unit), from: start)
                }
                throw DQLError(.unknownSizeUnit(unit), at: SourceRange(start, location))
            }
            let bytes = parsed * Double(multiplier)
            guard bytes < 1e18 else { throw DQLError(.sizeTooLarge(text + unit), at: SourceRange(start, location)) }
            guard bytes >= 0, bytes == bytes.rounded(), let whole = Int(exactly: bytes) else {
                throw DQLError(.sizeNotWhole(text + unit), at: SourceRange(start, location))
            }
            return token(.size(whole), from: start)
        }
        return token(.number(text), from: start)
    }

    /// Sizes are binary: 1 KB = 1024 bytes, as chunk sizes are.
    static let sizeUnits: [String: Int] = [
        "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
        "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
    ]

    private mutating func lexBareWord(endingLists: Bool = false) -> String {
        var word = ""
        while let scalar = peek(), scalar != " ", scalar != "\t", scalar != "\n", scalar != "\r", scalar != ";",
            !endingLists || (scalar != ")" && scalar != ",")
        {
            word.unicodeScalars.append(scalar)
            advance()
        }
        return word
    }

    private mutating func skipSpacesAndComments() {
        while let scalar = peek() {
            if scalar == " " || scalar == "\t" || scalar == "\r" {
                advance()
            } else if scalar == "-" && peek(1) == "-" {
                while let next = peek(), next != "\n" { advance() }
            } else {
                return
            }
        }
    }

    // MARK: Helpers

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        index + ahead < scalars.count ? scalars[index + ahead] : nil
    }

    private mutating func advance() {
        guard index < scalars.count else { return }
        location.advance(past: scalars[index])
        index += 1
    }

    private func matches(_ symbol: String) -> Bool {
        for (offset, scalar) in symbol.unicodeScalars.enumerated() where peek(offset) != scalar { return false }
        return true
    }

    private func token(_ kind: Token.Kind, from start: SourceLocation) -> Token {
        Token(kind: kind, range: SourceRange(start, location), text: text(from: start))
    }

    /// The source text between `start` and the current position.
    private func text(from start: SourceLocation) -> String {
        var result = ""
        var position = index
        var remaining = location.offset - start.offset
        while remaining > 0 && position > 0 {
            position -= 1
            remaining -= scalars[position].utf8.count
        }
        result.unicodeScalars.append(contentsOf: scalars[position..<index])
        return result
    }

    private func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }
    private func isWordStart(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isAlphabetic || scalar == "_" }
    private func isWordPart(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || isDigit(scalar) || scalar == "_"
    }
    private func isSymbolStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "(" || scalar == ")" || scalar == "," || scalar == "=" || scalar == "'" || scalar == "\""
    }
    private func isWordShaped(_ word: String) -> Bool { word.unicodeScalars.allSatisfy(isWordPart) }
}

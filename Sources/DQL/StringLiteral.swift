/// Text written as DQL reads it back (the inverse of the lexer's strings), for the shell's
/// variables (`:'NAME'`) and completion: inside `'…'` or `"…"` a quote is doubled, a backslash
/// escaped, and line breaks and other control characters written as escapes, so any value
/// comes back as exactly itself and stays on one line.
public enum StringLiteral {
    /// `text` escaped to go between `quote`s.
    public static func escaped(_ text: String, quote: Character = "'") -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            case _ where Character(scalar) == quote: result += String(quote) + String(quote)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `text` as a whole `'…'` literal.
    public static func quoted(_ text: String) -> String {
        "'" + escaped(text) + "'"
    }
}

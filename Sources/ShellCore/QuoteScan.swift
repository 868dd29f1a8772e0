/// Walks DQL text as the lexer reads its quotes, for the shell's own look at text it has not
/// parsed (completion, `\g` after a statement, `;` between statements): `'…'` and `"…"`
/// strings with a doubled quote or a backslash escaping a character, and `--` comments to the
/// end of the line.
enum QuoteScan {
    /// Calls `visit` with each character outside strings and comments, in order, until it
    /// returns false. Returns the quote left open at the end and where it opened, if any.
    @discardableResult
    static func unquoted(
        _ text: String, _ visit: (String.Index, Character) -> Bool = { _, _ in true }
    ) -> (
        quote: Character, index: String.Index
    )? {
        var open: (quote: Character, index: String.Index)?
        var inComment = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if inComment {
                if character == "\n" { inComment = false }
            } else if let (quote, _) = open {
                if character == "\\" {
                    index = text.index(after: index)
                    if index == text.endIndex { break }
                } else if character == quote {
                    let next = text.index(after: index)
                    if next < text.endIndex && text[next] == quote { index = next } else { open = nil }
                }
            } else if character == "'" || character == "\"" {
                open = (character, index)
            } else if character == "-", text[index...].hasPrefix("--") {
                inComment = true
                guard visit(index, character) else { return nil }
            } else if !visit(index, character) {
                return nil
            }
            index = text.index(after: index)
        }
        return open
    }
}

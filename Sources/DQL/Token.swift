/// One lexical unit of DQL, with the source range it came from.
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A word: keyword or field name (case-insensitive), as written.
        case word(String)
        /// A quoted string, escapes resolved.
        case string(String)
        /// A number as written (`42`, `-1.5`, `2e3`).
        case number(String)
        /// A size such as `64KB` or `1.5MB`, in bytes.
        case size(Int)
        /// A date written `2019-03-05`, as YYYYMMDD.
        case date(Int)
        /// A bare path after `to`, `load`, `show` or `fetch` (`./out`, `/data/scans`).
        case path(String)
        /// `( ) , * = != <> < <= > >=`
        case symbol(String)
        case semicolon
        case newline
        case endOfInput
    }

    public var kind: Kind
    public var range: SourceRange
    /// The source text of the token.
    public var text: String

    /// The lower-cased word, for keyword matching.
    public var keyword: String? {
        if case .word(let word) = kind { return word.lowercased() }
        return nil
    }

    /// How the token is shown in messages.
    public var quoted: String {
        switch kind {
        case .newline: "end of line"
        case .endOfInput: "end of input"
        case .semicolon: "';'"
        default: "'\(excerpt(text))'"
        }
    }
}

/// Where a fetch writes each file, as a template of fields: `fetch to ./out as
/// '{patientId}/{studyUid}/{seriesUid}/{sopUid}.dcm'` files an archive the way people browse
/// it, instead of under stored names. Each `/`-separated part becomes a directory (the last,
/// the file name); each part is made safe as stored names are (no separators, no control
/// characters, never `.` or `..`), and a field with no value gives `unknown`.
public struct FetchTemplate: Sendable, Hashable {
    /// One piece of a path component: text as written, or a field's value.
    public enum Piece: Sendable, Hashable {
        case text(String)
        case field(Field)
    }

    /// As written, for messages and `explain`.
    public var text: String
    /// The path components, each a sequence of pieces.
    public var components: [[Piece]]

    /// The fields the template reads.
    public var fields: [Field] {
        var seen: [Field] = []
        for case .field(let field) in components.joined() where !seen.contains(field) { seen.append(field) }
        return seen
    }

    /// Why a template cannot be used; `offset` is the character in the template text.
    public struct Problem: Error, Equatable {
        public var message: String
        public var offset: Int
        public var unknownField: String?
    }

    /// Parses `{field}` references and literal text; `{{` and `}}` are braces.
    public init(_ text: String) throws(Problem) {
        self.text = text
        guard !text.isEmpty else { throw Problem(message: "an empty fetch layout", offset: 0) }
        guard !text.hasPrefix("/") else {
            throw Problem(message: "a fetch layout is relative to the directory: it cannot start with /", offset: 0)
        }
        var components: [[Piece]] = [[]]
        var literal = ""
        let characters = Array(text)
        var index = 0
        func flush() {
            if !literal.isEmpty { components[components.count - 1].append(.text(literal)) }
            literal = ""
        }
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "{" where index + 1 < characters.count && characters[index + 1] == "{",
                "}" where index + 1 < characters.count && characters[index + 1] == "}":
                literal.append(character)
                index += 2
                continue
            case "{":
                guard let close = characters[index...].firstIndex(of: "}") else {
                    throw Problem(message: "'{' without its '}' in the fetch layout", offset: index)
                }
                let name = String(characters[(index + 1)..<close]).trimmingCharactersOfSpace()
                guard let field = Schema.field(named: name) else {
                    throw Problem(
                        message: "unknown field '\(excerpt(name))' in the fetch layout", offset: index + 1,
                        unknownField: name)
                }
                flush()
                components[components.count - 1].append(.field(field))
                index = close + 1
                continue
            case "}":
                throw Problem(message: "'}' without its '{' in the fetch layout (write }} for a brace)", offset: index)
            case "/", "\\":
                flush()
                guard !components[components.count - 1].isEmpty else {
                    throw Problem(message: "an empty part in the fetch layout", offset: index)
                }
                try Self.rejectDots(components[components.count - 1], endingAt: index)
                components.append([])
            default:
                literal.append(character)
            }
            index += 1
        }
        flush()
        guard !components[components.count - 1].isEmpty else {
            throw Problem(
                message: "the fetch layout ends with a directory: it needs a file name", offset: characters.count)
        }
        try Self.rejectDots(components[components.count - 1], endingAt: characters.count)
        self.components = components
    }

    /// A part written as `.` or `..` would not be a directory of its own (values are made safe
    /// when they are filled in; this is the layout itself).
    private static func rejectDots(_ pieces: [Piece], endingAt end: Int) throws(Problem) {
        guard pieces.count == 1, case .text(let text) = pieces[0], text == "." || text == ".." else { return }
        throw Problem(
            message: "a '\(text)' part in the fetch layout: every part is a directory or the file",
            offset: end - text.count)
    }

    /// The path (relative, `/`-separated) for a file with these field values (as shown).
    public func path(values: [Field: String], fallback: String) -> String {
        components.enumerated().map { position, pieces in
            let written = pieces.map { piece -> String in
                switch piece {
                case .text(let text): text
                case .field(let field): values[field].flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"
                }
            }.joined()
            // A value holding `/` stays one part: separators become `_`.
            let flattened = String(written.map { $0 == "/" || $0 == "\\" ? "_" : $0 })
            return SafeName.make(flattened, fallback: position == components.count - 1 ? fallback : "unknown")
        }.joined(separator: "/")
    }
}

extension String {
    fileprivate func trimmingCharactersOfSpace() -> String {
        var copy = Substring(self)
        while copy.first == " " { copy.removeFirst() }
        while copy.last == " " { copy.removeLast() }
        return String(copy)
    }
}

/// Parses DQL text into statements. Hand-written recursive descent; every error carries the
/// range of the offending token and, where one is clear, a suggestion.
///
/// Statements end with `;`, or with a newline where the statement could be complete: a newline
/// after `where a = 1` ends it, a newline after `and` or inside parentheses does not.
public struct Parser {
    private var tokens: [Token]
    private var position = 0
    private var parenthesisDepth = 0

    public init(tokens: [Token]) {
        self.tokens = tokens
    }

    /// Parses every statement in `source`.
    public static func parse(_ source: String) throws(DQLError) -> [ParsedStatement] {
        var parser = Parser(tokens: try Lexer.tokenize(source))
        return try parser.parseAll()
    }

    /// Parses exactly one statement (a trailing `;` is allowed).
    public static func parseStatement(_ source: String) throws(DQLError) -> Statement {
        let statements = try parse(source)
        guard let first = statements.first else {
            throw DQLError("expected a statement", at: SourceRange(.start, .start), isIncomplete: true)
        }
        if statements.count > 1 {
            throw DQLError("expected one statement, found \(statements.count)", at: statements[1].range)
        }
        return first.statement
    }

    /// Parses every statement in `source` up to the first error, and returns both: the shell
    /// runs what came before a mistake, as a script would, then reports the mistake.
    public static func parseUntilError(_ source: String) -> (statements: [ParsedStatement], error: DQLError?) {
        let tokens: [Token]
        do {
            tokens = try Lexer.tokenize(source)
        } catch {
            return ([], error)
        }
        var parser = Parser(tokens: tokens)
        var statements: [ParsedStatement] = []
        do {
            try parser.parseAll(into: &statements)
            return (statements, nil)
        } catch {
            return (statements, error)
        }
    }

    public mutating func parseAll() throws(DQLError) -> [ParsedStatement] {
        var statements: [ParsedStatement] = []
        try parseAll(into: &statements)
        return statements
    }

    private mutating func parseAll(into statements: inout [ParsedStatement]) throws(DQLError) {
        while true {
            while current.kind == .newline || current.kind == .semicolon { position += 1 }
            if current.kind == .endOfInput { return }
            let start = current.range
            let statement = try parseStatement()
            let range = start.union(tokens[max(0, position - 1)].range)
            switch current.kind {
            case .semicolon, .newline, .endOfInput: break
            default:
                throw DQLError(
                    "expected end of statement, found \(current.quoted)", at: current.range,
                    help: "end statements with ';' or a new line")
            }
            statements.append(ParsedStatement(statement: statement, range: range))
        }
    }

    // MARK: Statements

    /// The words a statement starts with.
    public static let statementKeywords = [
        "find", "count", "show", "fetch", "load", "delete", "vacuum", "explain", "fields", "stats", "set",
    ]

    private mutating func parseStatement() throws(DQLError) -> Statement {
        let token = current
        guard let keyword = token.keyword, Self.statementKeywords.contains(keyword) else {
            let suggestion = token.keyword.flatMap { word in
                Self.statementKeywords.min { editDistance($0, word) < editDistance($1, word) }
                    .flatMap { editDistance($0, word) <= 2 ? $0 : nil }
            }
            throw DQLError(
                "expected a statement, found \(token.quoted)", at: token.range,
                help: suggestion.map { "did you mean '\($0)'?" }
                    ?? "statements are: " + Self.statementKeywords.joined(separator: ", "),
                fixIt: suggestion)
        }
        position += 1
        switch keyword {
        case "find": return .find(try parseFind())
        case "count": return .count(try parseCount())
        case "show": return .show(try parseName(after: "show"))
        case "fetch":
            let name = try parseName(after: "fetch")
            try expectKeyword("to")
            return .fetch(name, to: try parsePath(after: "to"))
        case "load": return .load(try parseLoad())
        case "delete":
            try expectKeyword("where", help: "delete needs a condition; `delete where name = 'x.dcm'`")
            return .delete(try parseCondition())
        case "vacuum": return .vacuum
        case "fields": return .fields
        case "stats": return .stats
        case "explain":
            skipNewlines()
            if current.keyword == "explain" {
                throw DQLError("explain takes a statement other than explain", at: current.range)
            }
            return .explain(try parseStatement())
        default: return .set(try parseSetting())
        }
    }

    private mutating func parseFind() throws(DQLError) -> FindStatement {
        var find = FindStatement()
        if current.kind == .symbol("*") {
            position += 1
            find.projection = .all
        } else if case .word = current.kind, let word = current.keyword,
            !["where", "order", "limit", "offset", "fetch"].contains(word)
        {
            var fields = [try parseField()]
            while accept(.symbol(",")) { fields.append(try parseField()) }
            find.projection = .fields(fields)
        }
        if acceptKeyword("where") { find.condition = try parseCondition() }
        if acceptKeyword("order") {
            try expectKeyword("by")
            let field = try parseField()
            find.order = Ordering(field: field, direction: parseDirection())
        }
        if acceptKeyword("limit") {
            find.limit = try parseCount(what: "limit")
            if acceptKeyword("offset") { find.offset = try parseCount(what: "offset") }
        } else if current.keyword == "offset" {
            throw DQLError("offset needs a limit before it", at: current.range, help: "write `limit N offset M`")
        }
        if acceptKeyword("fetch") {
            try expectKeyword("to")
            find.fetchDirectory = try parsePath(after: "to")
        }
        return find
    }

    private mutating func parseCount() throws(DQLError) -> CountStatement {
        var count = CountStatement()
        if acceptKeyword("where") { count.condition = try parseCondition() }
        if acceptKeyword("by") {
            count.groupBy = [try parseField()]
            while accept(.symbol(",")) { count.groupBy.append(try parseField()) }
        }
        let orderToken = current
        if acceptKeyword("order") {
            if count.groupBy.isEmpty {
                throw DQLError(
                    "order by needs `by`: a plain count is one number", at: orderToken.range,
                    help: "write `count by FIELD order by count desc`")
            }
            try expectKeyword("by")
            skipNewlines()
            if current.keyword == "count" {
                position += 1
                count.order = .count(parseDirection())
            } else {
                let field = try parseField()
                count.order = .field(field, parseDirection())
            }
        }
        if acceptKeyword("limit") { count.limit = try parseCount(what: "limit") }
        return count
    }

    private mutating func parseLoad() throws(DQLError) -> LoadStatement {
        var load = LoadStatement(path: try parsePath(after: "load"))
        while true {
            if acceptKeyword("recursive") {
                load.recursive = true
            } else if acceptKeyword("chunk") {
                load.chunkSize = try parseSize(what: "chunk")
            } else if acceptKeyword("connections") {
                load.connections = try parseCount(what: "connections", minimum: 1)
            } else {
                return load
            }
        }
    }

    private mutating func parseSetting() throws(DQLError) -> Setting {
        skipNewlines()
        let nameToken = current
        guard let name = nameToken.keyword else {
            throw error(expected: "a setting name (chunk, connections, timeout, format, timing)")
        }
        position += 1
        _ = accept(.symbol("="))
        skipNewlines()
        switch name {
        case "chunk", "chunksize": return .chunkSize(try parseSize(what: "chunk"))
        case "connections": return .connections(try parseCount(what: "connections", minimum: 1))
        case "timeout": return .timeout(try parseCount(what: "timeout (milliseconds)", minimum: 1))
        case "format":
            let token = current
            guard let word = wordValue(token), let format = OutputFormat(rawValue: word.lowercased()) else {
                throw DQLError(
                    "unknown format \(token.quoted)", at: token.range,
                    help: "formats are " + OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))
            }
            position += 1
            return .format(format)
        case "timing":
            let token = current
            switch wordValue(token)?.lowercased() {
            case "on", "true": position += 1; return .timing(true)
            case "off", "false": position += 1; return .timing(false)
            default: throw DQLError("timing is on or off, not \(token.quoted)", at: token.range)
            }
        default:
            let known = ["chunk", "connections", "timeout", "format", "timing"]
            let suggestion = known.min { editDistance($0, name) < editDistance($1, name) }
            throw DQLError(
                "unknown setting '\(nameToken.text)'", at: nameToken.range,
                help: suggestion.map { "did you mean '\($0)'? settings are " + known.joined(separator: ", ") },
                fixIt: suggestion)
        }
    }

    // MARK: Conditions

    mutating func parseCondition() throws(DQLError) -> Condition {
        var terms = [try parseConjunction()]
        while acceptKeyword("or") { terms.append(try parseConjunction()) }
        return .any(terms)
    }

    private mutating func parseConjunction() throws(DQLError) -> Condition {
        var terms = [try parseUnary()]
        while acceptKeyword("and") { terms.append(try parseUnary()) }
        return .all(terms)
    }

    private mutating func parseUnary() throws(DQLError) -> Condition {
        skipNewlines()
        if acceptKeyword("not") { return .negation(try parseUnary()) }
        if current.kind == .symbol("(") {
            let open = current
            position += 1
            parenthesisDepth += 1
            let inner = try parseCondition()
            skipNewlines()
            guard current.kind == .symbol(")") else {
                throw DQLError(
                    "expected ')' to close the '(' at \(open.range.start), found \(current.quoted)", at: current.range,
                    isIncomplete: current.kind == .endOfInput)
            }
            parenthesisDepth -= 1
            position += 1
            return inner
        }
        return try parsePredicate()
    }

    private mutating func parsePredicate() throws(DQLError) -> Condition {
        let field = try parseField()
        skipNewlines()
        let token = current
        if case .symbol(let symbol) = token.kind {
            let comparison: Comparison
            switch symbol {
            case "=": comparison = .equal
            case "!=", "<>": comparison = .notEqual
            case "<": comparison = .less
            case "<=": comparison = .lessOrEqual
            case ">": comparison = .greater
            case ">=": comparison = .greaterOrEqual
            default: throw error(expected: "a comparison (=, !=, <, <=, >, >=) or in, between, like, contains, is")
            }
            position += 1
            return .compare(field, comparison, try parseValue())
        }
        var negated = false
        if token.keyword == "not" {
            negated = true
            position += 1
            skipNewlines()
        }
        let condition: Condition
        switch current.keyword {
        case "in":
            position += 1
            try expect(.symbol("("), what: "'(' after in")
            parenthesisDepth += 1
            var values = [try parseValue()]
            while accept(.symbol(",")) { values.append(try parseValue()) }
            skipNewlines()
            try expect(.symbol(")"), what: "')' or ',' in the list")
            parenthesisDepth -= 1
            condition = .oneOf(field, values)
        case "between":
            position += 1
            let low = try parseValue()
            try expectKeyword("and", help: "write `between LOW and HIGH`")
            condition = .between(field, low, try parseValue())
        case "like":
            position += 1
            condition = .like(field, try parseValue())
        case "contains":
            position += 1
            condition = .contains(field, try parseValue())
        case "is" where !negated:
            position += 1
            skipNewlines()
            let isNot = acceptKeyword("not")
            try expectKeyword("missing", help: "write `is missing` or `is not missing`")
            return isNot ? .negation(.missing(field)) : .missing(field)
        default:
            throw error(expected: "a comparison (=, !=, <, <=, >, >=) or in, between, like, contains, is missing")
        }
        return negated ? .negation(condition) : condition
    }

    // MARK: Pieces

    private mutating func parseField() throws(DQLError) -> FieldReference {
        skipNewlines()
        let token = current
        guard case .word(let name) = token.kind else { throw error(expected: "a field name") }
        guard let field = Schema.field(named: name) else {
            let suggestion = Schema.suggestion(for: name)
            throw DQLError(
                "unknown field '\(name)'", at: token.range,
                help: suggestion.map { "did you mean '\($0)'?" } ?? "`fields` lists the fields", fixIt: suggestion)
        }
        position += 1
        return FieldReference(field: field, range: token.range)
    }

    private mutating func parseValue() throws(DQLError) -> Literal {
        skipNewlines()
        let token = current
        let value: Literal.Value
        switch token.kind {
        case .string(let text): value = .text(text)
        case .number(let text):
            guard let number = Double(text) else { throw DQLError("invalid number \(token.quoted)", at: token.range) }
            value = .number(number)
        case .date(let date): value = .date(date)
        case .size(let bytes): value = .size(bytes)
        case .word(let word) where !["and", "or", "not"].contains(word.lowercased()): value = .text(word)
        case .path(let path): value = .text(path)
        default: throw error(expected: "a value (a quoted string, a number, a date)")
        }
        position += 1
        return Literal(value, range: token.range)
    }

    /// A file name or id after show/fetch: quoted, or bare.
    private mutating func parseName(after keyword: String) throws(DQLError) -> Literal {
        skipNewlines()
        let token = current
        switch token.kind {
        case .string(let text), .path(let text), .word(let text):
            position += 1
            return Literal(.text(text), range: token.range)
        default:
            throw error(expected: "a file name or id after \(keyword), e.g. \(keyword) 'CT_small.dcm'")
        }
    }

    private mutating func parsePath(after keyword: String) throws(DQLError) -> String {
        skipNewlines()
        let token = current
        switch token.kind {
        case .string(let text) where !text.isEmpty, .path(let text):
            position += 1
            return text
        default:
            throw error(expected: "a path after \(keyword), e.g. ./out or '/data/my scans'")
        }
    }

    private mutating func parseCount(what: String, minimum: Int = 0) throws(DQLError) -> Int {
        skipNewlines()
        let token = current
        guard case .number(let text) = token.kind, let value = Int(text), value >= minimum else {
            throw DQLError(
                "\(what) must be a whole number\(minimum > 0 ? " of at least \(minimum)" : ""), not \(token.quoted)",
                at: token.range, isIncomplete: token.kind == .endOfInput)
        }
        position += 1
        return value
    }

    private mutating func parseSize(what: String) throws(DQLError) -> Int {
        skipNewlines()
        let token = current
        switch token.kind {
        case .size(let bytes) where bytes > 0:
            position += 1
            return bytes
        case .number(let text):
            guard let bytes = Int(text), bytes > 0 else { fallthrough }
            position += 1
            return bytes
        default:
            throw DQLError(
                "\(what) must be a size such as 512KB or 1MB, not \(token.quoted)", at: token.range,
                isIncomplete: token.kind == .endOfInput)
        }
    }

    private mutating func parseDirection() -> SortOrder {
        if acceptKeyword("desc") || acceptKeyword("descending") { return .descending }
        _ = acceptKeyword("asc") || acceptKeyword("ascending")
        return .ascending
    }

    private func wordValue(_ token: Token) -> String? {
        switch token.kind {
        case .word(let word), .string(let word): word
        default: nil
        }
    }

    // MARK: Token handling

    private var current: Token {
        tokens[min(position, tokens.count - 1)]
    }

    /// Inside parentheses a newline never ends anything.
    private mutating func skipNewlines() {
        while current.kind == .newline { position += 1 }
    }

    /// Takes an optional keyword. Outside parentheses a newline before it ends the statement.
    private mutating func acceptKeyword(_ keyword: String) -> Bool {
        if parenthesisDepth > 0 { skipNewlines() }
        guard current.keyword == keyword else { return false }
        position += 1
        return true
    }

    private mutating func accept(_ kind: Token.Kind) -> Bool {
        if parenthesisDepth > 0 { skipNewlines() }
        guard current.kind == kind else { return false }
        position += 1
        return true
    }

    private mutating func expectKeyword(_ keyword: String, help: String? = nil) throws(DQLError) {
        skipNewlines()
        guard current.keyword == keyword else {
            throw DQLError(
                "expected '\(keyword)', found \(current.quoted)", at: current.range, help: help,
                isIncomplete: current.kind == .endOfInput)
        }
        position += 1
    }

    private mutating func expect(_ kind: Token.Kind, what: String) throws(DQLError) {
        skipNewlines()
        guard current.kind == kind else { throw error(expected: what) }
        position += 1
    }

    private func error(expected what: String) -> DQLError {
        DQLError(
            "expected \(what), found \(current.quoted)", at: current.range, isIncomplete: current.kind == .endOfInput)
    }
}

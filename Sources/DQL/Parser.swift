import DicomCore
import DicomImage

/// Parses DQL text into statements. Hand-written recursive descent; every error carries the
/// range of the offending token and, where one is clear, a suggestion.
///
/// Statements end with `;`, or with a newline where the statement could be complete: a newline
/// after `where a = 1` ends it, a newline after `and` or inside parentheses does not, and
/// neither does a newline before a line that starts with a word that can only continue a
/// statement (`and`, `or`, `where`, `order`, `by`, `limit`, `offset`, `fetch to`).
///
/// Conditions nest at most ``maximumNesting`` levels, so no input can exhaust the stack.
public struct Parser {
    private var tokens: [Token]
    private var position = 0
    private var parenthesisDepth = 0
    /// Levels of parentheses and `not` around the condition being parsed.
    private var nesting = 0
    /// Values in the statement so far.
    private var values = 0
    /// Keywords tried at `triedPosition` and not found: what a misspelled word there might
    /// have meant.
    private var tried: [Keyword] = []
    private var triedPosition = -1

    /// How deep conditions may nest (parentheses and `not`).
    public static let maximumNesting = 64
    /// How many values one statement may hold.
    public static let maximumValues = 10_000

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
            throw DQLError(
                .expectedStatement(found: "end of input", suggestion: nil, continuation: false),
                at: SourceRange(.start, .start), isIncomplete: true)
        }
        if statements.count > 1 {
            throw DQLError(
                .expectedEndOfStatement(found: "another statement", suggestion: nil), at: statements[1].range)
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
            values = 0
            let statement = try parseStatement()
            let range = start.union(tokens[max(0, position - 1)].range)
            skipContinuationNewlines()
            switch current.kind {
            case .semicolon, .newline, .endOfInput: break
            default:
                throw DQLError(
                    .expectedEndOfStatement(found: current.quoted, suggestion: suggestion(for: current)),
                    at: current.range)
            }
            statements.append(ParsedStatement(statement: statement, range: range))
        }
    }

    // MARK: Statements

    private mutating func parseStatement() throws(DQLError) -> Statement {
        let token = current
        guard let keyword = token.keyword.flatMap(Keyword.init(word:)), keyword.startsStatement else {
            let continuation = token.keyword.flatMap(Keyword.init(word:))?.continuesStatement == true
            let suggestion = token.keyword.flatMap {
                Suggestion.closest(to: $0, among: Keyword.statements.map(\.rawValue))
            }
            throw DQLError(
                .expectedStatement(found: token.quoted, suggestion: suggestion, continuation: continuation),
                at: token.range, isIncomplete: token.kind == .endOfInput)
        }
        position += 1
        switch keyword {
        case .find: return .find(try parseFind())
        case .count: return .count(try parseCount())
        case .show:
            // `show study '1.2.3'`: a level, then its key; `show study` alone is a file so named.
            if let word = wordValue(current) ?? pathValue(current),
                let level = ["patient": Level.patients, "study": .studies, "series": .series][word.lowercased()],
                position + 1 < tokens.count, Self.isName(tokens[position + 1])
            {
                position += 1
                return .showLevel(level, try parseName(after: "show \(level.singular)"))
            }
            return .show(try parseName(after: "show"))
        case .fetch:
            let name = try parseName(after: "fetch")
            try expectKeyword(.to)
            let directory = try parsePath(after: "to")
            let layout = try parseFetchLayout()
            return .fetch(name, to: directory, layout: layout, existing: parseExistingFiles())
        case .load: return .load(try parseLoad())
        case .delete:
            let level = parseLevel()
            try expectKeyword(.where)
            return .delete(try parseCondition(), level: level)
        case .vacuum: return .vacuum
        case .migrate: return .migrate
        case .fields: return .fields
        case .stats: return .stats
        case .preview: return .preview(try parsePreview())
        case .index, .unindex:
            let reference = try parseField()
            guard reference.field.tag != nil else {
                throw DQLError(.ownField(reference.field.name, unindex: keyword == .unindex), at: reference.range)
            }
            return keyword == .index ? .index(reference) : .unindex(reference)
        case .explain:
            skipNewlines()
            if current.keyword == Keyword.explain.rawValue {
                throw DQLError(.explainOfExplain, at: current.range)
            }
            return .explain(try parseStatement())
        default: return .set(try parseSetting())
        }
    }

    /// `preview NAME [frame N] [window C/W | PRESET] [size N] [to FILE.png]`, options in any order.
    private mutating func parsePreview() throws(DQLError) -> PreviewStatement {
        let name = try parseName(after: "preview")
        return PreviewStatement(name: name, picture: try parsePictureOptions())
    }

    /// `[frame N] [window C/W | PRESET] [size N] [to FILE.png]`, in any order; `sizes` are the
    /// sizes allowed (a contact sheet's cells are smaller than a picture may be).
    private mutating func parsePictureOptions(sizes: ClosedRange<Int> = 16...4096) throws(DQLError) -> PictureOptions {
        var picture = PictureOptions()
        while true {
            if acceptKeyword(.frame) {
                picture.frame = try parseWholeNumber("frame", in: 1...1_000_000)
            } else if acceptKeyword(.window) {
                picture.window = try parseWindow()
            } else if acceptKeyword(.size) {
                picture.size = try parseWholeNumber("size", in: sizes)
            } else if acceptKeyword(.to) {
                picture.file = try parsePath(after: "to")
            } else {
                return picture
            }
        }
    }

    /// `40/400` (centre and width; `-600/1500`), or a preset's name (`lung`).
    private mutating func parseWindow() throws(DQLError) -> WindowChoice {
        skipNewlines()
        let first = current
        let allowed =
            "CENTER/WIDTH such as 40/400, or a preset: " + Window.presets.map(\.name).joined(separator: ", ")
        func invalid(_ token: Token) -> DQLError {
            DQLError(
                .invalidSettingValue(setting: "window", allowed: allowed, found: token.quoted), at: token.range,
                isIncomplete: token.kind == .endOfInput)
        }
        if case .word(let name) = first.kind {
            guard Window.preset(named: name) != nil else { throw invalid(first) }
            position += 1
            return .preset(name.lowercased())
        }
        guard case .number(let centerText) = first.kind, let center = Double(centerText) else { throw invalid(first) }
        position += 1
        // The lexer reads `/400` as a path (it starts with a slash).
        var widthText: String?
        var widthToken = current
        if case .path(let text) = current.kind, text.hasPrefix("/") {
            position += 1
            widthText = String(text.dropFirst())
            if widthText == "", case .number(let next) = current.kind {
                widthToken = current
                position += 1
                widthText = next
            }
        }
        guard center.isFinite else { throw invalid(first) }
        guard let widthText else { throw invalid(current) }
        guard let width = Double(widthText), width.isFinite, width >= 1 else {
            throw DQLError(
                .invalidSettingValue(
                    setting: "the window's width", allowed: "a number of at least 1",
                    found: "'\(excerpt(widthText))'"), at: widthToken.range)
        }
        return .values(center: center, width: width)
    }

    /// `patients`, `studies`, `series` or `instances` after find, count or delete; instances
    /// when none is named. `series` followed by `,` is the Series Description field in a list
    /// of fields (`find series, patient`), not the level.
    private mutating func parseLevel() -> Level {
        note(Keyword.levels)
        guard let word = current.keyword, let level = Level(rawValue: word) else { return .instances }
        if level == .series, position + 1 < tokens.count, tokens[position + 1].kind == .symbol(",") {
            return .instances
        }
        position += 1
        return level
    }

    /// A column of a level's rows, by name (`numberOfSeries`) or by its field (`date`).
    private mutating func parseLevelColumn(_ level: Level) throws(DQLError) -> LevelColumnReference {
        skipNewlines()
        let token = current
        guard case .word(let name) = token.kind else { throw error(expected: .fieldName) }
        guard let column = level.column(named: name) else {
            let names = level.columns.map(\.name)
            // `studies` for numberOfStudies, else the closest name.
            let best =
                level.column(named: "numberOf" + name)?.name
                ?? Suggestion.closest(to: name, among: names + Schema.fieldNames).flatMap {
                    level.column(named: $0)?.name
                }
            throw DQLError(
                .noSuchLevelColumn(name, level: level.singular, columns: names, suggestion: best), at: token.range)
        }
        position += 1
        return LevelColumnReference(column: column, range: token.range)
    }

    private mutating func parseFind() throws(DQLError) -> FindStatement {
        var find = FindStatement()
        let clauses: [Keyword] = [.where, .order, .limit, .offset, .fetch, .preview]
        find.level = parseLevel()
        if find.level != .instances {
            try parseLevelFind(&find, clauses: clauses)
        } else if current.kind == .symbol("*") {
            position += 1
            find.projection = .all
        } else if case .word = current.kind, !clauses.contains(where: { current.keyword == $0.rawValue }) {
            note(clauses)
            var fields = [try parseField()]
            while accept(.symbol(",")) { fields.append(try parseField()) }
            find.projection = .fields(fields)
        }
        if acceptKeyword(.where) { find.condition = try parseCondition() }
        if acceptKeyword(.order) {
            try expectKeyword(.by)
            if find.level == .instances {
                let field = try parseField()
                find.order = Ordering(field: field, direction: parseDirection())
            } else {
                let column = try parseLevelColumn(find.level)
                find.levelOrder = LevelOrdering(column: column, direction: parseDirection())
            }
        }
        var limitToken: Token?
        if acceptKeyword(.limit) {
            skipNewlines()
            limitToken = current
            find.limit = try parseWholeNumber("limit", in: Self.rowCounts)
            if acceptKeyword(.offset) { find.offset = try parseWholeNumber("offset", in: Self.rowCounts) }
        } else if current.keyword == Keyword.offset.rawValue {
            throw DQLError(.offsetWithoutLimit, at: current.range)
        }
        if acceptKeyword(.fetch) {
            try expectKeyword(.to)
            find.fetchDirectory = try parsePath(after: "to")
            find.fetchLayout = try parseFetchLayout()
            find.existingFiles = parseExistingFiles()
        } else if acceptKeyword(.preview) {
            let keyword = tokens[position - 1]
            guard find.level == .instances else {
                throw DQLError(.contactSheetOfLevel(level: find.level.rawValue), at: keyword.range)
            }
            if let limit = find.limit, let limitToken, limit > FindStatement.contactSheetLimit || limit == 0 {
                throw DQLError(
                    .invalidSettingValue(
                        setting: "limit",
                        allowed: "a whole number from 1 to \(FindStatement.contactSheetLimit) for a contact sheet",
                        found: limitToken.quoted), at: limitToken.range)
            }
            find.contactSheet = try parsePictureOptions(sizes: 16...FindStatement.contactSheetCellLimit)
        }
        return find
    }

    /// The columns of `find studies|series|patients`: `*` or none for all of them, or a list.
    private mutating func parseLevelFind(_ find: inout FindStatement, clauses: [Keyword]) throws(DQLError) {
        if current.kind == .symbol("*") {
            position += 1
        } else if case .word = current.kind, !clauses.contains(where: { current.keyword == $0.rawValue }) {
            note(clauses)
            var columns = [try parseLevelColumn(find.level)]
            while accept(.symbol(",")) { columns.append(try parseLevelColumn(find.level)) }
            find.levelColumns = columns
        }
    }

    /// `as '{patientId}/{studyUid}/{seriesUid}/{sopUid}.dcm'` after a fetch's directory.
    private mutating func parseFetchLayout() throws(DQLError) -> FetchTemplate? {
        guard acceptKeyword(.as) else { return nil }
        skipNewlines()
        let token = current
        guard case .string(let text) = token.kind else {
            throw DQLError(
                .invalidFetchLayout("after as, a layout in quotes, such as '{patientId}/{studyUid}/{sopUid}.dcm'"),
                at: token.range, isIncomplete: token.kind == .endOfInput)
        }
        position += 1
        do {
            return try FetchTemplate(text)
        } catch {
            // At the character in the quoted text (past the opening quote).
            var start = token.range.start
            start.column += 1 + error.offset
            start.offset += 1 + text.prefix(error.offset).utf8.count
            let range = start < token.range.end ? SourceRange(start, start) : token.range
            if let name = error.unknownField {
                // Layouts name dql's own fields, which every document holds.
                if let attribute = AttributeFields.field(named: name), attribute.tag != nil {
                    throw DQLError(
                        .invalidFetchLayout(
                            "a layout names dql's own fields (`fields` lists them); \(attribute.name) is an attribute of the header"
                        ), at: range)
                }
                let best = Suggestion.closest(to: name, among: Schema.fieldNames)
                throw DQLError(.unknownField(name, suggestion: best.flatMap(Schema.field(named:))?.name), at: range)
            }
            throw DQLError(.invalidFetchLayout(error.message), at: range)
        }
    }

    /// `overwrite` or `rename` after a fetch's directory.
    private mutating func parseExistingFiles() -> ExistingFiles? {
        if acceptKeyword(.overwrite) { return .overwrite }
        if acceptKeyword(.rename) { return .rename }
        return nil
    }

    /// Limits and offsets: up to a billion rows.
    public static let rowCounts = 0...1_000_000_000

    private mutating func parseCount() throws(DQLError) -> CountStatement {
        var count = CountStatement()
        count.level = parseLevel()
        if acceptKeyword(.where) { count.condition = try parseCondition() }
        if acceptKeyword(.by) {
            count.groupBy = [try parseField()]
            while accept(.symbol(",")) { count.groupBy.append(try parseField()) }
        }
        let orderToken = current
        if acceptKeyword(.order) {
            if count.groupBy.isEmpty { throw DQLError(.countOrderWithoutGroups, at: orderToken.range) }
            try expectKeyword(.by)
            skipNewlines()
            if current.keyword == Keyword.count.rawValue {
                position += 1
                count.order = .count(parseDirection())
            } else {
                let field = try parseField()
                count.order = .field(field, parseDirection())
            }
        }
        if acceptKeyword(.limit) { count.limit = try parseWholeNumber("limit", in: Self.rowCounts) }
        return count
    }

    private mutating func parseLoad() throws(DQLError) -> LoadStatement {
        var load = LoadStatement(path: try parsePath(after: "load"))
        while true {
            if acceptKeyword(.recursive) {
                load.recursive = true
            } else if acceptKeyword(.chunk) {
                load.chunkSize = try parseSize(.chunk)
            } else if acceptKeyword(.connections) {
                load.connections = try parseCount(.connections)
            } else if acceptKeyword(.window) {
                load.window = try parseCount(.window)
            } else {
                return load
            }
        }
    }

    private mutating func parseSetting() throws(DQLError) -> Setting {
        skipNewlines()
        let nameToken = current
        guard let word = nameToken.keyword else {
            throw DQLError(
                .expected(.settingName, found: nameToken.quoted), at: nameToken.range,
                isIncomplete: nameToken.kind == .endOfInput)
        }
        guard let name = SettingName(word: word) else {
            throw DQLError(
                .unknownSetting(
                    word, suggestion: Suggestion.closest(to: word, among: SettingName.allCases.map(\.rawValue))),
                at: nameToken.range)
        }
        position += 1
        _ = accept(.symbol("="))
        skipNewlines()
        switch name {
        case .chunk: return .chunkSize(try parseSize(name))
        case .connections: return .connections(try parseCount(name))
        case .window: return .window(try parseCount(name))
        case .timeout: return .timeout(try parseCount(name))
        case .replicas: return .replicas(try parseCount(name))
        case .format:
            let token = current
            guard let value = wordValue(token), let format = OutputFormat(rawValue: value.lowercased()) else {
                throw invalidValue(name, token)
            }
            position += 1
            return .format(format)
        case .timing: return .timing(try parseOnOff(name))
        case .confirm: return .confirm(try parseOnOff(name))
        }
    }

    private mutating func parseOnOff(_ name: SettingName) throws(DQLError) -> Bool {
        let token = current
        switch wordValue(token)?.lowercased() {
        case "on", "true":
            position += 1
            return true
        case "off", "false":
            position += 1
            return false
        default: throw invalidValue(name, token)
        }
    }

    // MARK: Conditions

    mutating func parseCondition() throws(DQLError) -> Condition {
        var terms = [try parseConjunction()]
        while acceptKeyword(.or) { terms.append(try parseConjunction()) }
        return .any(terms)
    }

    private mutating func parseConjunction() throws(DQLError) -> Condition {
        var terms = [try parseUnary()]
        while acceptKeyword(.and) { terms.append(try parseUnary()) }
        return .all(terms)
    }

    private mutating func parseUnary() throws(DQLError) -> Condition {
        skipNewlines()
        note([.not])
        if current.keyword == Keyword.not.rawValue || current.kind == .symbol("(") {
            guard nesting < Self.maximumNesting else {
                throw DQLError(.nestingTooDeep(limit: Self.maximumNesting), at: current.range)
            }
            nesting += 1
            defer { nesting -= 1 }
            if acceptKeyword(.not) { return .negation(try parseUnary()) }
            let open = current
            position += 1
            parenthesisDepth += 1
            let inner = try parseCondition()
            skipNewlines()
            guard current.kind == .symbol(")") else {
                throw DQLError(
                    .unclosedParenthesis(openedAt: open.range.start, found: current.quoted), at: current.range,
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
            default: throw error(expected: .comparison)
            }
            position += 1
            return .compare(field, comparison, try parseValue())
        }
        var negated = false
        if token.keyword == Keyword.not.rawValue {
            negated = true
            position += 1
            skipNewlines()
        }
        let condition: Condition
        note([.in, .between, .like, .contains] + (negated ? [] : [.is, .not]))
        switch current.keyword.flatMap(Keyword.init(word:)) {
        case .in:
            position += 1
            try expect(.symbol("("), .listOpen)
            parenthesisDepth += 1
            var values = [try parseValue()]
            while accept(.symbol(",")) { values.append(try parseValue()) }
            skipNewlines()
            try expect(.symbol(")"), .listContinuation)
            parenthesisDepth -= 1
            condition = .oneOf(field, values)
        case .between:
            position += 1
            let low = try parseValue()
            try expectKeyword(.and)
            condition = .between(field, low, try parseValue())
        case .like:
            position += 1
            condition = .like(field, try parseValue())
        case .contains:
            position += 1
            condition = .contains(field, try parseValue())
        case .is where !negated:
            position += 1
            skipNewlines()
            let isNot = acceptKeyword(.not)
            try expectKeyword(.missing)
            return isNot ? .negation(.missing(field)) : .missing(field)
        default:
            throw error(expected: .comparison)
        }
        return negated ? .negation(condition) : condition
    }

    // MARK: Pieces

    private mutating func parseField() throws(DQLError) -> FieldReference {
        skipNewlines()
        let token = current
        guard case .word(let name) = token.kind else { throw error(expected: .fieldName) }
        guard let field = Schema.field(named: name) ?? AttributeFields.field(named: name) else {
            // A keyword that fits here may be what was meant rather than a field.
            let keywords = triedPosition == position ? tried.map(\.rawValue) : []
            let best =
                Suggestion.closest(to: name, among: Schema.fieldNames + keywords)
                ?? Suggestion.closest(to: name, among: AttributeFields.keywords)
            if let best, keywords.contains(best) {
                throw DQLError(.misspelledKeyword(name, keyword: best), at: token.range)
            }
            let suggestion = best.flatMap { Schema.field(named: $0) ?? AttributeFields.field(named: $0) }?.name
            throw DQLError(.unknownField(name, suggestion: suggestion), at: token.range)
        }
        // Sequences and bulk data hold no value to compare or show.
        if let vr = field.vr, AttributeFields.kind(of: vr) == nil {
            let written = field.tag.flatMap { DataDictionary.entry(for: $0)?.vrText } ?? vr.rawValue
            throw DQLError(.attributeWithoutValue(field.name, vr: written), at: token.range)
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
            guard let number = Double(text), number.isFinite else {
                throw DQLError(.numberOutOfRange(text), at: token.range)
            }
            value = .number(number)
        case .date(let date): value = .date(date)
        case .size(let bytes): value = .size(bytes)
        case .word(let word) where Keyword(word: word)?.isConditionWord != true: value = .text(word)
        case .path(let path): value = .text(path)
        default: throw error(expected: .value)
        }
        values += 1
        guard values <= Self.maximumValues else {
            throw DQLError(.tooManyValues(limit: Self.maximumValues), at: token.range)
        }
        position += 1
        return Literal(value, range: token.range, written: token.text)
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
            throw error(expected: .name(after: keyword))
        }
    }

    private mutating func parsePath(after keyword: String) throws(DQLError) -> PathLiteral {
        skipNewlines()
        let token = current
        switch token.kind {
        case .string(let text) where !text.isEmpty, .path(let text):
            position += 1
            return PathLiteral(text, range: token.range)
        default:
            throw error(expected: .path(after: keyword))
        }
    }

    /// A whole number within `range`, for `limit` and `offset`.
    private mutating func parseWholeNumber(_ what: String, in range: ClosedRange<Int>) throws(DQLError) -> Int {
        skipNewlines()
        let token = current
        guard case .number(let text) = token.kind, let value = Int(text), range.contains(value) else {
            throw DQLError(
                .invalidSettingValue(
                    setting: what, allowed: "a whole number from \(range.lowerBound) to \(range.upperBound)",
                    found: token.quoted),
                at: token.range, isIncomplete: token.kind == .endOfInput)
        }
        position += 1
        return value
    }

    /// The value of a count setting (connections, window, timeout), within its limits.
    private mutating func parseCount(_ name: SettingName) throws(DQLError) -> Int {
        skipNewlines()
        let token = current
        let range: ClosedRange<Int>
        switch name.definition.value {
        case .count(let limits), .milliseconds(let limits): range = limits
        default: range = 0...0
        }
        guard case .number(let text) = token.kind, let value = Int(text), range.contains(value) else {
            throw invalidValue(name, token)
        }
        position += 1
        return value
    }

    /// The value of a size setting (chunk), within its limits.
    private mutating func parseSize(_ name: SettingName) throws(DQLError) -> Int {
        skipNewlines()
        let token = current
        guard case .size(let limits) = name.definition.value else { throw invalidValue(name, token) }
        let bytes: Int?
        switch token.kind {
        case .size(let size): bytes = size
        case .number(let text): bytes = Int(text)
        default: bytes = nil
        }
        guard let bytes, limits.contains(bytes) else { throw invalidValue(name, token) }
        position += 1
        return bytes
    }

    private func invalidValue(_ name: SettingName, _ token: Token) -> DQLError {
        DQLError(
            .invalidSettingValue(setting: name.rawValue, allowed: name.definition.allowed, found: token.quoted),
            at: token.range, isIncomplete: token.kind == .endOfInput)
    }

    private mutating func parseDirection() -> SortOrder {
        if acceptKeyword(.desc) || acceptKeyword(.descending) { return .descending }
        _ = acceptKeyword(.asc) || acceptKeyword(.ascending)
        return .ascending
    }

    private func pathValue(_ token: Token) -> String? {
        if case .path(let text) = token.kind { text } else { nil }
    }

    /// A token that names something (`show` takes it).
    static func isName(_ token: Token) -> Bool {
        switch token.kind {
        case .string, .path, .word, .number: true
        default: false
        }
    }

    private func wordValue(_ token: Token) -> String? {
        switch token.kind {
        case .word(let word), .string(let word): word
        default: nil
        }
    }

    // MARK: Suggestions

    /// Remembers that `keywords` would have fitted at the current position.
    private mutating func note(_ keywords: [Keyword]) {
        if triedPosition != position {
            triedPosition = position
            tried = []
        }
        tried += keywords
    }

    /// The keyword a misspelled word at the current position most likely meant.
    private func keywordSuggestion(for token: Token) -> String? {
        guard triedPosition == position, let word = token.keyword else { return nil }
        return Suggestion.closest(to: word, among: tried.map(\.rawValue))
    }

    /// For "expected end of statement": a keyword that could have continued it.
    private func suggestion(for token: Token) -> String? {
        keywordSuggestion(for: token)
    }

    // MARK: Token handling

    private var current: Token {
        tokens[min(position, tokens.count - 1)]
    }

    /// Inside parentheses a newline never ends anything.
    private mutating func skipNewlines() {
        while current.kind == .newline { position += 1 }
    }

    /// Outside parentheses, newlines followed by a line that can only continue a statement
    /// (`and …`, `order by …`, `fetch to …`) do not end it.
    private mutating func skipContinuationNewlines() {
        guard current.kind == .newline else { return }
        var ahead = position
        while ahead < tokens.count, tokens[ahead].kind == .newline { ahead += 1 }
        guard ahead < tokens.count, let word = tokens[ahead].keyword, let keyword = Keyword(word: word) else { return }
        let isFetchTo = keyword == .fetch && ahead + 1 < tokens.count && tokens[ahead + 1].keyword == "to"
        if keyword.continuesStatement || isFetchTo { position = ahead }
    }

    /// Takes an optional keyword. Outside parentheses a newline before it ends the statement,
    /// unless the keyword can only continue one.
    private mutating func acceptKeyword(_ keyword: Keyword) -> Bool {
        if parenthesisDepth > 0 { skipNewlines() } else { skipContinuationNewlines() }
        guard current.keyword == keyword.rawValue else {
            note([keyword])
            return false
        }
        position += 1
        return true
    }

    private mutating func accept(_ kind: Token.Kind) -> Bool {
        if parenthesisDepth > 0 { skipNewlines() }
        guard current.kind == kind else { return false }
        position += 1
        return true
    }

    private mutating func expectKeyword(_ keyword: Keyword) throws(DQLError) {
        skipNewlines()
        guard current.keyword == keyword.rawValue else {
            note([keyword])
            throw error(expected: .keyword(keyword.rawValue))
        }
        position += 1
    }

    private mutating func expect(_ kind: Token.Kind, _ expectation: DiagnosticMessage.Expectation) throws(DQLError) {
        skipNewlines()
        guard current.kind == kind else { throw error(expected: expectation) }
        position += 1
    }

    private func error(expected expectation: DiagnosticMessage.Expectation) -> DQLError {
        if case .word(let word) = current.kind, let suggestion = keywordSuggestion(for: current) {
            return DQLError(.misspelledKeyword(word, keyword: suggestion), at: current.range)
        }
        return DQLError(
            .expected(expectation, found: current.quoted), at: current.range,
            isIncomplete: current.kind == .endOfInput)
    }
}

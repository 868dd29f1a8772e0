import DicomCore
import Foundation

/// Turns statements into plans: RediSearch commands that are correct by construction. Every
/// literal travels as a `PARAMS` value, every command says `DIALECT 2` and has an explicit
/// `LIMIT` (and `MAX` for sorted aggregates), dates become numeric ranges, and every FT.*
/// command dql sends is built here or by the plan types, so `explain` and the golden tests
/// see all of them. Pure: no I/O.
public struct Compiler: Sendable {
    public var layout: StorageLayout
    public var timeoutMilliseconds: Int
    /// Rows per page when a result is read in full.
    public var pageSize: Int
    /// Attributes the index holds beyond dql's own fields (`index KEYWORD`), by tag.
    public var indexedAttributes: [DicomTag: Field]

    public init(
        layout: StorageLayout = StorageLayout(), timeoutMilliseconds: Int = 10_000, pageSize: Int = 1000,
        indexedAttributes: [DicomTag: Field] = [:]
    ) {
        self.layout = layout
        self.timeoutMilliseconds = timeoutMilliseconds
        self.pageSize = pageSize
        self.indexedAttributes = indexedAttributes
    }

    /// Parses and compiles one statement.
    public func compile(_ source: String) throws(DQLError) -> Plan {
        try compile(Parser.parseStatement(source))
    }

    public func compile(_ written: Statement) throws(DQLError) -> Plan {
        let statement =
            indexedAttributes.isEmpty
            ? written : written.mappingFields { field in field.tag.flatMap { indexedAttributes[$0] } ?? field }
        switch statement {
        case .find(let find) where find.contactSheet != nil:
            // The files listed as a `find` lists them, a sheet's worth at most.
            var listing = find
            listing.contactSheet = nil
            listing.limit = min(find.limit ?? FindStatement.contactSheetLimit, FindStatement.contactSheetLimit)
            return .contactSheet(try compile(.find(listing)), find.contactSheet ?? PictureOptions())
        case .find(let find) where find.level != .instances: return .findLevel(try levelPlan(find))
        case .find(let find) where Self.readsHeaders(find):
            var plan = try scanPlan(
                .find, condition: find.condition, columns: try columns(of: find), order: find.order,
                limit: find.limit, offset: find.offset ?? 0)
            plan.search.fetchDirectory = find.fetchDirectory
            plan.search.fetchLayout = find.fetchLayout
            plan.search.existingFiles = find.existingFiles
            return .scan(plan)
        case .find(let find): return .find(try searchPlan(find))
        // Groups of an attribute (several values, which the server cannot group as one) are
        // counted by dql, indexed or not.
        case .count(let count) where !Self.isIndexed(count.condition) || count.groupBy.contains { $0.field.tag != nil }:
            try checkGroups(count)
            return .scan(
                try scanPlan(
                    .count(
                        level: count.level, groupBy: count.groupBy.map(\.field), order: count.order, limit: count.limit),
                    condition: count.condition, columns: [], order: nil, limit: nil, offset: 0))
        case .count(let count): return .count(try countPlan(count))
        case .show(let name): return .show(lookup(name))
        case .preview(let preview): return .preview(lookup(preview.name), preview)
        case .showLevel(let level, let key): return try showLevelPlan(level, key)
        case .fetch(let name, let directory, let layout, let existing):
            return .fetch(lookup(name), to: directory, layout: layout, existing: existing)
        case .load(let load): return .load(load)
        case .delete(let condition, let level) where level != .instances:
            var plan = try levelPlan(FindStatement(level: level, condition: condition))
            plan.columns = []
            return .deleteLevel(plan)
        case .delete(let condition, _) where !Self.isIndexed(condition):
            return .scan(try scanPlan(.delete, condition: condition, columns: [], order: nil, limit: nil, offset: 0))
        case .delete(let condition, _):
            var plan = try searchPlan(FindStatement(condition: condition))
            plan.returnAttributes = []
            plan.columns = []
            return .delete(plan)
        case .vacuum: return .vacuum
        case .migrate: return .migrate
        case .explain(let inner):
            let plan = try compile(inner)
            return .explain(plan, serverPlan: Self.query(of: plan).map { explainCommand($0) })
        case .fields: return .fields(fieldsPlan())
        case .index(let reference): return .index(attributePlan(reference.field, adding: true))
        case .unindex(let reference): return .unindex(attributePlan(reference.field, adding: false))
        case .stats: return .stats(statsPlan())
        case .set(let setting): return .set(setting)
        }
    }

    static func query(of plan: Plan) -> SearchQuery? {
        switch plan {
        case .find(let search), .delete(let search): search.query
        case .findLevel(let plan), .deleteLevel(let plan): plan.scan?.search.query ?? plan.query
        case .scan(let plan): plan.search.query
        case .count(let count): count.query
        default: nil
        }
    }

    // MARK: Statements

    /// The columns `find` shows.
    func columns(of find: FindStatement) throws(DQLError) -> [Field] {
        switch find.projection {
        case .defaultColumns: return Schema.defaultColumns.compactMap(Schema.field(named:))
        case .all: return Schema.fields
        case .fields(let references):
            try Self.distinct(references.map { ($0.field.name, $0.range) })
            return references.map(\.field)
        }
    }

    /// A column named twice is an error at its second place.
    static func distinct(_ columns: [(name: String, range: SourceRange)]) throws(DQLError) {
        var seen: Set<String> = []
        for column in columns where !seen.insert(column.name).inserted {
            throw DQLError(.columnTwice(column.name), at: column.range)
        }
    }

    /// Whether a `find` of files needs the stored headers: an attribute the index does not
    /// hold in its condition, columns or order.
    static func readsHeaders(_ find: FindStatement) -> Bool {
        // An attribute may hold several values, which the server cannot sort: dql orders by
        // attributes itself, indexed or not, as it does from the headers.
        if !isIndexed(find.condition) || find.order.map({ $0.field.field.tag != nil }) == true { return true }
        if case .fields(let references) = find.projection { return references.contains { !$0.field.isIndexed } }
        return false
    }

    /// Whether the index answers a condition alone.
    static func isIndexed(_ condition: Condition?) -> Bool {
        condition?.fields.allSatisfy(\.isIndexed) ?? true
    }

    /// The part of a condition the index answers and the rest, which dql evaluates on the
    /// headers: the terms of a conjunction split between them; anything else that touches an
    /// attribute the index does not hold is evaluated whole.
    static func split(_ condition: Condition?) -> (indexed: Condition?, residual: Condition?) {
        guard let condition, !isIndexed(condition) else { return (condition, nil) }
        guard case .and(let terms) = condition else { return (nil, condition) }
        let indexed = terms.filter { isIndexed($0) }
        let rest = terms.filter { !isIndexed($0) }
        return (indexed.isEmpty ? nil : .all(indexed), .all(rest))
    }

    /// See ``ScanPlan``.
    func scanPlan(
        _ purpose: ScanPlan.Purpose, condition: Condition?, columns: [Field], order: Ordering?, limit: Int?,
        offset: Int
    ) throws(DQLError) -> ScanPlan {
        let (indexed, residual) = Self.split(condition)
        if let residual { _ = try RowFilter(residual) }
        var needed = columns + (order.map { [$0.field.field] } ?? []) + (residual?.fields ?? [])
        switch purpose {
        case .count(let level, let groupBy, _, _): needed += groupBy + (level.keyField.map { [$0] } ?? [])
        case .keys(let level): needed += level.keyField.map { [$0] } ?? []
        case .find, .delete: break
        }
        var valueFields: [Field] = []
        for field in needed where !valueFields.contains(where: { $0.name == field.name }) { valueFields.append(field) }
        var headerFields: [Field] = []
        var attributes = ["sha256", "name"]
        for field in valueFields {
            if field.isIndexed {
                if !attributes.contains(field.attribute) { attributes.append(field.attribute) }
            } else if !headerFields.contains(where: { $0.tag == field.tag }) {
                headerFields.append(field)
            }
        }
        if !headerFields.isEmpty {
            for path in ["size", "$.chunkSize", "$.headerLength"] where !attributes.contains(path) {
                attributes.append(path)
            }
        }
        let search = SearchPlan(
            index: layout.indexName, query: try compileQuery(indexed), returnAttributes: attributes, columns: [],
            limit: nil, offset: 0, pageSize: pageSize, timeoutMilliseconds: timeoutMilliseconds)
        return ScanPlan(
            purpose: purpose, search: search, residual: residual, columns: columns, order: order, limit: limit,
            offset: offset, headerFields: headerFields, valueFields: valueFields)
    }

    func searchPlan(_ find: FindStatement) throws(DQLError) -> SearchPlan {
        let query = try compileQuery(find.condition)
        let columns = try self.columns(of: find)
        var attributes: [String] = []
        for field in columns where !attributes.contains(field.attribute) { attributes.append(field.attribute) }
        // fetch needs each file's id, name, size, chunk size and check: taken from the rows, the
        // files are fetched without reading their documents again.
        if find.fetchDirectory != nil {
            for attribute in StoredFacts.returnedAttributes where !attributes.contains(attribute) {
                attributes.append(attribute)
            }
        }
        return SearchPlan(
            index: layout.indexName, query: query, returnAttributes: attributes, columns: columns,
            sort: find.order.map { ($0.field.field.attribute, $0.direction) }, limit: find.limit,
            offset: find.offset ?? 0, pageSize: pageSize, timeoutMilliseconds: timeoutMilliseconds,
            fetchDirectory: find.fetchDirectory, fetchLayout: find.fetchLayout, existingFiles: find.existingFiles)
    }

    /// `find studies|series|patients`: see ``LevelPlan``.
    func levelPlan(_ find: FindStatement) throws(DQLError) -> LevelPlan {
        let level = find.level
        let key = level.keyField ?? Schema.fields[0]
        try Self.distinct((find.levelColumns ?? []).map { ($0.column.name, $0.range) })
        let query = try levelQuery(find.condition, level: level)
        var sortKeys: [(property: String, order: SortOrder)] = []
        if let order = find.levelOrder {
            sortKeys = [(order.column.column.property(key: key), order.direction)]
        } else {
            for (name, direction) in level.defaultOrder {
                if let column = level.column(named: name) { sortKeys.append((column.property(key: key), direction)) }
            }
        }
        if !sortKeys.contains(where: { $0.property == key.attribute }) { sortKeys.append((key.attribute, .ascending)) }
        // A condition on the keys of the level and the levels above (a study's studyUid and
        // patientId) selects instances: the rows count those, and fetch and delete take those.
        // Any other condition selects the rows with a matching instance, whole.
        let keys = level.hierarchyKeys
        let wholeRows = find.condition.map { $0.fields.allSatisfy(keys.contains) } ?? true
        let scan =
            Self.isIndexed(find.condition)
            ? nil
            : try scanPlan(.keys(level), condition: find.condition, columns: [], order: nil, limit: nil, offset: 0)
        return LevelPlan(
            index: layout.indexName, level: level, query: query,
            columns: find.levelColumns?.map(\.column) ?? level.defaultColumns, sortKeys: sortKeys, limit: find.limit,
            offset: find.offset ?? 0, pageSize: pageSize, timeoutMilliseconds: timeoutMilliseconds,
            selectsByKeys: wholeRows && scan == nil, fetchDirectory: find.fetchDirectory,
            fetchLayout: find.fetchLayout, existingFiles: find.existingFiles, scan: scan, withSamples: find.withSamples)
    }

    /// A condition at a level: its instances, among those that have the level's key (a file
    /// without a Study Instance UID is in no study).
    func levelQuery(_ condition: Condition?, level: Level) throws(DQLError) -> SearchQuery {
        var query = try compileQuery(condition)
        guard let key = level.keyField else { return query }
        let present = "-ismissing(@\(key.attribute))"
        query.text = condition == nil ? present : "(\(query.text)) " + present
        return query
    }

    /// A field grouped twice, or an order by a field that is not grouped, is an error.
    func checkGroups(_ count: CountStatement) throws(DQLError) {
        var seen: Set<String> = []
        for reference in count.groupBy {
            guard seen.insert(reference.field.name).inserted else {
                throw DQLError(.groupedTwice(field: reference.field.name), at: reference.range)
            }
        }
        if case .field(let reference, _) = count.order, !count.groupBy.contains(where: { $0.field == reference.field })
        {
            throw DQLError(.orderByUngrouped(field: reference.field.name), at: reference.range)
        }
    }

    func countPlan(_ count: CountStatement) throws(DQLError) -> CountPlan {
        let query = try levelQuery(count.condition, level: count.level)
        try checkGroups(count)
        var sortKeys: [(String, SortOrder)]
        switch count.order {
        case nil: sortKeys = [("count", .descending)]
        case .count(let direction): sortKeys = [("count", direction)]
        case .field(let reference, let direction):
            sortKeys = [(Self.groupName(reference.field), direction)]
        }
        // Ties in a stable order: by the grouped values.
        for field in count.groupBy.map(\.field) where !sortKeys.contains(where: { $0.0 == Self.groupName(field) }) {
            sortKeys.append((Self.groupName(field), .ascending))
        }
        if count.groupBy.isEmpty { sortKeys = [] }
        // The server sorts by at most 8 keys; ties past them stay in the server's order.
        sortKeys = Array(sortKeys.prefix(Self.maximumSortKeys))
        return CountPlan(
            index: layout.indexName, level: count.level, query: query, groupBy: count.groupBy.map(\.field),
            sortKeys: sortKeys, limit: count.limit, pageSize: pageSize, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Keys an aggregate sorts by at most (RediSearch refuses more).
    static let maximumSortKeys = 8

    /// The name a grouped field has in aggregate rows.
    static func groupName(_ field: Field) -> String {
        field.attribute
    }

    func lookup(_ name: Literal) -> FileLookup {
        let text: String
        switch name.value {
        case .text(let value): text = value
        case .number(let number): text = Self.format(number)
        case .date(let date): text = String(date)
        case .size(let size): text = String(size)
        }
        if text.count == 64, text.allSatisfy({ $0.isHexDigit }) {
            return FileLookup(given: text, range: name.range, id: text.lowercased(), command: nil)
        }
        // Two matches are enough to tell a unique name from an ambiguous one.
        var builder = QueryBuilder()
        // Any name the file was loaded under finds it.
        let nameField = Schema.field(named: "name")?.matchAttribute ?? "names"
        let query = SearchQuery(
            text: "@\(nameField):{\(builder.tagParameter(text))}", parameters: builder.parameters)
        let search = SearchPlan(
            index: layout.indexName, query: query, returnAttributes: [], columns: [], limit: 2, offset: 0,
            pageSize: pageSize, timeoutMilliseconds: timeoutMilliseconds)
        return FileLookup(given: text, range: name.range, id: nil, command: search.command(offset: 0, count: 2))
    }

    /// The server's own plan for a query (`FT.EXPLAIN`).
    func explainCommand(_ query: SearchQuery) -> [String] {
        ["FT.EXPLAIN", layout.indexName] + query.queryArguments + query.paramsArguments + ["DIALECT", "2"]
    }

    /// `show study '1.2.3'`: the study's row, and its series (a patient's studies, a series'
    /// files).
    func showLevelPlan(_ level: Level, _ key: Literal) throws(DQLError) -> Plan {
        let field = level.keyField ?? Schema.fields[0]
        let condition = Condition.compare(FieldReference(field: field, range: key.range), .equal, key)
        let row = try levelPlan(FindStatement(level: level, condition: condition))
        let children: Plan
        switch level {
        case .patients: children = .findLevel(try levelPlan(FindStatement(level: .studies, condition: condition)))
        case .studies: children = .findLevel(try levelPlan(FindStatement(level: .series, condition: condition)))
        default:
            let columns = ["name", "sopUid", "rows", "columns", "frames", "size"].compactMap(Schema.field(named:))
            var files = try searchPlan(
                FindStatement(
                    projection: .fields(columns.map { FieldReference(field: $0, range: key.range) }),
                    condition: condition))
            files.sort = ("name", .ascending)
            children = .find(files)
        }
        return .showLevel(row, children: children)
    }

    /// `index` and `unindex`: see ``AttributePlan``.
    func attributePlan(_ field: Field, adding: Bool) -> AttributePlan {
        let indexed = IndexedAttributes.indexed(field.tag.map(AttributeFields.field(for:)) ?? field)
        return AttributePlan(
            field: indexed,
            alterCommand: adding
                ? ["FT.ALTER", layout.indexName, "SCHEMA", "ADD"] + IndexedAttributes.schemaArguments(indexed) : [])
    }

    /// `stats`: how many files, and their bytes summed.
    func statsPlan() -> StatsPlan {
        StatsPlan(
            filesCommand: [
                "FT.SEARCH", layout.indexName, "*", "LIMIT", "0", "0", "TIMEOUT", String(timeoutMilliseconds),
                "DIALECT", "2",
            ],
            bytesCommand: [
                "FT.AGGREGATE", layout.indexName, "*", "TIMEOUT", String(timeoutMilliseconds), "GROUPBY", "0",
                "REDUCE", "SUM", "1", "@size", "AS", "bytes", "DIALECT", "2",
            ])
    }

    /// `fields`: every field with its five most common stored values.
    func fieldsPlan() -> FieldsPlan {
        let attributes = indexedAttributes.values.sorted { ($0.tag ?? DicomTag(0)) < ($1.tag ?? DicomTag(0)) }
        return FieldsPlan(
            fields: (Schema.fields + attributes).map { field in
                (field, field.name == "id" ? nil : storedValuesCommand(field, mostCommonFirst: true, max: 5))
            })
    }

    /// Distinct stored values of `field` (FT.TAGVALS would give tags lower-cased): the most
    /// common first, or in value order.
    public func storedValuesCommand(_ field: Field, mostCommonFirst: Bool, max: Int) -> [String] {
        let group = "@" + field.attribute
        let sort = mostCommonFirst ? ["SORTBY", "4", "@n", "DESC", group, "ASC"] : ["SORTBY", "2", group, "ASC"]
        return ["FT.AGGREGATE", layout.indexName, "*", "TIMEOUT", String(timeoutMilliseconds), "GROUPBY", "1", group]
            + ["REDUCE", "COUNT", "0", "AS", "n"] + sort + ["MAX", String(max), "DIALECT", "2"]
    }

    /// Whether any stored file has exactly `size` bytes (the loader's test for bytes that may
    /// be stored already): `count where size = N`.
    public func sizeLookupCommand(_ size: Int) -> [String] {
        var builder = QueryBuilder()
        let value = builder.parameter(String(size))
        let query = SearchQuery(text: "@size:[\(value) \(value)]", parameters: builder.parameters)
        return CountPlan(
            index: layout.indexName, query: query, groupBy: [], sortKeys: [], limit: nil, pageSize: pageSize,
            timeoutMilliseconds: timeoutMilliseconds
        ).command(offset: 0)
    }

    /// How many different values of its field a `like` pattern matches as the server expands
    /// it (at most MAXEXPANSIONS): the distinct values grouped, then counted.
    public func patternValuesCommand(_ pattern: PatternMatch) -> [String] {
        var builder = QueryBuilder()
        let value = builder.parameter(pattern.serverPattern)
        let attribute = pattern.field.attribute
        var argv = ["FT.AGGREGATE", layout.indexName, "@" + pattern.field.matchAttribute + ":{w'" + value + "'}"]
        argv += ["TIMEOUT", String(timeoutMilliseconds), "GROUPBY", "1", "@" + attribute]
        argv += ["GROUPBY", "0", "REDUCE", "COUNT", "0", "AS", "values"]
        argv += SearchQuery(text: "", parameters: builder.parameters).paramsArguments
        return argv + ["DIALECT", "2"]
    }

    // MARK: Conditions

    /// The query text and parameters for a condition (`*` for none).
    public func compileQuery(_ condition: Condition?) throws(DQLError) -> SearchQuery {
        guard let condition else { return SearchQuery(text: "*", parameters: []) }
        var builder = QueryBuilder()
        let text = try builder.compile(condition)
        return SearchQuery(
            text: text, parameters: builder.parameters, patterns: builder.patterns, verbatim: builder.usesWords)
    }

    /// A number as a query parameter: integral values without a fraction.
    static func format(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15, let integer = Int64(exactly: number) {
            return String(integer)
        }
        return "\(number)"
    }
}

/// Builds RediSearch query text for conditions, collecting literals as `$p0, $p1, …`.
struct QueryBuilder {
    var parameters: [(String, String)] = []
    /// The `like` patterns with wildcards, which the server may expand only so far.
    var patterns: [PatternMatch] = []
    /// Whether the query searches words (`contains`): then it must say VERBATIM, or the
    /// server would match other forms of each word (its stemmer makes `plains` find `Plain`).
    var usesWords = false

    /// Words one `contains` may hold.
    static let maximumWords = 100

    /// Where RediSearch cuts text into words besides whitespace: every ASCII punctuation mark
    /// but `_` (measured on the server: `ab_cd` is one word, `ab/cd` two).
    static let wordSeparators: Set<Character> = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~")

    mutating func parameter(_ value: String) -> String {
        let name = "p\(parameters.count)"
        parameters.append((name, value))
        return "$" + name
    }

    /// A parameter matched against a TAG value. The index keeps tag values as they are, but a
    /// TAG parameter still reads `\\` as an escaped backslash, so backslashes are doubled to
    /// stand for themselves (checked against the server by EscapingPropertyTests).
    /// `@attr:{value}`. A value with `\\` in it (DICOM's separator between the values of a
    /// multi-valued attribute, as `dump` and `show` print one: `ORIGINAL\\PRIMARY`) also
    /// matches an attribute stored as those values, each one a tag of its own.
    mutating func tagMatch(_ field: Field, _ text: String) -> String {
        let whole = "@\(field.matchAttribute):{\(tagParameter(text))}"
        let parts = text.split(separator: "\\").map { field.normalize(String($0)) }.filter { !$0.isEmpty }
        guard parts.count > 1 else { return whole }
        let each = parts.map { "@\(field.matchAttribute):{\(tagParameter($0))}" }.joined(separator: " ")
        return "(\(whole) | (\(each)))"
    }

    mutating func tagParameter(_ value: String) -> String {
        parameter(Self.escapingBackslashes(value))
    }

    static func escapingBackslashes(_ value: String) -> String {
        value.utf8.contains(UInt8(ascii: "\\")) ? value.replacing("\\", with: "\\\\") : value
    }

    /// A word in lower and in upper case, as the index could hold it once the server has
    /// lower-cased its ASCII letters; one spelling when they are the same (ASCII words).
    static func caseVariants(_ word: String) -> [String] {
        let lower = word.lowercased()
        let upper = word.uppercased()
        func asciiLowered(_ text: String) -> String {
            String(
                String.UnicodeScalarView(
                    text.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar(UInt8($0.value + 32)) : $0 }))
        }
        return asciiLowered(upper) == asciiLowered(lower) ? [lower] : [lower, upper]
    }

    mutating func compile(_ condition: Condition) throws(DQLError) -> String {
        switch condition {
        case .and(let terms):
            var parts: [String] = []
            for term in terms { parts.append(try compile(term)) }
            return "(" + parts.joined(separator: " ") + ")"
        case .or(let terms):
            var parts: [String] = []
            for term in terms { parts.append(try compile(term)) }
            return "(" + parts.joined(separator: " | ") + ")"
        case .not(let inner):
            return "-" + (try compile(inner))
        case .missing(let reference):
            return "ismissing(@\(reference.field.matchAttribute))"
        case .compare(let reference, let comparison, let literal):
            return try compare(reference, comparison, literal)
        case .oneOf(let reference, let literals):
            switch reference.field.kind {
            case .tag:
                var texts: [String] = []
                for literal in literals { texts.append(try text(literal, for: reference)) }
                // Values with `\\` each match as `=` does (whole, or as multiple values).
                if texts.contains(where: { $0.utf8.contains(UInt8(ascii: "\\")) }) {
                    var matches: [String] = []
                    for text in texts { matches.append(tagMatch(reference.field, text)) }
                    return "(" + matches.joined(separator: " | ") + ")"
                }
                var names: [String] = []
                for text in texts { names.append(tagParameter(text)) }
                return "@\(reference.field.matchAttribute):{" + names.joined(separator: " | ") + "}"
            case .numeric, .date, .year:
                var parts: [String] = []
                for literal in literals { parts.append(try compare(reference, .equal, literal)) }
                return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " | ") + ")"
            }
        case .between(let reference, let low, let high):
            guard reference.field.kind != .tag else {
                throw DQLError(.betweenOnText(field: reference.field.name), at: reference.range)
            }
            let lower = try bounds(reference, low).lower
            let upper = try bounds(reference, high).upper
            if upper < lower {
                throw DQLError(
                    .betweenReversed(low: Compiler.format(lower), high: Compiler.format(upper)),
                    at: low.range.union(high.range))
            }
            return range(reference, lower: (lower, false), upper: (upper, false))
        case .like(let reference, let literal):
            guard reference.field.kind == .tag else {
                throw DQLError(
                    .likeOnNonText(field: reference.field.name, type: reference.field.kindName),
                    at: reference.range)
            }
            let written = try text(literal, for: reference)
            let pattern = LikePattern(written)
            // Without a wildcard it is an exact value (`\\*` matching a literal star).
            guard pattern.hasWildcard else {
                return "@\(reference.field.matchAttribute):{\(tagParameter(pattern.literalText))}"
            }
            // The server's wildcards cannot be escaped: every `*` and `?` in one is a wildcard.
            guard !pattern.hasLiteralWildcardCharacter else {
                throw DQLError(.likeLiteralWildcard, at: literal.range)
            }
            patterns.append(
                PatternMatch(
                    field: reference.field, pattern: written, serverPattern: pattern.serverText, range: literal.range))
            return "@\(reference.field.matchAttribute):{w'\(parameter(pattern.serverText))'}"
        case .contains(let reference, let literal):
            guard let words = reference.field.wordAttribute else {
                let wordy = Schema.fields.filter { $0.wordAttribute != nil }.map(\.name)
                throw DQLError(
                    .containsWithoutWordIndex(field: reference.field.name, wordFields: wordy), at: reference.range)
            }
            // Words as the index cut them: at its separators only, so `MR_small` is one word, as
            // it was indexed (cutting at `_` too found nothing).
            let terms = try text(literal, for: reference).split { Self.wordSeparators.contains($0) || $0.isWhitespace }
                .filter { $0.contains { $0.isLetter || $0.isNumber } }
            guard !terms.isEmpty else { throw DQLError(.containsWithoutWords, at: literal.range) }
            // The server's query parser overflows past about 250 terms.
            guard terms.count <= Self.maximumWords else {
                throw DQLError(.tooManyWords(limit: Self.maximumWords), at: literal.range)
            }
            usesWords = true
            // The server lower-cases only ASCII letters, in the index and in the query alike:
            // `Jérôme` is kept as `jérôme`, `JÉRÔME` as `jÉrÔme`. Each word is looked up in both
            // spellings, so a word matches whatever its case (`JÉRÔME` finds `Jérôme`).
            var names: [String] = []
            for term in terms {
                let spellings = Self.caseVariants(String(term)).map { parameter($0) }
                names.append(spellings.count == 1 ? spellings[0] : "(" + spellings.joined(separator: "|") + ")")
            }
            return "@\(words):(" + names.joined(separator: " ") + ")"
        }
    }

    private mutating func compare(
        _ reference: FieldReference, _ comparison: Comparison, _ literal: Literal
    )
        throws(DQLError) -> String
    {
        let field = reference.field
        if field.kind == .tag {
            let match = tagMatch(field, try text(literal, for: reference))
            switch comparison {
            case .equal: return match
            case .notEqual: return "-" + match
            default:
                throw DQLError(
                    .comparisonOnText(comparison: comparison.rawValue, field: field.name),
                    at: reference.range.union(literal.range))
            }
        }
        let (lower, upper) = try bounds(reference, literal)
        switch comparison {
        case .equal: return range(reference, lower: (lower, false), upper: (upper, false))
        case .notEqual: return "-" + range(reference, lower: (lower, false), upper: (upper, false))
        case .less: return range(reference, lower: nil, upper: (lower, true))
        case .lessOrEqual: return range(reference, lower: nil, upper: (upper, false))
        case .greater: return range(reference, lower: (upper, true), upper: nil)
        case .greaterOrEqual: return range(reference, lower: (lower, false), upper: nil)
        }
    }

    /// `@attr:[low high]` with `(` for exclusive bounds and ±inf for open ends.
    private mutating func range(_ reference: FieldReference, lower: (Double, Bool)?, upper: (Double, Bool)?) -> String {
        let low = lower.map { ($0.1 ? "(" : "") + parameter(Compiler.format($0.0)) } ?? "-inf"
        let high = upper.map { ($0.1 ? "(" : "") + parameter(Compiler.format($0.0)) } ?? "+inf"
        return "@\(reference.field.attribute):[\(low) \(high)]"
    }

    /// The inclusive numeric interval a literal stands for: a number is itself; a date is one
    /// day (a year given for a date, January 1 to December 31); a year is itself.
    func bounds(
        _ reference: FieldReference, _ literal: Literal
    ) throws(DQLError) -> (lower: Double, upper: Double) {
        let field = reference.field
        func wrong(_ hint: String? = nil) -> DQLError {
            DQLError(
                .wrongValueType(field: field.name, type: field.kindName, found: describe(literal), hint: hint),
                at: literal.range)
        }
        switch field.kind {
        case .numeric:
            switch literal.value {
            case .number(let number): return (number, number)
            case .size(let bytes): return (Double(bytes), Double(bytes))
            case .text(let text):
                if let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite {
                    return (number, number)
                }
            case .date: break
            }
            throw wrong()
        case .date:
            let hint = "write 2019-03-05, 20190305, or a year such as 2019"
            switch literal.value {
            case .date(let date): return (Double(date), Double(date))
            case .number(let number):
                // Range-checked before it becomes an Int: 1e19 is no date.
                guard let value = Int(exactly: number) else { throw wrong(hint) }
                if (1...9999).contains(value) { return (Double(value * 10000 + 101), Double(value * 10000 + 1231)) }
                if DateValue.isValid(year: value / 10000, month: value / 100 % 100, day: value % 100) {
                    return (number, number)
                }
            case .text(let text):
                let digits = text.filter { $0 != "-" }
                if digits.count == 8, let value = Int(digits),
                    DateValue.isValid(year: value / 10000, month: value / 100 % 100, day: value % 100)
                {
                    return (Double(value), Double(value))
                }
            default: break
            }
            throw wrong(hint)
        case .year:
            var number: Double?
            switch literal.value {
            case .number(let value): number = value
            case .text(let text): number = Double(text.trimmingCharacters(in: .whitespaces))
            default: break
            }
            if let number, let year = Int(exactly: number), (1...9999).contains(year) {
                return (number, number)
            }
            throw wrong("a year is a whole number from 1 to 9999")
        case .tag:
            throw DQLError(
                .comparisonOnText(comparison: "between", field: field.name), at: reference.range)
        }
    }

    /// A literal as text for a TAG field, normalised as the field's stored values are; numbers
    /// are written without a fraction when whole.
    func text(_ literal: Literal, for reference: FieldReference) throws(DQLError) -> String {
        switch literal.value {
        case .text(let text): return reference.field.normalize(text)
        // A number or date compared with text is the text as written: `patientId = 007` is
        // the ID 007, not 7.
        case .number, .date: return reference.field.normalize(literal.written)
        case .size:
            throw DQLError(
                .wrongValueType(field: reference.field.name, type: "text", found: describe(literal), hint: nil),
                at: literal.range)
        }
    }

    private func describe(_ literal: Literal) -> String {
        switch literal.value {
        case .text(let text): "'\(excerpt(text))'"
        case .number, .date: excerpt(literal.written)
        case .size: "the size " + excerpt(literal.written)
        }
    }
}

/// A `like` pattern with wildcards: the server expands it into the matching values, but only
/// up to its MAXEXPANSIONS, so the executor checks that the expansion was whole.
public struct PatternMatch: Sendable, Hashable {
    public var field: Field
    /// As the user wrote it (after string escapes).
    public var pattern: String
    /// As the server's wildcard syntax takes it.
    public var serverPattern: String
    public var range: SourceRange
}

/// A `like` pattern: `*` any run of characters, `?` one character, and `\` before a character
/// makes it stand for itself (`'star\*'` is the value `star*`, `'a\\\\b'` the value `a\b`).
struct LikePattern: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        case literal(Character)
        case anyRun
        case oneCharacter
    }

    var pieces: [Piece] = []

    init(_ text: String) {
        var escaped = false
        for character in text {
            if escaped {
                pieces.append(.literal(character))
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "*" {
                pieces.append(.anyRun)
            } else if character == "?" {
                pieces.append(.oneCharacter)
            } else {
                pieces.append(.literal(character))
            }
        }
        if escaped { pieces.append(.literal("\\")) }
    }

    var hasWildcard: Bool { pieces.contains { !$0.isLiteral } }

    /// The characters, for a pattern without wildcards.
    var literalText: String {
        String(pieces.compactMap { if case .literal(let character) = $0 { character } else { nil } })
    }

    /// A literal `*` or `?`, which the server's wildcard syntax cannot express.
    var hasLiteralWildcardCharacter: Bool {
        pieces.contains { $0 == .literal("*") || $0 == .literal("?") }
    }

    /// The pattern in the server's wildcard syntax, as a parameter: a literal backslash is
    /// four (measured against RediSearch 2.10: two match nothing but the next character).
    var serverText: String {
        pieces.map { piece in
            switch piece {
            case .anyRun: "*"
            case .oneCharacter: "?"
            case .literal("\\"): "\\\\\\\\"
            case .literal(let character): String(character)
            }
        }.joined()
    }
}

extension LikePattern.Piece {
    fileprivate var isLiteral: Bool {
        if case .literal = self { true } else { false }
    }
}

/// What executing a statement involves: the exact Redis commands (argv) and what to do with
/// their results. Produced by the ``Compiler`` without any I/O.
public indirect enum Plan: Sendable, Equatable {
    case find(SearchPlan)
    /// `find patients|studies|series`.
    case findLevel(LevelPlan)
    /// `find`, `count` or `delete` about attributes the index does not hold.
    case scan(ScanPlan)
    case count(CountPlan)
    case show(FileLookup)
    /// `preview`: one frame of one file, as a picture.
    case preview(FileLookup, PreviewStatement)
    /// `find … preview`: the files the inner plan (a `find`) lists, as a contact sheet.
    case contactSheet(Plan, PictureOptions)
    /// `show study '1.2.3'`: the row of the level, then the rows below it.
    case showLevel(LevelPlan, children: Plan)
    case fetch(FileLookup, to: PathLiteral, layout: FetchTemplate?, existing: ExistingFiles?)
    case load(LoadStatement)
    /// Find the matching documents page by page, then delete each document and its chunks.
    case delete(SearchPlan)
    /// `delete studies|series|patients where …`: every file of the matching rows.
    case deleteLevel(LevelPlan)
    case vacuum
    /// Move a `{m}` store to the spread layout (``SpreadMigration``).
    case migrate
    /// Show the inner plan's commands and the server's plan for its query (`FT.EXPLAIN`).
    case explain(Plan, serverPlan: [String]?)
    case fields(FieldsPlan)
    case stats(StatsPlan)
    case index(AttributePlan)
    case unindex(AttributePlan)
    case set(Setting)

    /// Every command the plan starts with, as sent (for `explain` and golden tests).
    public var commands: [[String]] {
        switch self {
        case .find(let plan), .delete(let plan): [plan.command(offset: plan.offset, count: plan.firstPageSize)]
        case .findLevel(let plan), .deleteLevel(let plan): (plan.scan?.commands ?? []) + plan.commands
        case .scan(let plan): plan.commands
        case .count(let plan): [plan.command(offset: 0)] + (plan.totalGroupsCommand.map { [$0] } ?? [])
        case .show(let lookup), .fetch(let lookup, _, _, _), .preview(let lookup, _): lookup.command.map { [$0] } ?? []
        case .showLevel(let plan, let children): plan.commands + children.commands
        case .explain(let inner, _), .contactSheet(let inner, _): inner.commands
        case .fields(let plan): plan.fields.compactMap(\.command)
        case .index(let plan): [plan.alterCommand]
        case .unindex: []
        case .stats(let plan): [plan.filesCommand, plan.bytesCommand]
        case .load, .vacuum, .migrate, .set: []
        }
    }
}

/// A RediSearch query with its parameters: `@modality:{$p0}` and `p0 = CT`.
public struct SearchQuery: Sendable, Equatable {
    public var text: String
    /// Name/value pairs, in order.
    public var parameters: [(String, String)]
    /// The `like` patterns in it with wildcards (see ``PatternMatch``).
    public var patterns: [PatternMatch] = []
    /// It searches words: sent with VERBATIM, so words match exactly (no stemming).
    public var verbatim = false

    public init(text: String, parameters: [(String, String)], patterns: [PatternMatch] = [], verbatim: Bool = false) {
        self.text = text
        self.parameters = parameters
        self.patterns = patterns
        self.verbatim = verbatim
    }

    /// The query text, and VERBATIM when it searches words.
    public var queryArguments: [String] { [text] + (verbatim ? ["VERBATIM"] : []) }

    public static func == (lhs: SearchQuery, rhs: SearchQuery) -> Bool {
        lhs.text == rhs.text && lhs.parameters.elementsEqual(rhs.parameters) { $0 == $1 }
            && lhs.patterns == rhs.patterns && lhs.verbatim == rhs.verbatim
    }

    /// `PARAMS n name value …`, or nothing without parameters.
    public var paramsArguments: [String] {
        parameters.isEmpty ? [] : ["PARAMS", String(parameters.count * 2)] + parameters.flatMap { [$0.0, $0.1] }
    }
}

/// `find` (and the search behind `delete`): an FT.SEARCH, paged.
public struct SearchPlan: Sendable, Equatable {
    public var index: String
    public var query: SearchQuery
    /// Index attributes returned, in column order; empty for NOCONTENT.
    public var returnAttributes: [String]
    /// The fields shown, in order.
    public var columns: [Field]
    public var sort: (attribute: String, order: SortOrder)?
    /// The user's limit; nil means every match, page by page.
    public var limit: Int?
    public var offset: Int
    public var pageSize: Int
    public var timeoutMilliseconds: Int
    public var fetchDirectory: PathLiteral?
    /// Where under the directory each file goes (nil: its stored name).
    public var fetchLayout: FetchTemplate? = nil
    /// What the fetch does where a different file has a name it writes (nil: the session's).
    public var existingFiles: ExistingFiles? = nil

    public static func == (lhs: SearchPlan, rhs: SearchPlan) -> Bool {
        lhs.command(offset: lhs.offset, count: lhs.firstPageSize)
            == rhs.command(offset: rhs.offset, count: rhs.firstPageSize)
            && lhs.columns == rhs.columns && lhs.limit == rhs.limit && lhs.fetchDirectory == rhs.fetchDirectory
            && lhs.existingFiles == rhs.existingFiles && lhs.fetchLayout == rhs.fetchLayout
    }

    /// Rows the first command asks for.
    public var firstPageSize: Int { limit.map { min($0, pageSize) } ?? pageSize }

    /// FT.SEARCH for `count` rows starting at `offset`.
    public func command(offset: Int, count: Int) -> [String] {
        var argv = ["FT.SEARCH", index] + query.queryArguments
        if returnAttributes.isEmpty {
            argv.append("NOCONTENT")
        } else {
            argv += ["RETURN", String(returnAttributes.count)] + returnAttributes
        }
        if let sort { argv += ["SORTBY", sort.attribute, sort.order.rawValue] }
        argv += ["LIMIT", String(offset), String(count), "TIMEOUT", String(timeoutMilliseconds)]
        argv += query.paramsArguments + ["DIALECT", "2"]
        return argv
    }
}

/// `count`: FT.SEARCH with LIMIT 0 0 for a total, FT.AGGREGATE for groups.
public struct CountPlan: Sendable, Equatable {
    public var index: String
    /// What is counted: files, or the patients, studies or series with a matching file.
    public var level: Level = .instances
    public var query: SearchQuery
    /// Grouped fields; empty for a plain total.
    public var groupBy: [Field]
    public var sortKeys: [(String, SortOrder)]
    public var limit: Int?
    public var pageSize: Int
    public var timeoutMilliseconds: Int

    public static func == (lhs: CountPlan, rhs: CountPlan) -> Bool {
        lhs.command(offset: 0) == rhs.command(offset: 0) && lhs.groupBy == rhs.groupBy && lhs.limit == rhs.limit
    }

    /// The group names in the aggregate's rows.
    public var groupNames: [String] { groupBy.map { Compiler.groupName($0) } }

    /// Rows the page starting at `offset` asks for: a page, or what the limit still allows.
    public func pageRows(offset: Int) -> Int {
        limit.map { max(0, min(pageSize, $0 - offset)) } ?? pageSize
    }

    /// The command for the rows starting at `offset`.
    public func command(offset: Int) -> [String] {
        if groupBy.isEmpty, let key = level.keyField {
            return ["FT.AGGREGATE", index] + query.queryArguments + ["TIMEOUT", String(timeoutMilliseconds)]
                + ["GROUPBY", "0", "REDUCE", "COUNT_DISTINCT", "1", "@" + key.attribute, "AS", "count"]
                + query.paramsArguments + ["DIALECT", "2"]
        }
        if groupBy.isEmpty {
            return ["FT.SEARCH", index] + query.queryArguments
                + ["LIMIT", "0", "0", "TIMEOUT", String(timeoutMilliseconds)] + query.paramsArguments + [
                    "DIALECT", "2",
                ]
        }
        let rows = pageRows(offset: offset)
        var argv = ["FT.AGGREGATE", index] + query.queryArguments + ["TIMEOUT", String(timeoutMilliseconds)]
        argv += ["GROUPBY", String(groupBy.count)] + groupNames.map { "@" + $0 }
        argv += countReducer
        argv += ["SORTBY", String(sortKeys.count * 2)] + sortKeys.flatMap { ["@" + $0.0, $0.1.rawValue] }
        argv += ["MAX", String(offset + rows), "LIMIT", String(offset), String(rows)]
        argv += query.paramsArguments + ["DIALECT", "2"]
        return argv
    }

    /// Files are counted; patients, studies and series by their distinct keys.
    var countReducer: [String] {
        guard let key = level.keyField else { return ["REDUCE", "COUNT", "0", "AS", "count"] }
        return ["REDUCE", "COUNT_DISTINCT", "1", "@" + key.attribute, "AS", "count"]
    }

    /// When a limit may cut the groups short, the command that counts all of them (for
    /// "N of M").
    public var totalGroupsCommand: [String]? {
        guard limit != nil, !groupBy.isEmpty else { return nil }
        return allGroupsCommand
    }

    /// The command that counts every group.
    public var allGroupsCommand: [String] {
        var argv = ["FT.AGGREGATE", index] + query.queryArguments + ["TIMEOUT", String(timeoutMilliseconds)]
        argv += ["GROUPBY", String(groupBy.count)] + groupNames.map { "@" + $0 }
        argv += ["GROUPBY", "0", "REDUCE", "COUNT", "0", "AS", "groups"]
        argv += query.paramsArguments + ["DIALECT", "2"]
        return argv
    }
}

/// How `show` and `fetch` find their file: by id directly, or by name through the index.
public struct FileLookup: Sendable, Equatable {
    public var given: String
    /// Where the name or id was written, for diagnostics.
    public var range: SourceRange
    /// The id, when `given` is a SHA-256 (64 hex digits).
    public var id: String?
    /// The name search, when `given` is a name: asks for two matches to detect ambiguity.
    public var command: [String]?
}

/// `stats`: the number of files and their bytes summed.
public struct StatsPlan: Sendable, Equatable {
    public var filesCommand: [String]
    public var bytesCommand: [String]
}

/// `fields`: each field and the command for its most common values (none for `id`).
public struct FieldsPlan: Sendable, Equatable {
    public var fields: [(field: Field, command: [String]?)]

    public static func == (lhs: FieldsPlan, rhs: FieldsPlan) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.field == $1.field && $0.command == $1.command }
    }
}

/// `find patients|studies|series`: the matching instances grouped by the level's key
/// (FT.AGGREGATE … GROUPBY @studyUid REDUCE …), one row per patient, study or series.
///
/// When the condition is only about the keys of the level and the levels above it (a
/// patient's studies, a study's series), it selects instances by their place in the
/// hierarchy, and one aggregate gives rows, order and page (``selectsByKeys``); the rows
/// count those instances, and fetch and delete take them. Otherwise a row has a matching
/// instance and its figures count all of its instances: the keys of the matching rows are read
/// first, then their rows from all their instances.
public struct LevelPlan: Sendable, Equatable {
    public var index: String
    public var level: Level
    /// The condition, with the level's key required (files without a Study Instance UID are
    /// in no study).
    public var query: SearchQuery
    /// The columns shown, in order.
    public var columns: [LevelColumn]
    /// Sort keys: aggregate properties and directions, the key last for ties.
    public var sortKeys: [(property: String, order: SortOrder)]
    public var limit: Int?
    public var offset: Int
    public var pageSize: Int
    public var timeoutMilliseconds: Int
    /// Whether the condition is only about keys of the hierarchy (see above): one aggregate.
    public var selectsByKeys: Bool
    public var fetchDirectory: PathLiteral? = nil
    public var fetchLayout: FetchTemplate? = nil
    public var existingFiles: ExistingFiles? = nil
    /// When the condition is about attributes the index does not hold: the scan that finds
    /// the keys of the matching rows (instead of ``keysCommand(offset:count:)``).
    public var scan: ScanPlan? = nil
    /// Each row also carries the id of one of its files (``sampleProperty``).
    public var withSamples = false

    /// The aggregate property of a row's sample file id.
    static let sampleProperty = "sampleId"

    public static func == (lhs: LevelPlan, rhs: LevelPlan) -> Bool {
        lhs.commands == rhs.commands && lhs.scan == rhs.scan && lhs.columns == rhs.columns && lhs.limit == rhs.limit
            && lhs.withSamples == rhs.withSamples
            && lhs.fetchDirectory == rhs.fetchDirectory && lhs.fetchLayout == rhs.fetchLayout
            && lhs.existingFiles == rhs.existingFiles
    }

    /// The key field of the level.
    public var key: Field { level.keyField ?? Schema.fields[0] }

    /// Keys per command when rows are read for known keys.
    public static let keysPerCommand = 200

    /// The commands it starts with, as sent (for `explain` and golden tests).
    public var commands: [[String]] {
        if selectsByKeys { return [rowsCommand(offset: offset, count: firstPageSize), totalCommand] }
        if scan != nil { return [rowsCommand(keys: ["$KEYS"])] }
        return [keysCommand(offset: 0, count: pageSize), rowsCommand(keys: ["$KEYS"])]
    }

    public var firstPageSize: Int { limit.map { min($0, pageSize) } ?? pageSize }

    private var head: [String] {
        ["FT.AGGREGATE", index] + query.queryArguments + ["TIMEOUT", String(timeoutMilliseconds)]
    }

    /// Every column of the level computed for each group.
    private var reducers: [String] {
        ["GROUPBY", "1", "@" + key.attribute] + level.columns.flatMap { $0.reducer(key: key) }
            + (withSamples ? ["REDUCE", "FIRST_VALUE", "1", "@sha256", "AS", Self.sampleProperty] : [])
    }

    /// `@studyUid:{$p0 | $p1 …}`: the instances of the given keys, matched exactly (the
    /// case-sensitive twin where the key has one).
    func keyMatch(_ keys: [String], _ builder: inout QueryBuilder) -> String {
        Self.keyMatch(key, keys, &builder)
    }

    /// `@studyUid:{$p0 | $p1 …}` for a level's key field.
    static func keyMatch(_ key: Field, _ keys: [String], _ builder: inout QueryBuilder) -> String {
        let names = keys.map { builder.tagParameter($0) }
        return "@\(key.exactAttribute ?? key.matchAttribute):{" + names.joined(separator: " | ") + "}"
    }

    /// One page of rows, sorted by the server (whole rows).
    public func rowsCommand(offset: Int, count: Int) -> [String] {
        head + reducers + ["SORTBY", String(sortKeys.count * 2)]
            + sortKeys.flatMap { ["@" + $0.property, $0.order.rawValue] }
            + ["MAX", String(offset + count), "LIMIT", String(offset), String(count)] + query.paramsArguments
            + ["DIALECT", "2"]
    }

    /// How many rows match in all.
    public var totalCommand: [String] {
        head + ["GROUPBY", "0", "REDUCE", "COUNT_DISTINCT", "1", "@" + key.attribute, "AS", "total"]
            + query.paramsArguments + ["DIALECT", "2"]
    }

    /// One page of the keys of the matching rows, in key order.
    public func keysCommand(offset: Int, count: Int) -> [String] {
        head + ["GROUPBY", "1", "@" + key.attribute, "SORTBY", "2", "@" + key.attribute, "ASC"]
            + ["MAX", String(offset + count), "LIMIT", String(offset), String(count)] + query.paramsArguments
            + ["DIALECT", "2"]
    }

    /// The rows of the given keys, from all their instances.
    public func rowsCommand(keys: [String]) -> [String] {
        var builder = QueryBuilder()
        let query = SearchQuery(text: keyMatch(keys, &builder), parameters: builder.parameters)
        return ["FT.AGGREGATE", index] + query.queryArguments + ["TIMEOUT", String(timeoutMilliseconds)] + reducers
            + ["LIMIT", "0", String(keys.count)] + query.paramsArguments + ["DIALECT", "2"]
    }
}

/// A statement about attributes the index does not hold (`find where SliceThickness < 2`):
/// FT.SEARCH narrows with the conditions the index can answer, page by page, and dql reads the
/// stored headers of what is left, evaluates the rest of the condition, and computes the
/// columns, order, page, counts or groups itself.
public struct ScanPlan: Sendable, Equatable {
    public enum Purpose: Sendable, Equatable {
        /// Rows of files (`find`), with a fetch when it says so.
        case find
        /// `count` of files (or of the patients, studies or series with a matching file), in
        /// total or by groups.
        case count(level: Level, groupBy: [Field], order: CountOrder?, limit: Int?)
        /// `delete`: the matching files.
        case delete
        /// The keys of the rows of a level with a matching file.
        case keys(Level)
    }

    public var purpose: Purpose
    /// The narrowing search, read in full, page by page.
    public var search: SearchPlan
    /// What the index cannot answer, evaluated by dql (nil: every file the search finds).
    public var residual: Condition?
    /// The columns of `find`.
    public var columns: [Field]
    public var order: Ordering?
    public var limit: Int?
    public var offset: Int
    /// The attributes read from the headers.
    public var headerFields: [Field]
    /// Every field whose values each file's row needs (columns, order, condition, groups,
    /// the level's key), each once: from the document where indexed, else from the header.
    public var valueFields: [Field]

    /// The commands it starts with (the first page of the narrowing search).
    public var commands: [[String]] { [search.command(offset: 0, count: search.pageSize)] }

    public static func == (lhs: ScanPlan, rhs: ScanPlan) -> Bool {
        lhs.purpose == rhs.purpose && lhs.search == rhs.search && lhs.residual == rhs.residual
            && lhs.columns == rhs.columns && lhs.order == rhs.order && lhs.limit == rhs.limit
            && lhs.offset == rhs.offset && lhs.headerFields == rhs.headerFields
    }
}

/// `index KEYWORD` and `unindex KEYWORD`: the attribute's field as the index holds it and the
/// schema change; every stored document is then walked (SCAN: documents change as they are
/// filled in, which would move them in a search's order) to fill the attribute in from its
/// header, or to take it out.
public struct AttributePlan: Sendable, Equatable {
    public var field: Field
    /// FT.ALTER … SCHEMA ADD (nothing for unindex: RediSearch cannot drop a field; it stays
    /// empty in the index until the index is next rebuilt).
    public var alterCommand: [String]
}

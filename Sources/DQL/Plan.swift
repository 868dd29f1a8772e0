/// What executing a statement involves: the exact Redis commands (argv) and what to do with
/// their results. Produced by the ``Compiler`` without any I/O.
public indirect enum Plan: Sendable, Equatable {
    case find(SearchPlan)
    case count(CountPlan)
    case show(FileLookup)
    case fetch(FileLookup, to: PathLiteral, layout: FetchTemplate?, existing: ExistingFiles?)
    case load(LoadStatement)
    /// Find the matching documents page by page, then delete each document and its chunks.
    case delete(SearchPlan)
    case vacuum
    /// Show the inner plan's commands and the server's plan for its query (`FT.EXPLAIN`).
    case explain(Plan, serverPlan: [String]?)
    case fields(FieldsPlan)
    case stats(StatsPlan)
    case set(Setting)

    /// Every command the plan starts with, as sent (for `explain` and golden tests).
    public var commands: [[String]] {
        switch self {
        case .find(let plan), .delete(let plan): [plan.command(offset: plan.offset, count: plan.firstPageSize)]
        case .count(let plan): [plan.command(offset: 0)] + (plan.totalGroupsCommand.map { [$0] } ?? [])
        case .show(let lookup), .fetch(let lookup, _, _, _): lookup.command.map { [$0] } ?? []
        case .explain(let inner, _): inner.commands
        case .fields(let plan): plan.fields.compactMap(\.command)
        case .stats(let plan): [plan.filesCommand, plan.bytesCommand]
        case .load, .vacuum, .set: []
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
        if groupBy.isEmpty {
            return ["FT.SEARCH", index] + query.queryArguments
                + ["LIMIT", "0", "0", "TIMEOUT", String(timeoutMilliseconds)] + query.paramsArguments + [
                    "DIALECT", "2",
                ]
        }
        let rows = pageRows(offset: offset)
        var argv = ["FT.AGGREGATE", index] + query.queryArguments + ["TIMEOUT", String(timeoutMilliseconds)]
        argv += ["GROUPBY", String(groupBy.count)] + groupNames.map { "@" + $0 }
        argv += ["REDUCE", "COUNT", "0", "AS", "count"]
        argv += ["SORTBY", String(sortKeys.count * 2)] + sortKeys.flatMap { ["@" + $0.0, $0.1.rawValue] }
        argv += ["MAX", String(offset + rows), "LIMIT", String(offset), String(rows)]
        argv += query.paramsArguments + ["DIALECT", "2"]
        return argv
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

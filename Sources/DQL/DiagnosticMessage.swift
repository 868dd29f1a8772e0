/// The catalogue of everything DQL can say about a statement: each message has a stable
/// identifier, a severity, its text and, where one is clear, help and a replacement (fix-it).
/// Lexer, parser, compiler and executor all report through it, so every message is written
/// once, here, and tests assert whole messages by identifier.
public enum DiagnosticMessage: Sendable, Hashable {
    // MARK: Lexer
    case unexpectedCharacter(Unicode.Scalar)
    case unterminatedString(quote: Unicode.Scalar)
    case unknownEscape(Unicode.Scalar)
    case invalidUnicodeEscape(String)
    case nulInValue
    case invalidDate(String)
    case invalidNumber(String)
    case numberOutOfRange(String)
    case unknownSizeUnit(String)
    case sizeNotWhole(String)
    case sizeTooLarge(String)

    // MARK: Parser
    case expectedStatement(found: String, suggestion: String?, continuation: Bool)
    case expectedEndOfStatement(found: String, suggestion: String?)
    case expected(Expectation, found: String)
    case unclosedParenthesis(openedAt: SourceLocation, found: String)
    case explainOfExplain
    case unknownSetting(String, suggestion: String?)
    case invalidSettingValue(setting: String, allowed: String, found: String)
    case unknownField(String, suggestion: String?)
    case misspelledKeyword(String, keyword: String)
    case offsetWithoutLimit
    case countOrderWithoutGroups
    case nestingTooDeep(limit: Int)
    case tooManyValues(limit: Int)
    /// A column a row of the level does not have (`find studies order by protocol`).
    case noSuchLevelColumn(String, level: String, columns: [String], suggestion: String?)
    /// A sequence or bulk data attribute used as a field.
    case attributeWithoutValue(String, vr: String)
    /// `index protocol`: one of dql's own fields, which are always indexed.
    case ownField(String, unindex: Bool)
    /// `find date, StudyDate`: one column named twice.
    case columnTwice(String)
    /// `find studies … preview`: a contact sheet shows files.
    case contactSheetOfLevel(level: String)

    // MARK: Compiler
    case groupedTwice(field: String)
    case orderByUngrouped(field: String)
    case betweenOnText(field: String)
    case betweenReversed(low: String, high: String)
    case likeOnNonText(field: String, type: String)
    case containsWithoutWordIndex(field: String, wordFields: [String])
    case containsWithoutWords
    case comparisonOnText(comparison: String, field: String)
    case wrongValueType(field: String, type: String, found: String, hint: String?)
    case likeLiteralWildcard
    case tooManyWords(limit: Int)

    // MARK: Executor
    case noFileNamed(String)
    case ambiguousName(String, count: Int, ids: [String])
    case noFileWithId(String)
    case noData(prefix: String, endpoint: String)
    case patternTooBroad(field: String, pattern: String, limit: Int)
    case resultWindowTooLarge(maximum: Int)
    case queryTimedOut(milliseconds: Int)
    case unknownUser(String)
    case cannotLoad(path: String, reason: String)
    /// The account may not write under the prefix: a statement that changes the store was
    /// refused before it wrote anything.
    case cannotWrite(user: String, endpoint: String, prefix: String, refusal: String)
    /// The server refused a command for this account (ACL); `need` says what would do.
    case notPermitted(user: String, endpoint: String, prefix: String, refusal: String, need: String)
    /// A statement that changes the store, while `migrate` moves it to the spread layout.
    case storeMigrating(moved: Int, total: Int)
    /// `migrate` on one server, where there is nothing to spread over.
    case migrateNeedsCluster(endpoint: String)
    /// A query that met a `migrate` step at every try; `unfinished` when it was one step all
    /// along (a `migrate` stopped in it).
    case migrationBusy(tries: Int, unfinished: Bool)
    /// A `migrate` step (or its start or end) changed the store between two queries of one
    /// reading statement.
    case migrationMovedUnderStatement
    /// A meta-command (`\timing`, `\i`, …) that could not be understood.
    case metaCommand(String)
    /// A fetch layout (`as '…'`) that cannot be used.
    case invalidFetchLayout(String)
    /// `:NAME` in a statement, with no `\set NAME` or `-v NAME=…` before it.
    case undefinedVariable(String)
    /// A failure that is not about the text (the server, the disk), shown at its statement.
    case statementFailed(String)

    /// What the parser was looking for.
    public enum Expectation: Sendable, Hashable {
        case value
        case comparison
        case fieldName
        case keyword(String)
        case listOpen
        case listContinuation
        case name(after: String)
        case path(after: String)
        case settingName

        var text: String {
            switch self {
            case .value: "a value (a quoted string, a number, a date)"
            case .comparison: "a comparison (=, !=, <, <=, >, >=) or in, between, like, contains, is missing"
            case .fieldName: "a field name"
            case .keyword(let keyword): "'\(keyword)'"
            case .listOpen: "'(' after in"
            case .listContinuation: "')' or ',' in the list"
            case .name(let keyword): "a file name or id after \(keyword), e.g. \(keyword) 'CT_small.dcm'"
            case .path(let keyword): "a path after \(keyword), e.g. ./out or '/data/my scans'"
            case .settingName: "a setting name (" + SettingName.allCases.map(\.rawValue).joined(separator: ", ") + ")"
            }
        }

        var id: String {
            switch self {
            case .value: "value"
            case .comparison: "comparison"
            case .fieldName: "field"
            case .keyword: "keyword"
            case .listOpen: "list-open"
            case .listContinuation: "list-continuation"
            case .name: "name"
            case .path: "path"
            case .settingName: "setting"
            }
        }
    }

    /// The stable identifier, `DQL` and a number, never reused for another message.
    public var id: String {
        switch self {
        case .unexpectedCharacter: "DQL101"
        case .unterminatedString: "DQL102"
        case .unknownEscape: "DQL103"
        case .invalidUnicodeEscape: "DQL104"
        case .nulInValue: "DQL105"
        case .invalidDate: "DQL106"
        case .invalidNumber: "DQL107"
        case .numberOutOfRange: "DQL108"
        case .unknownSizeUnit: "DQL109"
        case .sizeNotWhole: "DQL110"
        case .sizeTooLarge: "DQL111"
        case .expectedStatement: "DQL201"
        case .expectedEndOfStatement: "DQL202"
        case .expected: "DQL203"
        case .unclosedParenthesis: "DQL204"
        case .explainOfExplain: "DQL205"
        case .unknownSetting: "DQL206"
        case .invalidSettingValue: "DQL207"
        case .unknownField: "DQL208"
        case .misspelledKeyword: "DQL209"
        case .offsetWithoutLimit: "DQL210"
        case .countOrderWithoutGroups: "DQL211"
        case .nestingTooDeep: "DQL212"
        case .tooManyValues: "DQL213"
        case .invalidFetchLayout: "DQL214"
        case .noSuchLevelColumn: "DQL215"
        case .attributeWithoutValue: "DQL216"
        case .ownField: "DQL217"
        case .columnTwice: "DQL218"
        case .contactSheetOfLevel: "DQL219"
        case .groupedTwice: "DQL301"
        case .orderByUngrouped: "DQL302"
        case .betweenOnText: "DQL303"
        case .betweenReversed: "DQL304"
        case .likeOnNonText: "DQL305"
        case .containsWithoutWordIndex: "DQL306"
        case .containsWithoutWords: "DQL307"
        case .comparisonOnText: "DQL308"
        case .wrongValueType: "DQL309"
        case .likeLiteralWildcard: "DQL310"
        case .tooManyWords: "DQL311"
        case .noFileNamed: "DQL401"
        case .ambiguousName: "DQL402"
        case .noFileWithId: "DQL403"
        case .noData: "DQL404"
        case .patternTooBroad: "DQL405"
        case .queryTimedOut: "DQL406"
        case .resultWindowTooLarge: "DQL409"
        case .unknownUser: "DQL407"
        case .cannotLoad: "DQL408"
        case .cannotWrite: "DQL410"
        case .notPermitted: "DQL411"
        case .storeMigrating: "DQL412"
        case .migrateNeedsCluster: "DQL413"
        case .migrationBusy: "DQL414"
        case .migrationMovedUnderStatement: "DQL415"
        case .metaCommand: "DQL501"
        case .undefinedVariable: "DQL502"
        case .statementFailed: "DQL499"
        }
    }

    public var severity: DQLError.Severity { .error }

    /// The message, one line.
    public var text: String {
        switch self {
        case .unexpectedCharacter(let scalar): "unexpected character \(Self.describe(scalar))"
        case .unterminatedString: "unterminated string"
        case .unknownEscape(let scalar): "unknown escape '\\\(Self.printable(scalar))'"
        case .invalidUnicodeEscape(let text): "invalid unicode escape '\(excerpt(text))'"
        case .nulInValue: "a value cannot contain a NUL character"
        case .invalidDate(let text): "invalid date '\(excerpt(text))'"
        case .invalidNumber(let text): "invalid number '\(excerpt(text))'"
        case .numberOutOfRange(let text): "number '\(excerpt(text))' is out of range"
        case .unknownSizeUnit(let unit): "unknown size unit '\(excerpt(unit))'"
        case .sizeNotWhole(let text): "size '\(excerpt(text))' is not a whole number of bytes"
        case .sizeTooLarge(let text): "size '\(excerpt(text))' is too large"
        case .expectedStatement(let found, _, _): "expected a statement, found \(found)"
        case .expectedEndOfStatement(let found, _): "expected end of statement, found \(found)"
        case .expected(let expectation, let found): "expected \(expectation.text), found \(found)"
        case .unclosedParenthesis(let open, let found): "expected ')' to close the '(' at \(open), found \(found)"
        case .explainOfExplain: "explain takes a statement other than explain"
        case .unknownSetting(let name, _): "unknown setting '\(excerpt(name))'"
        case .invalidSettingValue(let setting, let allowed, let found): "\(setting) must be \(allowed), not \(found)"
        case .unknownField(let name, _): "unknown field '\(excerpt(name))'"
        case .misspelledKeyword(let word, _): "unexpected word '\(excerpt(word))'"
        case .offsetWithoutLimit: "offset needs a limit before it"
        case .countOrderWithoutGroups: "order by needs `by`: a plain count is one number"
        case .nestingTooDeep(let limit): "the condition nests deeper than \(limit) levels"
        case .tooManyValues(let limit): "the statement has more than \(limit) values"
        case .noSuchLevelColumn(let name, let level, _, _): "a \(level) row has no column '\(excerpt(name))'"
        case .columnTwice(let name): "'\(excerpt(name))' is a column twice"
        case .contactSheetOfLevel(let level): "a contact sheet shows files, not \(level)"
        case .ownField(let name, let unindex):
            "'\(excerpt(name))' is one of dql's own fields, always indexed; \(unindex ? "unindex" : "index") takes other attributes"
        case .attributeWithoutValue(let name, let vr):
            "\(name) is \(vr == "SQ" ? "a sequence" : "bulk data") (\(vr)): it has no value to compare or show"
        case .groupedTwice(let field): "'\(field)' is grouped twice"
        case .orderByUngrouped(let field): "cannot order by '\(field)': it is not grouped"
        case .betweenOnText(let field): "between compares numbers and dates; '\(field)' is text"
        case .betweenReversed(let low, let high): "between \(low) and \(high) matches nothing: the bounds are reversed"
        case .likeOnNonText(let field, let type): "like matches text; '\(field)' is \(type)"
        case .containsWithoutWordIndex(let field, _):
            "contains searches words, and '\(field)' has no word index"
        case .containsWithoutWords: "contains needs at least one word (letters or digits)"
        case .comparisonOnText(let comparison, let field):
            "'\(comparison)' compares numbers and dates; '\(field)' is text"
        case .wrongValueType(let field, let type, let found, _): "'\(field)' is \(type); \(found) is not"
        case .likeLiteralWildcard: "like cannot match a literal '*' or '?' in a pattern with wildcards"
        case .tooManyWords(let limit): "contains takes at most \(limit) words"
        case .noFileNamed(let name): "no file named '\(excerpt(name))'"
        case .ambiguousName(let name, let count, _): "\(count) files are named '\(excerpt(name))'"
        case .noFileWithId(let id): "no file with id \(excerpt(id, limit: 64))"
        case .noData(let prefix, let endpoint): "no dql data under prefix '\(excerpt(prefix))' on \(endpoint)"
        case .storeMigrating(let moved, let total):
            "the store is being moved to the spread layout (\(moved) of \(total) documents moved); it can be read, not changed, until the move is done"
        case .migrateNeedsCluster(let endpoint):
            "migrate spreads a store's metadata over a cluster's masters; \(endpoint) is one server"
        case .migrationBusy(_, unfinished: true):
            "a step of the store's move to the spread layout is unfinished (a migrate stopped in it), so no answer would be exact"
        case .migrationMovedUnderStatement:
            "a migrate changed the store's layout while this statement read it, so the rows shown are only part of its answer"
        case .migrationBusy(let tries, unfinished: false):
            "the store is being moved to the spread layout and a step of the move changed it during each of \(tries) tries of this query"
        case .patternTooBroad(let field, let pattern, let limit):
            "like '\(excerpt(pattern))' matches \(limit) or more different values of '\(field)', as many as the server expands (MAXEXPANSIONS)"
        case .resultWindowTooLarge(let maximum):
            "the server reads at most \(maximum) results of one query (MAXSEARCHRESULTS, MAXAGGREGATERESULTS)"
        case .queryTimedOut(let milliseconds): "the query ran into the server's time limit (\(milliseconds) ms)"
        case .unknownUser(let user): "no user '\(excerpt(user))' for ~\(excerpt(user))"
        case .cannotLoad(let path, let reason): "cannot load \(path): \(reason)"
        case .notPermitted(let user, let endpoint, let prefix, let refusal, _):
            "the account '\(excerpt(user))' may not do this under prefix '\(excerpt(prefix))' on \(endpoint) (\(excerpt(refusal, limit: 160)))"
        case .cannotWrite(let user, let endpoint, let prefix, let refusal):
            "the account '\(excerpt(user))' may not change the store under prefix '\(excerpt(prefix))' on \(endpoint) (\(excerpt(refusal, limit: 160))); nothing was written"
        case .metaCommand(let text): text
        case .undefinedVariable(let name): "undefined variable '\(excerpt(name))'"
        case .invalidFetchLayout(let text): text
        case .statementFailed(let text): text
        }
    }

    /// What to do about it, when something useful can be said.
    public var help: String? {
        switch self {
        case .unexpectedCharacter(let scalar):
            scalar == "`" ? "quote strings with ' or \"" : "a value with \(scalar) in it goes in quotes: '…'"
        case .unterminatedString(let quote): "close it with \(quote)"
        case .undefinedVariable(let name):
            "set it with \\set \(excerpt(name)) VALUE, or dql -v \(excerpt(name))=VALUE; \\set alone lists the variables"
        case .unknownEscape(let scalar) where scalar == "*" || scalar == "?":
            "for a literal \(scalar) in a like pattern write \\\\\(scalar) (a backslash, escaped, before it)"
        case .unknownEscape: "escapes are \\\\ \\' \\\" \\n \\t \\r \\uXXXX \\UXXXXXXXX \\u{X…}; \\\\ is a backslash"
        case .invalidUnicodeEscape:
            "write \\u and 4 hex digits (\\u00e9), \\U and 8 (\\U0001F600), or \\u{…} with 1 to 6 (\\u{e9})"
        case .nulInValue: "DICOM text never holds NUL, and the server would cut the value there"
        case .invalidDate: "write dates as YYYY-MM-DD, e.g. 2019-03-05"
        case .numberOutOfRange: "numbers must be finite, at most about 1e300 in size"
        case .unknownSizeUnit: "use B, KB, MB, GB, TB (powers of 1024), e.g. 64KB"
        case .sizeTooLarge: "sizes go up to 1000000TB"
        case .expectedStatement(let found, let suggestion, let continuation):
            if let suggestion {
                "did you mean '\(suggestion)'?"
            } else if continuation {
                "\(found) continues a statement, but the one before it had ended; in a session, type a statement on one line or end the line before with `and`/`or`"
            } else {
                "statements are: " + Keyword.statements.map(\.rawValue).joined(separator: ", ")
            }
        case .expectedEndOfStatement(_, let suggestion):
            suggestion.map { "did you mean '\($0)'?" } ?? "end statements with ';' or a new line"
        case .expected(.keyword("where"), _): "delete needs a condition: `delete where name = 'x.dcm'`"
        case .expected(.keyword("and"), _): "write `between LOW and HIGH`"
        case .expected(.keyword("missing"), _): "write `is missing` or `is not missing`"
        case .unknownSetting(_, let suggestion):
            (suggestion.map { "did you mean '\($0)'? " } ?? "") + "settings are "
                + SettingName.allCases.map(\.rawValue).joined(separator: ", ")
        case .unknownField(_, let suggestion): suggestion.map { "did you mean '\($0)'?" } ?? "`fields` lists the fields"
        case .misspelledKeyword(_, let keyword): "did you mean '\(keyword)'?"
        case .noSuchLevelColumn(_, _, let columns, let suggestion):
            (suggestion.map { "did you mean '\($0)'? " } ?? "") + "its columns are " + columns.joined(separator: ", ")
                + "; a condition (`where`) may use any field"
        case .ownField:
            "`fields` lists dql's own fields; any keyword of the data dictionary or tag (0019,10A1) can be indexed"
        case .attributeWithoutValue:
            "`show NAME` prints it; conditions and columns take attributes with values (text, numbers, dates)"
        case .offsetWithoutLimit: "write `limit N offset M`"
        case .contactSheetOfLevel: "`find where studyUid = '…' preview` shows the files of a study"
        case .countOrderWithoutGroups: "write `count by FIELD order by count desc`"
        case .nestingTooDeep: "parentheses and `not` each add a level; write the condition flatter"
        case .tooManyValues: "split the statement, or use like or a range"
        case .orderByUngrouped: "order by count, or by one of the fields after `by`"
        case .betweenOnText: "use = or in (…) for text"
        case .containsWithoutWordIndex(_, let wordFields):
            "use = or like for it; contains works on " + wordFields.joined(separator: ", ")
        case .comparisonOnText: "use =, !=, in, like or contains for text"
        case .wrongValueType(_, _, _, let hint): hint
        case .likeLiteralWildcard:
            "the server takes every * and ? of a pattern as a wildcard; without wildcards (`like 'star\\*.dcm'`) the value is matched exactly"
        case .ambiguousName(_, let count, let ids):
            "name one by its id: " + ids.joined(separator: ", ") + (count > ids.count ? ", …" : "")
        case .noFileNamed(let name):
            "`find name where name like '\(excerpt(String(name.prefix(3)).replacingOccurrences(of: "'", with: "''")))*'` lists the names that start the same way"
        case .noData: "`load` files first, or check --prefix (or $DQL_PREFIX)"
        case .storeMigrating:
            "run `migrate` to finish the move (it goes on where it stopped), then run this statement again"
        case .migrateNeedsCluster: "on one server a store always keeps its metadata in one place; nothing to do"
        case .migrationBusy(_, unfinished: true): "run `migrate`: it finishes the step and goes on"
        case .migrationBusy: "run the statement again"
        case .migrationMovedUnderStatement:
            "run it again (a migrate waits up to 60 s for each statement reading the store before it goes on)"
        case .cannotWrite(_, _, let prefix, _):
            "load and delete need an account that may write under the prefix (index, unindex, vacuum and migrate an owner's): check --prefix, or `dql acl writer --prefix \(excerpt(prefix))` prints the rules for one"
        case .notPermitted(_, _, _, _, let need): need
        case .queryTimedOut: "nothing partial was shown; `set timeout` raises the limit, or narrow the query"
        case .patternTooBroad:
            "nothing partial was shown; make the pattern narrower, or raise the server's MAXEXPANSIONS (`dql server` sets 1000000)"
        case .resultWindowTooLarge:
            "narrow the query, lower the offset, or raise the server's limits (`dql server` sets 1000000)"
        default: nil
        }
    }

    /// The text that would replace the marked range to fix the mistake, when one is clear.
    public var replacement: String? {
        switch self {
        case .expectedStatement(_, let suggestion, _), .expectedEndOfStatement(_, let suggestion),
            .unknownSetting(_, let suggestion), .unknownField(_, let suggestion):
            suggestion
        case .misspelledKeyword(_, let keyword): keyword
        case .noSuchLevelColumn(_, _, _, let suggestion): suggestion
        default: nil
        }
    }

    static func describe(_ scalar: Unicode.Scalar) -> String {
        guard scalar.value < 0x20 || scalar.value == 0x7F else { return "'\(scalar)'" }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    static func printable(_ scalar: Unicode.Scalar) -> String {
        scalar.value < 0x20 || scalar.value == 0x7F ? describe(scalar) : String(scalar)
    }
}

/// At most `limit` characters of `text` for a message, with `…` when cut: a message never
/// echoes a 5 MB word back.
public func excerpt(_ text: String, limit: Int = 40) -> String {
    var count = 0
    var index = text.startIndex
    while index < text.endIndex {
        if count == limit { return String(text[..<index]) + "…" }
        count += 1
        index = text.index(after: index)
    }
    return text
}

/// Every keyword of DQL, in one table that the lexer, the parser, the shell's completion and
/// `\help` all read: what a word is, whether it starts a statement, whether a line starting
/// with it continues the statement before, and whether a path follows it.
public enum Keyword: String, CaseIterable, Sendable {
    // Statements.
    case find, count, show, fetch, load, delete, vacuum, migrate, explain, fields, stats, set, index, unindex, preview
    // Preview options.
    case frame, size
    // Clauses.
    case `where`, order, by, limit, offset, to
    // Levels (`find studies …`); `series` is also the Series Description field.
    case patients, studies, series, instances
    // Load options (also settings).
    case recursive, chunk, connections, window
    // Fetch options.
    case `as`, overwrite, rename
    // Conditions.
    case and, or, not, `in`, between, like, contains, `is`, missing
    // Directions.
    case asc, desc, ascending, descending

    /// The keyword a word is, ignoring case.
    public init?(word: String) {
        self.init(rawValue: word.lowercased())
    }

    /// The words a statement starts with, in the order `\help` lists them.
    public static let statements: [Keyword] = [
        .find, .count, .show, .fetch, .preview, .load, .delete, .vacuum, .migrate, .explain, .fields, .stats, .index,
        .unindex, .set,
    ]

    public var startsStatement: Bool { Self.statements.contains(self) }

    /// The words that name a level of the DICOM model after `find`, `count` and `delete`.
    public static let levels: [Keyword] = Level.allCases.map(\.keyword)

    /// Words that cannot start a statement but carry one on: a script line that starts with
    /// one of them (or with `fetch to`) continues the statement of the line before instead of
    /// ending it there.
    public var continuesStatement: Bool {
        switch self {
        case .where, .and, .or, .order, .by, .limit, .offset: true
        default: false
        }
    }

    /// Words after which the next bare word is a path (`load ./x`, `fetch to ./out`).
    public var takesPath: Bool {
        switch self {
        case .to, .load, .show, .fetch, .preview: true
        default: false
        }
    }

    /// Words that may follow a path and are never paths themselves (`load ./x recursive`).
    public var followsPath: Bool {
        switch self {
        case .recursive, .chunk, .connections, .window, .as, .overwrite, .rename, .frame, .size: true
        default: false
        }
    }

    /// Words of a condition (they can never be a bare value).
    public var isConditionWord: Bool {
        switch self {
        case .and, .or, .not: true
        default: false
        }
    }

    /// A statement's syntax and an example, for `\help` and the reference.
    public var syntax: (synopsis: String, example: String)? {
        switch self {
        case .find:
            (
                "find [patients|studies|series|instances] [* | FIELD, …] [where CONDITION] [order by FIELD [asc|desc]] [limit N [offset M]] [fetch to PATH [as 'LAYOUT'] [overwrite|rename] | preview [frame N] [window …] [size PIXELS] [to FILE.png]]",
                "find where protocol = '194' and year = 2019 fetch to ./out"
            )
        case .count:
            (
                "count [patients|studies|series|instances] [where CONDITION] [by FIELD, …] [order by count|FIELD [asc|desc]] [limit N]",
                "count by modality, year order by count desc"
            )
        case .show: ("show NAME|ID | show patient|study|series ID|UID", "show 'CT_small.dcm'")
        case .fetch: ("fetch NAME|ID to PATH [as 'LAYOUT'] [overwrite|rename]", "fetch 'CT_small.dcm' to ./out")
        case .load:
            ("load PATH [recursive] [chunk SIZE] [connections N] [window N]", "load ./scans recursive")
        case .delete:
            ("delete [patients|studies|series|instances] where CONDITION", "delete studies where patientId = 'ANON123'")
        case .vacuum: ("vacuum", "vacuum")
        case .migrate: ("migrate", "migrate")
        case .explain: ("explain STATEMENT", "explain count by protocol")
        case .fields: ("fields", "fields")
        case .preview:
            (
                "preview NAME|ID [frame N] [window CENTER/WIDTH | lung|bone|brain|abdomen|…] [size PIXELS] [to FILE.png]",
                "preview 'CT_small.dcm' window 40/400"
            )
        case .index: ("index KEYWORD|(gggg,eeee)", "index SliceThickness")
        case .unindex: ("unindex KEYWORD|(gggg,eeee)", "unindex SliceThickness")
        case .stats: ("stats", "stats")
        case .set:
            (
                "set "
                    + SettingName.allCases.map { "\($0.rawValue) \($0.definition.valueSyntax)" }
                    .joined(separator: " | "),
                "set chunk 1MB"
            )
        default: nil
        }
    }
}

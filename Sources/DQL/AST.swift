/// A literal value as written, with where it was written.
public struct Literal: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case text(String)
        case number(Double)
        /// A calendar date as YYYYMMDD.
        case date(Int)
        /// Bytes.
        case size(Int)
    }

    public var value: Value
    public var range: SourceRange
    /// The literal as written (`1e19`, `'CT'`), for messages.
    public var written: String

    public init(_ value: Value, range: SourceRange, written: String? = nil) {
        self.value = value
        self.range = range
        self.written = written ?? Self.text(of: value)
    }

    static func text(of value: Value) -> String {
        switch value {
        case .text(let text): "'\(text)'"
        case .number(let number): "\(number)"
        case .date(let date): String(date)
        case .size(let bytes): "\(bytes)B"
        }
    }
}

/// A path as written (`./out`, `'~/my scans'`), with where it was written. `~` is expanded
/// when the statement runs, not here: the compiler stays pure.
public struct PathLiteral: Sendable, Hashable, ExpressibleByStringLiteral {
    public var text: String
    public var range: SourceRange

    public init(_ text: String, range: SourceRange) {
        self.text = text
        self.range = range
    }

    public init(stringLiteral text: String) {
        self.init(text, range: SourceRange(.start, .start))
    }
}

/// A comparison operator.
public enum Comparison: String, Sendable, Hashable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// A field reference resolved against the schema.
public struct FieldReference: Sendable, Hashable {
    public var field: Field
    public var range: SourceRange

    public init(field: Field, range: SourceRange) {
        self.field = field
        self.range = range
    }
}

/// A `where` condition. Built only through the normalising constructors, so `and`/`or` are
/// flat and double negation is gone.
public indirect enum Condition: Sendable, Hashable {
    case compare(FieldReference, Comparison, Literal)
    case oneOf(FieldReference, [Literal])
    case between(FieldReference, Literal, Literal)
    /// `like 'CT*'`: `*` any run, `?` one character.
    case like(FieldReference, Literal)
    /// `contains 'word'`: whole words in the text.
    case contains(FieldReference, Literal)
    case missing(FieldReference)
    case and([Condition])
    case or([Condition])
    case not(Condition)

    /// `a and b`, flattening nested conjunctions.
    public static func all(_ conditions: [Condition]) -> Condition {
        let flat = conditions.flatMap { condition -> [Condition] in
            if case .and(let inner) = condition { return inner }
            return [condition]
        }
        return flat.count == 1 ? flat[0] : .and(flat)
    }

    /// `a or b`, flattening nested disjunctions.
    public static func any(_ conditions: [Condition]) -> Condition {
        let flat = conditions.flatMap { condition -> [Condition] in
            if case .or(let inner) = condition { return inner }
            return [condition]
        }
        return flat.count == 1 ? flat[0] : .or(flat)
    }

    /// Every field the condition refers to.
    public var fields: [Field] {
        switch self {
        case .compare(let reference, _, _), .oneOf(let reference, _), .between(let reference, _, _),
            .like(let reference, _), .contains(let reference, _), .missing(let reference):
            [reference.field]
        case .and(let terms), .or(let terms): terms.flatMap(\.fields)
        case .not(let inner): inner.fields
        }
    }

    /// `not a`, with `not not a` reduced to `a`.
    public static func negation(_ condition: Condition) -> Condition {
        if case .not(let inner) = condition { return inner }
        return .not(condition)
    }
}

/// Sort direction.
public enum SortOrder: String, Sendable, Hashable {
    case ascending = "ASC"
    case descending = "DESC"
}

/// `preview`: which file, and how its picture is made.
public struct PreviewStatement: Sendable, Hashable {
    public var name: Literal
    public var picture = PictureOptions()

    public var frame: Int {
        get { picture.frame }
        set { picture.frame = newValue }
    }
    public var window: WindowChoice? {
        get { picture.window }
        set { picture.window = newValue }
    }
    public var size: Int? {
        get { picture.size }
        set { picture.size = newValue }
    }
    public var file: PathLiteral? {
        get { picture.file }
        set { picture.file = newValue }
    }
}

/// How a picture is made (`preview NAME …` and `find … preview …`): which frame, how it is
/// windowed, how large, and where it goes.
public struct PictureOptions: Sendable, Hashable {
    /// 1-based, as people count frames.
    public var frame = 1
    public var window: WindowChoice?
    /// Pixels on the longer side at most (of each picture of a contact sheet).
    public var size: Int?
    /// `to FILE.png`: write a PNG instead of drawing in the terminal.
    public var file: PathLiteral?

    public init() {}
}

/// A window written in a statement: centre and width, or a preset's name.
public enum WindowChoice: Sendable, Hashable {
    case values(center: Double, width: Double)
    case preset(String)
}

/// What `find` returns.
public enum Projection: Sendable, Hashable {
    case defaultColumns
    case all
    case fields([FieldReference])
}

/// `order by FIELD [asc|desc]`.
public struct Ordering: Sendable, Hashable {
    public var field: FieldReference
    public var direction: SortOrder
}

/// A column of a level's rows (`numberOfSeries`, `date`) where it was written.
public struct LevelColumnReference: Sendable, Hashable {
    public var column: LevelColumn
    public var range: SourceRange
}

/// `order by COLUMN [asc|desc]` in `find studies|series|patients`.
public struct LevelOrdering: Sendable, Hashable {
    public var column: LevelColumnReference
    public var direction: SortOrder
}

public struct FindStatement: Sendable, Hashable {
    /// What a row is: a file (instances, the default), or a series, study or patient.
    public var level: Level = .instances
    /// The columns named for a row of a level above instances (nil: all of them).
    public var levelColumns: [LevelColumnReference]?
    /// The order named for rows of a level above instances.
    public var levelOrder: LevelOrdering?
    public var projection: Projection = .defaultColumns
    public var condition: Condition?
    public var order: Ordering?
    public var limit: Int?
    public var offset: Int?
    /// `fetch to PATH`: write the matching files there.
    public var fetchDirectory: PathLiteral?
    /// `fetch to PATH as '{patientId}/{studyUid}/…'`: where under PATH each file goes.
    public var fetchLayout: FetchTemplate?
    /// `fetch to PATH overwrite|rename`: what to do where a different file has the name.
    public var existingFiles: ExistingFiles?
    /// `preview …` after the query: a contact sheet of the matching files.
    public var contactSheet: PictureOptions?
    /// Rows of a level also carry the id of one of their files (``FoundRows/samples``), from
    /// the same aggregate: a server that shows a row with that file's attributes (DICOMweb
    /// QIDO) needs no second query. Not written in DQL; set by programs.
    public var withSamples = false
    /// A contact sheet shows at most this many files.
    public static let contactSheetLimit = 100
    /// The largest cell of a contact sheet, in pixels: a full sheet of them is about 5,000
    /// pixels square (80 MB of RGB), where cells of 4096 would take gigabytes.
    public static let contactSheetCellLimit = 512

    /// A statement built by a program (DICOMweb) rather than parsed.
    public init(
        level: Level = .instances, projection: Projection = .defaultColumns, condition: Condition? = nil,
        order: Ordering? = nil, limit: Int? = nil, offset: Int? = nil
    ) {
        self.level = level
        self.projection = projection
        self.condition = condition
        self.order = order
        self.limit = limit
        self.offset = offset
    }
}

/// What a fetch does where the target directory already holds a different file under the name
/// it would write (a file with the same bytes is always recognised and left as it is).
public enum ExistingFiles: String, Sendable, Hashable, CaseIterable {
    /// Write nothing and say which files are in the way (the default).
    case refuse
    /// Replace them (atomically: rename(2) over the old file).
    case overwrite
    /// Write beside them as `NAME_2.dcm`, `NAME_3.dcm`, ….
    case rename
}

/// `count … order by count|FIELD`.
public enum CountOrder: Sendable, Hashable {
    case count(SortOrder)
    case field(FieldReference, SortOrder)
}

public struct CountStatement: Sendable, Hashable {
    /// What is counted: files (instances, the default), or series, studies or patients that
    /// have a matching instance.
    public var level: Level = .instances
    public var condition: Condition?
    public var groupBy: [FieldReference] = []
    public var order: CountOrder?
    public var limit: Int?
}

public struct LoadStatement: Sendable, Hashable {
    public var path: PathLiteral
    public var recursive = false
    public var chunkSize: Int?
    public var connections: Int?
    public var window: Int?

    /// A load built by a program (DICOMweb's STOW-RS) rather than parsed.
    public init(path: PathLiteral, recursive: Bool = false) {
        self.path = path
        self.recursive = recursive
    }
}

/// A session setting and its value (see ``SettingName`` for their limits).
public enum Setting: Sendable, Hashable {
    case chunkSize(Int)
    case connections(Int)
    case window(Int)
    /// Milliseconds.
    case timeout(Int)
    /// Replicas a load waits for.
    case replicas(Int)
    case format(OutputFormat)
    case timing(Bool)
    /// Whether an interactive session asks before a delete.
    case confirm(Bool)
}

/// How results are printed.
public enum OutputFormat: String, Sendable, Hashable, CaseIterable {
    case table, csv, json, ndjson
}

/// One DQL statement.
public indirect enum Statement: Sendable, Hashable {
    case find(FindStatement)
    case count(CountStatement)
    /// Every attribute of one file, by name or id.
    case show(Literal)
    /// `show study '1.2.3'`: a patient, study or series by its ID or UID, with the rows of the
    /// level below it (a study's series, a series' files).
    case showLevel(Level, Literal)
    case fetch(Literal, to: PathLiteral, layout: FetchTemplate?, existing: ExistingFiles?)
    case load(LoadStatement)
    /// `delete [studies|…] where …`: the matching files, or every file of the matching studies,
    /// series or patients.
    case delete(Condition, level: Level = .instances)
    case vacuum
    /// `migrate`: a store on a cluster that keeps its metadata in the `{m}` slot is moved to
    /// the spread layout (documents in buckets over every master).
    case migrate
    case explain(Statement)
    case fields
    case stats
    /// `preview NAME [frame N] [window C/W | PRESET] [size N] [to FILE.png]`: one frame of a
    /// stored file as a picture.
    case preview(PreviewStatement)
    /// `index KEYWORD`: add an attribute to the index, for every stored and future file.
    case index(FieldReference)
    /// `unindex KEYWORD`: take it out again (conditions on it then read the headers).
    case unindex(FieldReference)
    case set(Setting)
}

extension Statement {
    /// Whether the statement changes what is stored. Only these may create keys on the
    /// server (the index included): reading statements never write anything.
    public var changesStore: Bool {
        switch self {
        case .load, .delete, .vacuum, .index, .unindex, .migrate: true
        case .explain, .find, .count, .show, .showLevel, .fetch, .fields, .stats, .set, .preview: false
        }
    }
}

/// A statement with the source range it was parsed from.
public struct ParsedStatement: Sendable, Hashable {
    public var statement: Statement
    public var range: SourceRange
}

/// Calendar checks for date literals.
enum DateValue {
    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let days = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }
}

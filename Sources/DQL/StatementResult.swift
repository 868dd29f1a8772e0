import DicomImage
import RedisIO

/// What running a statement produced, as data: the shell decides how to print it.
public enum StatementResult: Sendable, Equatable {
    /// `find`: rows of the requested fields, and how many matched in all ("N of M").
    case rows(FoundRows)
    /// `count` without groups.
    case count(Int)
    /// `count by …`: one row per group, and how many groups there are in all.
    case groups(GroupCounts)
    /// `show`: one file's document (JSON text).
    case document(id: String, json: String)
    /// `preview`: the picture of one frame, drawn by the shell or written to a PNG.
    case preview(Preview)
    /// `find … preview`: the matching files' pictures, drawn by the shell or written as one
    /// PNG.
    case contactSheet(ContactSheet)
    /// `show study '1.2.3'`: its row, and the rows of the level below it.
    case levelShown(FoundRows, children: FoundRows)
    case fetched([Fetcher.Result])
    case loaded(LoadReport)
    /// `delete`: how many files went; `declined` when the user said no and nothing changed.
    case deleted(Int, declined: Bool = false)
    case vacuumed(Maintenance.VacuumReport)
    /// `migrate`: what was moved to the spread layout.
    case migrated(SpreadMigration.Report)
    /// `explain`: the commands as sent, and the server's plan for the query.
    /// The commands a statement sends and the server's plan for its query; for a statement
    /// without a single query (`load`, `vacuum`), the steps it takes instead.
    case explained(commands: [[String]], serverPlan: String?, steps: [String])
    /// `set`: the session setting changed.
    case settingChanged(Setting)
    /// `fields`: the schema with example values from the index.
    case fields([FieldSummary])
    /// `stats`: what is stored.
    case stats(StoreStats)
    /// `index KEYWORD`: the files walked and how many of them have a value; `again` when it
    /// was indexed already (and was filled in again).
    case attributeIndexed(String, files: Int, values: Int, again: Bool = false)
    /// `unindex KEYWORD`: the files it was taken out of.
    case attributeUnindexed(String, files: Int, wasIndexed: Bool)
}

/// What `stats` reports.
public struct StoreStats: Sendable, Equatable {
    public var files: Int
    /// Bytes of the stored files (their sizes summed).
    public var bytes: Int
    /// used_memory summed over the servers.
    public var serverMemory: Int
    /// The server holding the documents and the index.
    public var endpoint: String
    public var index: String
    /// Whether the store is a Redis Cluster.
    public var isCluster: Bool
    /// Each master (on one server, that server): what it holds.
    public var shards: [ShardStats]
    /// Memory of the index (RediSearch's total_index_memory_sz_mb), in bytes.
    public var indexMemory = 0
    /// Redis memory of one file's metadata: the mean MEMORY USAGE of (a sample of) its
    /// documents plus its share of the index.
    public var metadataPerFile = 0
    /// Times RediSearch failed to index a document since the index was built
    /// (hash_indexing_failures): a document changed by hand into something the index cannot
    /// read is invisible to every query until it is mended.
    public var indexFailures = 0

    /// How unevenly the documents sit on the masters: documents on the fullest over the mean
    /// (1 when even, or on one server; the number of masters when one holds them all).
    public var documentSpread: Double {
        let counts = shards.map(\.documents)
        let total = counts.reduce(0, +)
        guard total > 0, let most = counts.max(), !counts.isEmpty else { return 1 }
        return Double(most) / (Double(total) / Double(counts.count))
    }
}

/// What one server of the store holds.
public struct ShardStats: Sendable, Equatable {
    public var endpoint: String
    /// The hash slots it serves, as `0-5460`; empty on a single server.
    public var slots: String
    /// Keys of every kind (DBSIZE): documents, chunks, and anything else in the database.
    public var keys: Int
    /// The server's used_memory.
    public var memory: Int
    /// dql's documents it holds and searches.
    public var documents = 0
    /// Redis memory of those documents (their mean MEMORY USAGE times their number).
    public var documentMemory = 0
    /// Memory of its index.
    public var indexMemory = 0

    public init(endpoint: String, slots: String, keys: Int, memory: Int) {
        self.endpoint = endpoint
        self.slots = slots
        self.keys = keys
        self.memory = memory
    }
}

/// Rows from `find`.
public struct FoundRows: Sendable, Equatable {
    public var columns: [String]
    /// One array per row, a value (or nil) per column; empty when the rows went to the
    /// statement's ``RowSink`` as they arrived.
    public var rows: [[String?]]
    public var ids: [String]
    /// Matches in all; more than `returned` when a limit cut the result.
    public var total: Int
    /// Rows returned (collected or streamed).
    public var returned: Int
    /// Whether the rows were streamed to a ``RowSink`` instead of collected here.
    public var streamed = false
    /// Files written by `fetch to`.
    public var fetched: [Fetcher.Result] = []
    /// What a row is: a file, or a series, study or patient (whose key is its id).
    public var level: Level = .instances
    /// With ``FindStatement/withSamples``: the id of one file of each row, in row order.
    public var samples: [String?] = []

    public init(columns: [String], rows: [[String?]] = [], ids: [String] = [], total: Int = 0, returned: Int = 0) {
        self.columns = columns
        self.rows = rows
        self.ids = ids
        self.total = total
        self.returned = returned
    }
}

/// Groups from `count by`.
public struct GroupCounts: Sendable, Equatable {
    public var columns: [String]
    public var rows: [(values: [String?], count: Int)]
    /// Groups in all; more than `rows.count` when a limit cut them.
    public var totalGroups: Int

    public static func == (lhs: GroupCounts, rhs: GroupCounts) -> Bool {
        lhs.columns == rhs.columns && lhs.totalGroups == rhs.totalGroups
            && lhs.rows.elementsEqual(rhs.rows) { $0.values == $1.values && $0.count == $1.count }
    }
}

/// One line of `fields`.
public struct FieldSummary: Sendable, Equatable {
    public var name: String
    public var type: String
    /// The operators conditions on it may use (`contains` only where words are indexed).
    public var operators: [String]
    public var summary: String
    public var examples: [String]
}

/// What `load` did: an outcome per file tried, and why it stopped early, if it did.
extension LoadReport.Interruption? {
    /// Whether the load was cut off from the server (nothing more can be asked of it).
    var isConnectionFailure: Bool {
        if case .connection(let error)? = self { return error.isConnectionFailure }
        return false
    }
}

public struct LoadReport: Sendable, Equatable {
    public enum Interruption: Sendable, Equatable {
        /// The user pressed Ctrl-C; the files in progress were rolled back.
        case cancelled
        /// The server could not be reached any more, or refuses every write alike
        /// (NOPERM, OOM, READONLY).
        case connection(RedisError)
        /// The load was stopped (suspended) longer than its lease: what it stored before stays.
        case suspended(seconds: Int)
    }

    public var outcomes: [Loader.Outcome] = []
    /// Files loaded from a header the reader had to repair or partly skip: what it said.
    public var repaired: [(path: String, notes: [String])] = []
    /// Hidden names (starting with `.`) in the directories walked, left out.
    public var hidden = 0
    /// Subdirectories left out of a load that was not `recursive`.
    public var subdirectoriesLeft = 0
    public var interruption: Interruption?
    public var elapsed: Duration = .zero
    /// What the servers said of the load's writes reaching their disks (nil: nothing was
    /// written, or the load was cut off from the server).
    public var durability: Durability?
    /// Replicas the load waited for.
    public var replicas = 0
    /// Why the servers could not be asked whether the writes are on disk.
    public var durabilityError: RedisError?

    public init() {}

    public static func == (lhs: LoadReport, rhs: LoadReport) -> Bool {
        lhs.outcomes == rhs.outcomes && lhs.interruption == rhs.interruption && lhs.elapsed == rhs.elapsed
            && lhs.durability == rhs.durability && lhs.replicas == rhs.replicas
            && lhs.hidden == rhs.hidden
            && lhs.repaired.elementsEqual(rhs.repaired) { $0.path == $1.path && $0.notes == $1.notes }
    }

    public var loaded: Int { outcomes.count { if case .loaded = $0 { true } else { false } } }
    public var alreadyLoaded: Int { outcomes.count { if case .alreadyLoaded = $0 { true } else { false } } }
    public var failed: Int { outcomes.count { if case .failed = $0 { true } else { false } } }
    /// Bytes of the files stored by this load (not those already there).
    public var bytesLoaded: Int {
        outcomes.reduce(0) { total, outcome in
            if case .loaded(_, _, let size) = outcome { total + size } else { total }
        }
    }
}

/// What `preview` made: one frame of a stored file, windowed, as an 8-bit picture.
/// A contact sheet: a picture of each matching file (up to ``FindStatement/contactSheetLimit``),
/// with its name.
public struct ContactSheet: Sendable, Equatable {
    /// In the order of the result; a cell without a picture is a file that could not be shown.
    public var cells: [PictureGrid.Cell]
    /// Why each file without a picture could not be shown: its name and the reason.
    public var problems: [Problem]
    /// Files matching in all (more than the cells when the sheet's limit cut the result).
    public var total: Int
    /// Pixels on the side of a cell, when the statement says (`size N`).
    public var cellSize: Int?
    /// The PNG written, with `to FILE.png`, and its grid's columns.
    public var file: String?
    public var columns: Int?

    public struct Problem: Sendable, Equatable {
        public var name: String
        public var reason: String
    }

    public init(
        cells: [PictureGrid.Cell], problems: [Problem], total: Int, cellSize: Int?, file: String?, columns: Int?
    ) {
        self.cells = cells
        self.problems = problems
        self.total = total
        self.cellSize = cellSize
        self.file = file
        self.columns = columns
    }
}

public struct Preview: Sendable, Equatable {
    public var name: String
    public var id: String
    /// 1-based.
    public var frame: Int
    public var frames: Int
    public var picture: Picture
    /// The window shown (given, the header's, or the frame's range), for grey pictures.
    public var window: Window?
    /// Where the PNG was written, with `to FILE.png`.
    public var file: String?
    /// The frame was read alone from a large file, so its bytes were not checked against the
    /// file's SHA-256 (which needs every byte).
    public var readAlone = false
}

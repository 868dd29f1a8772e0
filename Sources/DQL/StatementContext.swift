/// What a running statement reports to and asks of the shell: where its time goes, how far it
/// has got, where its rows go, whether to go ahead with a delete, and whether the user asked
/// it to stop.
public struct StatementContext: Sendable {
    public var profile: ProfileRecorder
    public var activity: Activity
    /// Polled between chunks and between files; when it turns true the statement stops and
    /// cleans up after itself.
    public var isCancelled: @Sendable () -> Bool
    /// Where `find` rows go as they arrive, page by page; without one they are collected
    /// into the result.
    public var rows: (any RowSink)?
    /// Asked before data is removed, with what is about to go; false stops the statement
    /// with nothing changed.
    public var confirm: @Sendable (IrreversibleAction) -> Bool
    /// Receives what the user should know that is neither a result nor an error.
    public var note: @Sendable (String) -> Void

    public init(
        profile: ProfileRecorder = ProfileRecorder(), activity: Activity = Activity(),
        isCancelled: @escaping @Sendable () -> Bool = { false }, rows: (any RowSink)? = nil,
        confirm: @escaping @Sendable (IrreversibleAction) -> Bool = { _ in true },
        note: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.profile = profile
        self.activity = activity
        self.isCancelled = isCancelled
        self.rows = rows
        self.confirm = confirm
        self.note = note
    }
}

/// What a statement is about to do that cannot be undone.
public enum IrreversibleAction: Sendable, Equatable {
    /// Delete this many files (documents and chunks).
    case delete(files: Int)
}

/// Receives `find` rows as they arrive, a page at a time, so memory stays bounded by a page
/// whatever the size of the result.
public protocol RowSink: AnyObject, Sendable {
    /// Before the first page: the columns, how many rows match in all, and what a row is
    /// (a file, or a series, study or patient).
    func begin(columns: [String], total: Int, level: Level)
    /// A page of rows: each file's id and its values, one per column.
    func page(ids: [String], rows: [[String?]])
}

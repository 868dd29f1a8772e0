import Synchronization

/// Where one statement's time went, for the shell's timing mode: wall time per phase and
/// the bytes moved. Phases can overlap (disk writes happen inside the transfer, on several
/// connections at once), so they need not add up to the total.
public struct StatementProfile: Sendable, Equatable {
    public enum Phase: String, Sendable, CaseIterable {
        case compile = "parse and compile"
        case query = "server query"
        case transfer = "transfer"
        case write = "disk write"
        case checksum = "checksum"

        fileprivate var slot: Int {
            switch self {
            case .compile: 0
            case .query: 1
            case .transfer: 2
            case .write: 3
            case .checksum: 4
            }
        }
    }

    /// One slot per phase, in `Phase.allCases` order: a statement adds to these several times,
    /// and a dictionary's hashing and growth showed in the profile of a one-file fetch.
    private var durations = [Duration](repeating: .zero, count: Phase.allCases.count)
    /// Chunk bytes sent or received.
    public var bytesTransferred = 0

    public init() {}

    public subscript(phase: Phase) -> Duration { durations[phase.slot] }

    public mutating func add(_ duration: Duration, to phase: Phase) {
        durations[phase.slot] += duration
    }
}

/// Collects a ``StatementProfile`` from several threads.
public final class ProfileRecorder: Sendable {
    private let state = Mutex(StatementProfile())

    public init() {}

    public var profile: StatementProfile { state.withLock { $0 } }

    public func add(_ duration: Duration, to phase: StatementProfile.Phase) {
        state.withLock { $0.add(duration, to: phase) }
    }

    public func add(bytes: Int) {
        state.withLock { $0.bytesTransferred += bytes }
    }

    /// Runs `body` and adds its wall time to `phase`.
    @discardableResult
    public func measure<Result>(_ phase: StatementProfile.Phase, _ body: () throws -> Result) rethrows -> Result {
        let start = ContinuousClock.now
        defer { add(ContinuousClock.now - start, to: phase) }
        return try body()
    }
}

/// What a running statement has done so far, for a progress bar drawn by another thread:
/// files and bytes, done and (when known) in all.
public final class Activity: Sendable {
    private let filesDone = Atomic<Int>(0)
    private let filesTotal = Atomic<Int>(0)
    private let bytesDone = Atomic<Int>(0)
    private let bytesTotal = Atomic<Int>(0)
    /// Files the whole statement will move, when it knows before it has begun them all (a
    /// fetch of many pages of search results).
    private let filesPlanned = Atomic<Int>(0)

    public init() {}

    public struct Snapshot: Sendable, Equatable {
        public var filesDone: Int
        public var filesTotal: Int
        public var bytesDone: Int
        /// 0 when not known.
        public var bytesTotal: Int
    }

    /// Files in all are the planned ones when there is a plan; bytes in all are not known
    /// until every file has been begun.
    public var snapshot: Snapshot {
        let begun = filesTotal.load(ordering: .relaxed)
        let planned = filesPlanned.load(ordering: .relaxed)
        return Snapshot(
            filesDone: filesDone.load(ordering: .relaxed), filesTotal: max(begun, planned),
            bytesDone: bytesDone.load(ordering: .relaxed),
            bytesTotal: planned > begun ? 0 : bytesTotal.load(ordering: .relaxed))
    }

    /// The statement will move `files` files in all, begun part by part with ``expect(files:bytes:)``.
    public func plan(files: Int) { filesPlanned.store(files, ordering: .relaxed) }

    /// `files` more files of `bytes` in all are begun (a page of a fetch), added to those so
    /// far: what was done before stays counted.
    public func expect(files: Int, bytes: Int) {
        filesTotal.wrappingAdd(files, ordering: .relaxed)
        bytesTotal.wrappingAdd(bytes, ordering: .relaxed)
    }

    public func begin(files: Int, bytes: Int) {
        filesDone.store(0, ordering: .relaxed)
        bytesDone.store(0, ordering: .relaxed)
        filesTotal.store(files, ordering: .relaxed)
        bytesTotal.store(bytes, ordering: .relaxed)
    }

    public func add(bytes: Int) { bytesDone.wrappingAdd(bytes, ordering: .relaxed) }
    public func finishFile() { filesDone.wrappingAdd(1, ordering: .relaxed) }
    public func finish(files: Int) { filesDone.wrappingAdd(files, ordering: .relaxed) }
}

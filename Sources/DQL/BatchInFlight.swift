import Foundation

/// One batch of small files being stored on a thread of its own, so a load can store two
/// batches at once: while the server works on one batch's commands, this side builds and
/// sends the other's. One batch at a time, the client and the server took turns (60 % of two
/// cores busy loading 20,000 tiny files).
final class BatchInFlight: @unchecked Sendable {
    /// The ids of the batch's files: the batch started beside it leaves these to be loaded
    /// alone after it, so no id is claimed twice by the same load.
    let ids: Set<String>
    private let done = DispatchSemaphore(value: 0)
    /// Written once by the storing thread before `done` is signalled.
    nonisolated(unsafe) private var outcome: Result<[Loader.BatchResult], any Error>?

    init(
        files: [Result<PreparedFile, LoadPipeline.LoadFailure>],
        _ store: @escaping @Sendable () throws -> [Loader.BatchResult]
    ) {
        ids = Set(files.compactMap { try? $0.get().id })
        let thread = Thread { [self] in
            outcome = Result { try store() }
            done.signal()
        }
        thread.name = "dql.store"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Whether a batch holds enough bytes to keep the connections busy by itself: such a batch
    /// gains nothing from another beside it. Batches of small files are mostly commands.
    static func isHeavy(_ files: [Result<PreparedFile, LoadPipeline.LoadFailure>]) -> Bool {
        files.reduce(0) { total, file in total + ((try? file.get().mapped.buffer.count) ?? 0) } > heavyBytes
    }

    /// Bytes from which a batch is stored alone.
    static let heavyBytes = 4 << 20

    /// Waits for the batch and returns its results, or throws what stopped it.
    func results() throws -> [Loader.BatchResult] {
        done.wait()
        done.signal()  // a second call returns at once
        guard let outcome else { preconditionFailure("a batch finished without an outcome") }
        return try outcome.get()
    }
}

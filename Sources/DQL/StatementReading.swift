import Foundation
import RedisIO

/// What one reading statement has seen of a store that a `migrate` may change under it, so
/// that its answer is one answer: rows of a long listing read page by page are never shown
/// twice or left out because a step of the move came between two pages.
///
/// - On a migrating store the statement keeps a connection to the master of the `{m}` slot
///   named ``readerName(prefix:)`` while it runs; `migrate` waits between steps while such a
///   connection is open (up to ``SpreadMigration/readerPatience``), and a statement killed
///   mid-way lets go with its connection.
/// - The statement pins the move's epoch at its first query; a later query that finds another
///   epoch (a step went ahead after the wait) fails the statement rather than mix two states.
/// - A statement that has answered a query does not start again when the placement changes
///   under it (a `migrate` began or ended): it fails, so nothing it showed is shown twice.
final class StatementReading: @unchecked Sendable {
    private let lock = NSLock()
    private var pinnedEpoch: Int?
    private var answered = false
    private var connection: RedisConnection?
    /// Where a listing read page by page stands on each shard of a spread store.
    let cursor = PagingCursor()

    /// The client name of a connection held by a statement reading the store under `prefix`.
    static func readerName(prefix: String) -> String { "dql-reading:\(prefix)" }

    /// Starts a statement's reading; on a migrating store, says so to `migrate` (best effort:
    /// an account made before may not name its connections, and then only the epoch guards).
    init(layout: StorageLayout, client: RedisClient) {
        guard layout.placement == .migrating else { return }
        announce(layout: layout, client: client)
    }

    /// A statement begun on a `{m}` store that finds a `migrate` has begun under it: it goes
    /// on as a reader of the migrating store that has seen no step (all its documents still in
    /// the `{m}` index), if no step has been taken yet.
    func joinMigration(layout: StorageLayout, client: RedisClient) {
        lock.withLock { if pinnedEpoch == nil { pinnedEpoch = 0 } }
        if lock.withLock({ connection == nil }) { announce(layout: layout, client: client) }
    }

    /// Names a connection as this statement's reading, after a step waiting to commit.
    ///
    /// The name is set first and the step's mark read after it: a step sets its mark before
    /// it lists the readers, so either the step sees this statement or this statement sees the
    /// step. (Read the other way round, a step could list no reader and commit between a
    /// statement's first page and its second, which then failed with DQL415.)
    private func announce(layout: StorageLayout, client: RedisClient) {
        guard let pool = try? client.pool(forKey: layout.migrationKey) else { return }
        let deadline = Date().addingTimeInterval(Self.stepPatience)
        func stepIsPending() -> Bool {
            (try? client.call(RedisCommand("GET", layout.migrationPendingKey), routedBy: layout.migrationPendingKey))?
                .string != nil
        }
        while true {
            var named: RedisConnection?
            if let connection = try? RedisConnection(pool.configuration),
                (try? connection.call("CLIENT", "SETNAME", Self.readerName(prefix: layout.prefix))) != nil
            {
                named = connection
            }
            guard stepIsPending(), Date() < deadline else {
                if let named { lock.withLock { self.connection = named } }
                return
            }
            // A step waiting for the statements before this one goes first: this one stands
            // aside (its name gone) until the step has committed, or its patience ends.
            named?.close()
            while Date() < deadline, stepIsPending() { Thread.sleep(forTimeInterval: 0.01) }
        }
    }

    /// How long a statement waits for a step of `migrate` that waits to commit.
    static let stepPatience: Double = 5

    /// Ends the statement's reading (closes the named connection).
    func finish() {
        let connection = lock.withLock {
            defer { self.connection = nil }
            return self.connection
        }
        connection?.close()
    }

    /// The epoch the statement's queries must see, once one has answered.
    var epoch: Int? { lock.withLock { pinnedEpoch } }

    /// Whether any query of the statement has answered.
    var hasAnswered: Bool { lock.withLock { answered } }

    /// A query answered (seeing `epoch` on a migrating store).
    func answered(epoch: Int?) {
        lock.withLock {
            answered = true
            if pinnedEpoch == nil { pinnedEpoch = epoch }
        }
    }
}

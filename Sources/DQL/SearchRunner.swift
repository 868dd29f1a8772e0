import Foundation
import RedisIO

/// Sends searches and aggregates to the server holding the index and decodes their replies
/// into typed pages; the one paging loop of DQL lives here. A query that runs out of time is
/// an error, never a short answer (see ``ServerLimits`` for servers that would answer).
struct SearchRunner {
    let client: RedisClient
    var layout: StorageLayout
    /// The attributes that sort as numbers (merging a spread store's answers sorts here).
    var numericAttributes: Set<String> = Set(Schema.fields.filter { $0.kind != .tag }.map(\.attribute))
    /// What the statement has read so far (its pinned epoch on a migrating store).
    var reading: StatementReading?

    /// Sends one query command (to the master of the index's slot; on a spread store, to every
    /// bucket's index, the answers merged) and returns its reply.
    func query(_ command: [String], context: StatementContext) throws -> RedisReply {
        let reply = try context.profile.measure(.query) {
            if layout.placement != .single, command.first == "FT.SEARCH" || command.first == "FT.AGGREGATE" {
                return try coordinate(command)
            }
            if client.isCluster {
                do {
                    let reply = try queryWatchingPlacement(command)
                    reading?.answered(epoch: nil)
                    return reply
                } catch is PlacementChanged where reading?.hasAnswered == true {
                    // A `migrate` began after this statement's first answer: it reads on as
                    // a reader of the migrating store, as long as no step has been taken.
                    var migrating = self
                    migrating.layout.placement = .migrating
                    guard let reading, (try? migrating.migrationEpoch()) != nil else { throw PlacementChanged() }
                    reading.joinMigration(layout: migrating.layout, client: client)
                    return try migrating.coordinate(command)
                }
            }
            return try client.send(RedisCommand(command), routedBy: layout.metadataRoutingKey)
        }
        if let message = reply.errorMessage { throw failure(message, command: command) }
        return reply
    }

    /// A query of a store spread over the masters, or being moved there: every index that
    /// holds documents asked at once, the answers merged.
    ///
    /// While `migrate` runs, each document is in exactly one of the `{m}` index and the bucket
    /// indexes between its steps, and a study keeps to one of them; a step moves documents
    /// with its epoch odd. A query reads the epoch before and after it asks the indexes and is
    /// asked again when the two differ or a step was under way, so no document is seen twice
    /// or missed.
    func coordinate(_ command: [String]) throws -> RedisReply {
        guard layout.placement == .migrating else { return try coordinate(command, on: layout.spreadShards(client)) }
        var epochs: Set<Int> = []
        for attempt in 1...Self.migrationTries {
            let epoch = try migrationEpoch()
            epochs.insert(epoch)
            // A step went ahead since the statement's first query (`migrate` waits for a
            // reading statement, but not for ever): its pages would not fit together.
            if let pinned = reading?.epoch, pinned != epoch { throw ExecutionError(.migrationMovedUnderStatement) }
            guard epoch % 2 == 0 else {
                Thread.sleep(forTimeInterval: min(0.1, 0.01 * Double(attempt)))
                continue
            }
            let reply: RedisReply
            do {
                reply = try coordinate(command, on: layout.searchShards(client))
            } catch let error as RedisError where error.isMissingIndex {
                // The `{m}` index is dropped when the move is done.
                _ = try migrationEpoch()
                throw error
            }
            if try migrationEpoch() == epoch {
                reading?.answered(epoch: epoch)
                return reply
            }
        }
        // One odd epoch all along: a step that nothing is finishing.
        throw ExecutionError(
            .migrationBusy(
                tries: Self.migrationTries, unfinished: epochs.count == 1 && epochs.first.map { $0 % 2 == 1 } == true))
    }

    /// How often a query of a migrating store is tried before it gives up (about 4 s in all
    /// while a step is under way; a step takes milliseconds).
    static let migrationTries = 60

    /// The epoch of a migrating store's move (see ``coordinate(_:)``). Throws
    /// ``PlacementChanged`` once the store is no longer migrating.
    func migrationEpoch() throws -> Int {
        let replies = try client.pipeline(
            [RedisCommand("GET", layout.placementKey), RedisCommand("HGETALL", layout.migrationKey)],
            allRoutedBy: layout.migrationKey)
        guard try replies[0].checked().string == StorageLayout.Placement.migrating.rawValue else {
            throw PlacementChanged()
        }
        let progress = try replies[1].checked().textPairs ?? [:]
        return progress["epoch"].flatMap { Int($0) } ?? 0
    }

    /// A query of the bucket indexes `shards`: asked again when a bucket's slot moved, and
    /// once a bucket's move under way has ended.
    ///
    /// While a bucket's slot is being moved (resharding), part of its documents are on the
    /// target master, where no index answers for them yet, and the source's index answers
    /// `ASK`: the query waits for the move to end (at most its own timeout), then asks again,
    /// so its answer is exact, never short.
    private func coordinate(
        _ command: [String], on shards: @autoclosure () throws -> [SearchCoordinator.Shard]
    ) throws
        -> RedisReply
    {
        let numeric = numericAttributes
        let coordinator = SearchCoordinator(isNumeric: { numeric.contains($0) })
        var moves = 0
        var waited = 0.0
        let patience = Double(max(Self.timeout(of: command), 1000)) / 1000
        while true {
            do {
                return try coordinator.run(command, on: shards(), cursor: reading?.cursor)
            } catch let error as RedisError where ClusterRedirect(errorMessage: error.message) != nil {
                if case .moved = ClusterRedirect(errorMessage: error.message), moves < 5 {
                    // A bucket's slot moved: the map is read again and the indexes checked (and
                    // made where missing: its slot may have gone to a master without one, or
                    // back to one that kept an older index of it).
                    moves += 1
                    try client.refreshTopology()
                    try IndexManager(layout: layout).ensureSpreadIndexes(client)
                    continue
                }
                guard waited < patience else {
                    throw RedisError(
                        .server, endpoint: error.endpoint,
                        "a bucket of the store is still being moved to another master after \(Int(waited.rounded())) s (\(error.message)); its answer would be incomplete until the move is done: run the statement again then, or `set timeout` to wait longer"
                    )
                }
                let pause = min(0.05, patience - waited)
                Thread.sleep(forTimeInterval: pause)
                waited += pause
            } catch let error as RedisError where error.kind == .server && !error.isMissingIndex {
                throw failure(error.message, command: command)
            }
        }
    }

    /// A query of a `{m}` store on a cluster, with the store's record of placement read after
    /// it on the same connection: once a `migrate` has begun, documents leave the `{m}` index,
    /// so an answer from it alone is only whole if the query ran before that.
    private func queryWatchingPlacement(_ command: [String]) throws -> RedisReply {
        let replies = try client.pipeline(
            [RedisCommand(command), RedisCommand("GET", layout.placementKey)], allRoutedBy: layout.metadataRoutingKey)
        if let placement = replies[1].string, placement != StorageLayout.Placement.single.rawValue {
            throw PlacementChanged()
        }
        return replies[0]
    }

    /// What an error reply means for the statement.
    private func failure(_ message: String, command: [String]) -> Error {
        let lowered = message.lowercased()
        if lowered.contains("timeout limit was reached") {
            return ExecutionError(.queryTimedOut(milliseconds: Self.timeout(of: command)))
        }
        if lowered.hasPrefix("offset exceeds maximum of") || lowered.hasPrefix("limit exceeds maximum of") {
            let maximum = message.split(separator: " ").last.flatMap { Int($0) } ?? 0
            return ExecutionError(.resultWindowTooLarge(maximum: maximum))
        }
        return RedisError(.server, endpoint: client.configuration.url.endpoint, message)
    }

    /// The `TIMEOUT` argument of a command, for messages.
    static func timeout(of command: [String]) -> Int {
        command.firstIndex(of: "TIMEOUT").flatMap { command.indices.contains($0 + 1) ? Int(command[$0 + 1]) : nil }
            ?? 0
    }

    /// The one paging loop: asks `fetch` for pages of at most `pageSize` items starting at
    /// `offset`, until `limit` items came (nil: all of them) or a page comes back short.
    /// `fetch` returns how many items its page held. With `consuming`, every page starts at
    /// `offset` again, for a loop that removes what it was given (delete).
    static func page(
        from offset: Int, limit: Int?, pageSize: Int, consuming: Bool = false,
        _ fetch: (_ offset: Int, _ count: Int) throws -> Int
    ) rethrows {
        var position = offset
        var delivered = 0
        while true {
            let wanted = limit.map { $0 - delivered } ?? pageSize
            guard wanted > 0 else { return }
            let count = min(wanted, pageSize)
            let received = try fetch(position, count)
            delivered += received
            if !consuming { position += received }
            if received < count || received == 0 { return }
        }
    }
}

/// The store's placement changed under a statement (a `migrate` began or finished): the
/// executor reads it again and runs the statement again.
struct PlacementChanged: Error {}

/// One page of an FT.SEARCH reply: the total, then each document's key and returned
/// attributes.
struct SearchPage {
    var total: Int
    var documents: [(key: String, attributes: [String: String])]

    init(_ reply: RedisReply, returning: Bool) throws {
        guard let items = reply.array, let total = items.first?.integer else {
            throw RedisError(.unexpectedReply, "FT.SEARCH replied \(reply)")
        }
        self.total = Int(total)
        documents = []
        var index = 1
        while index < items.count {
            let key = items[index].string ?? ""
            var attributes: [String: String] = [:]
            if returning, index + 1 < items.count, let fields = items[index + 1].textPairs {
                attributes = fields
                index += 1
            }
            documents.append((key, attributes))
            index += 1
        }
    }
}

/// The rows of an FT.AGGREGATE reply, each a dictionary of its fields. A list (TOLIST) is
/// its values in order, separated by `\\` as DICOM writes several values.
struct AggregateRows {
    var rows: [[String: String]]

    init(_ reply: RedisReply) throws {
        guard let items = reply.array else { throw RedisError(.unexpectedReply, "FT.AGGREGATE replied \(reply)") }
        rows = items.dropFirst().compactMap { item in
            item.pairs.map { pairs in
                var row: [String: String] = [:]
                for (name, value) in pairs where row[name] == nil {
                    if let text = value.string {
                        row[name] = text
                    } else if let values = value.array {
                        let texts = values.compactMap(\.string).filter { !$0.isEmpty }.sorted()
                        if !texts.isEmpty { row[name] = texts.joined(separator: "\\") }
                    }
                }
                return row
            }
        }
    }
}

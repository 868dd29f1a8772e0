import Foundation
import RedisIO

/// Sends searches and aggregates to the server holding the index and decodes their replies
/// into typed pages; the one paging loop of DQL lives here. A query that runs out of time is
/// an error, never a short answer (see ``ServerLimits`` for servers that would answer).
struct SearchRunner {
    let client: RedisClient
    let layout: StorageLayout
    /// The attributes that sort as numbers (merging a spread store's answers sorts here).
    var numericAttributes: Set<String> = Set(Schema.fields.filter { $0.kind != .tag }.map(\.attribute))

    /// Sends one query command (to the master of the index's slot; on a spread store, to every
    /// bucket's index, the answers merged) and returns its reply.
    func query(_ command: [String], context: StatementContext) throws -> RedisReply {
        let reply = try context.profile.measure(.query) {
            if layout.placement == .spread, command.first == "FT.SEARCH" || command.first == "FT.AGGREGATE" {
                let numeric = numericAttributes
                let coordinator = SearchCoordinator(isNumeric: { numeric.contains($0) })
                var attempt = 0
                while true {
                    do {
                        return try coordinator.run(command, on: layout.spreadShards(client))
                    } catch let error as RedisError
                        where ClusterRedirect(errorMessage: error.message) != nil && attempt < 3
                    {
                        // A bucket's slot moved: read the map again and ask again. A slot in
                        // the middle of a move (ASK, TRYAGAIN) is waited for a little.
                        attempt += 1
                        if case .moved = ClusterRedirect(errorMessage: error.message) {
                            // Its slot may have gone back to a master that kept an older
                            // index of it: the indexes are checked (and made) again.
                            try client.refreshTopology()
                            try IndexManager(layout: layout).ensureSpreadIndexes(client)
                        } else {
                            Thread.sleep(forTimeInterval: 0.2 * Double(attempt))
                        }
                    } catch let error as RedisError where ClusterRedirect(errorMessage: error.message) != nil {
                        // Half of a bucket's documents may already be on the other master,
                        // where no index answers for them yet: no answer rather than a short one.
                        throw RedisError(
                            .server, endpoint: error.endpoint,
                            "a bucket of the store is being moved to another master (\(error.message)); its answer would be incomplete until the move is done: run the statement again then"
                        )
                    } catch let error as RedisError where error.kind == .server && !error.isMissingIndex {
                        throw failure(error.message, command: command)
                    }
                }
            }
            return try client.send(RedisCommand(command), routedBy: layout.metadataRoutingKey)
        }
        if let message = reply.errorMessage { throw failure(message, command: command) }
        return reply
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

import DicomCore
import Foundation
import RedisIO

/// `index KEYWORD` and `unindex KEYWORD` (see ``IndexedAttributes``).
extension Executor {
    /// Records the attribute as filling (loads that start from now on write it), adds it to the
    /// index, fills it into every stored document from its header, waits for the loads that
    /// began before (their documents lack it) and fills those in, then records it ready.
    func indexAttribute(_ plan: AttributePlan, context: StatementContext) throws -> StatementResult {
        let field = plan.field
        let record = IndexedAttributes.key(layout)
        let name = IndexedAttributes.recordName(field)
        let routing = layout.metadataRoutingKey
        // Read by the statement just before (see `usesAttributes`).
        let again = attributes.entries.contains { $0.field.tag == field.tag && $0.state == .ready }
        try client.call(
            RedisCommand("HSET", record, name, IndexedAttributes.recordValue(field, .filling)), routedBy: routing)
        // Every bucket's index on a spread store.
        let indexes =
            layout.placement == .spread
            ? (0..<StorageLayout.spreadBuckets).map { layout.spreadIndexName(bucket: $0) } : [layout.indexName]
        for index in indexes {
            var command = plan.alterCommand
            if command.count > 1 { command[1] = index }
            let altered = try client.send(
                RedisCommand(command), routedBy: layout.placement == .spread ? index : routing)
            // Indexed before and taken out again: the field is still in the index (it cannot
            // be dropped), so it only needs filling.
            if let message = altered.errorMessage, !message.lowercased().contains("duplicate") {
                throw RedisError(.server, endpoint: client.configuration.url.endpoint, message)
            }
        }
        let earlierLoads = try client.withConnection(routedBy: routing) { connection in
            var keys: [String] = []
            try connection.scan(matching: RedisConnection.globEscaped(layout.loadRunKey(token: "")) + "*") {
                keys += $0
            }
            return keys
        }
        var (files, valued) = try fill(field, onlyMissing: false, context: context)
        if !earlierLoads.isEmpty {
            context.note(
                "waiting for \(plural(earlierLoads.count, "load")) that began before index, to fill in its files too")
            try waitUntilGone(earlierLoads, context: context)
            let late = try fill(field, onlyMissing: true, context: context)
            files = max(files, late.files)
            valued += late.values
        }
        try client.call(
            RedisCommand("HSET", record, name, IndexedAttributes.recordValue(field, .ready)), routedBy: routing)
        for index in indexes { try IndexManager(layout: layout).waitForIndexing(client, index: index) }
        return .attributeIndexed(
            field.name, files: files, values: valued,
            again: again)
    }

    /// Takes the attribute out of the record and out of every document (every time: an
    /// interrupted unindex, or a load that began before it, may have left values behind).
    func unindexAttribute(_ plan: AttributePlan, context: StatementContext) throws -> StatementResult {
        let field = plan.field
        let removed = try client.call(
            RedisCommand("HDEL", IndexedAttributes.key(layout), IndexedAttributes.recordName(field)),
            routedBy: layout.metadataRoutingKey)
        var files = 0
        try forEachDocument(context: context) { connection, keys in
            let replies = try connection.pipeline(keys.map { RedisCommand("JSON.DEL", $0, "$." + field.documentKey) })
            files += replies.reduce(0) { $0 + ($1.integer.map(Int.init) ?? 0) }
        }
        return .attributeUnindexed(field.name, files: files, wasIndexed: removed.integer == 1 || files > 0)
    }

    /// Fills the attribute into every stored document (or only those that lack it) from its
    /// header: the documents walked, and how many got a value.
    private func fill(
        _ field: Field, onlyMissing: Bool, context: StatementContext
    ) throws -> (files: Int, values: Int) {
        var files = 0
        var valued = 0
        let path = "$." + field.documentKey
        try forEachDocument(context: context) { connection, keys in
            let facts = try connection.pipeline(
                keys.map { RedisCommand("JSON.GET", $0, "$.size", "$.chunkSize", "$.headerLength", path) })
            var locations: [(key: String, location: StoredHeader.Location)] = []
            for (key, reply) in zip(keys, facts) {
                guard let text = reply.string,
                    let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [Any]],
                    let id = layout.id(fromDocumentKey: key),
                    let location = StoredHeader.Location(
                        id: id, size: object["$.size"]?.first as? Int, chunkSize: object["$.chunkSize"]?.first as? Int,
                        headerLength: object["$.headerLength"]?.first as? Int)
                else { continue }
                if onlyMissing, object[path]?.isEmpty == false { continue }
                locations.append((key, location))
            }
            let headers = try StoredHeader.read(locations.map(\.location), layout: layout, client: client)
            var updates: [RedisCommand] = []
            for (entry, header) in zip(locations, headers) {
                guard let value = IndexedAttributes.documentValue(field, header) else { continue }
                updates.append(RedisCommand("JSON.SET", entry.key, "$.a", "{}", "NX"))
                updates.append(RedisCommand("JSON.SET", entry.key, path, value.serialized()))
                valued += 1
            }
            for reply in try connection.pipeline(updates) where reply.errorMessage != nil {
                throw RedisError(
                    .server, endpoint: connection.endpoint, "filling in \(field.name): \(reply.errorMessage ?? "")")
            }
            files += keys.count
        }
        return (files, valued)
    }

    /// Waits until none of `keys` (markers of running loads) is left.
    private func waitUntilGone(_ keys: [String], context: StatementContext) throws {
        var waiting = keys
        while !waiting.isEmpty {
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            let replies = try client.pipeline(waiting.map { RedisCommand("EXISTS", $0) }, routedBy: waiting)
            waiting = zip(waiting, replies).filter { $0.1.integer == 1 }.map(\.0)
            if !waiting.isEmpty { usleep(100_000) }
        }
    }

    /// Every stored document's key, a SCAN batch at a time, on the master that holds them.
    private func forEachDocument(
        context: StatementContext, _ body: (RedisConnection, [String]) throws -> Void
    ) throws {
        let total = try SearchPage(
            runner.query(compiler.compile(.count(CountStatement())).commands[0], context: context), returning: false
        ).total
        context.activity.begin(files: total, bytes: 0)
        func walk(_ connection: RedisConnection, _ prefix: String) throws {
            try connection.scan(matching: RedisConnection.globEscaped(prefix) + "*") { keys in
                if context.isCancelled() { throw ChunkTransferError.cancelled }
                try body(connection, keys)
                for _ in keys { context.activity.finishFile() }
            }
        }
        guard layout.placement == .spread else {
            try client.withConnection(routedBy: layout.metadataRoutingKey) { try walk($0, layout.documentPrefix) }
            return
        }
        // A spread store's documents, on every master.
        for pool in client.masterPools() {
            try pool.withConnection { try walk($0, "\(layout.prefix):doc:{") }
        }
    }
}

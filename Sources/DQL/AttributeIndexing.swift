import DicomCore
import Foundation
import RedisIO

/// `index KEYWORD` and `unindex KEYWORD` (see ``IndexedAttributes``).
extension Executor {
    /// Records the attribute as filling (loads write it from now on), adds it to the index,
    /// fills it into every stored document from its header, and records it ready.
    func indexAttribute(_ plan: AttributePlan, context: StatementContext) throws -> StatementResult {
        let field = plan.field
        let record = IndexedAttributes.key(layout)
        let name = IndexedAttributes.recordName(field)
        let routing = layout.metadataRoutingKey
        try client.call(
            RedisCommand("HSET", record, name, IndexedAttributes.recordValue(field, .filling)), routedBy: routing)
        let altered = try client.send(RedisCommand(plan.alterCommand), routedBy: routing)
        // Indexed before and taken out again: the field is still in the index (it cannot be
        // dropped), so it only needs filling.
        if let message = altered.errorMessage, !message.lowercased().contains("duplicate") {
            throw RedisError(.server, endpoint: client.configuration.url.endpoint, message)
        }
        var files = 0
        var valued = 0
        try forEachDocument(context: context) { connection, keys in
            let facts = try connection.pipeline(
                keys.map { RedisCommand("JSON.GET", $0, "$.size", "$.chunkSize", "$.headerLength") })
            var locations: [(key: String, location: StoredHeader.Location)] = []
            for (key, reply) in zip(keys, facts) {
                guard let text = reply.string,
                    let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [Any]],
                    let id = layout.id(fromDocumentKey: key),
                    let location = StoredHeader.Location(
                        id: id, size: object["$.size"]?.first as? Int, chunkSize: object["$.chunkSize"]?.first as? Int,
                        headerLength: object["$.headerLength"]?.first as? Int)
                else { continue }
                locations.append((key, location))
            }
            let headers = try StoredHeader.read(locations.map(\.location), layout: layout, client: client)
            var updates: [RedisCommand] = []
            for (entry, header) in zip(locations, headers) {
                guard let value = IndexedAttributes.documentValue(field, header.dataset) else { continue }
                updates.append(RedisCommand("JSON.SET", entry.key, "$.a", "{}", "NX"))
                updates.append(RedisCommand("JSON.SET", entry.key, "$." + field.documentKey, value.serialized()))
                valued += 1
            }
            for reply in try connection.pipeline(updates) where reply.errorMessage != nil {
                throw RedisError(
                    .server, endpoint: connection.endpoint, "filling in \(field.name): \(reply.errorMessage ?? "")")
            }
            files += locations.count
        }
        try client.call(
            RedisCommand("HSET", record, name, IndexedAttributes.recordValue(field, .ready)), routedBy: routing)
        try client.withConnection(routedBy: routing) { try IndexManager(layout: layout).waitForIndexing($0) }
        return .attributeIndexed(field.name, files: files, values: valued)
    }

    /// Takes the attribute out of the record and out of every document.
    func unindexAttribute(_ plan: AttributePlan, context: StatementContext) throws -> StatementResult {
        let field = plan.field
        let removed = try client.call(
            RedisCommand("HDEL", IndexedAttributes.key(layout), IndexedAttributes.recordName(field)),
            routedBy: layout.metadataRoutingKey)
        guard removed.integer == 1 else { return .attributeUnindexed(field.name, files: 0, wasIndexed: false) }
        var files = 0
        try forEachDocument(context: context) { connection, keys in
            let replies = try connection.pipeline(keys.map { RedisCommand("JSON.DEL", $0, "$." + field.documentKey) })
            files += replies.reduce(0) { $0 + ($1.integer.map(Int.init) ?? 0) }
        }
        return .attributeUnindexed(field.name, files: files, wasIndexed: true)
    }

    /// Every stored document's key, a SCAN batch at a time, on the master that holds them.
    private func forEachDocument(
        context: StatementContext, _ body: (RedisConnection, [String]) throws -> Void
    ) throws {
        let total = try SearchPage(
            runner.query(compiler.compile(.count(CountStatement())).commands[0], context: context), returning: false
        ).total
        context.activity.begin(files: total, bytes: 0)
        try client.withConnection(routedBy: layout.metadataRoutingKey) { connection in
            try connection.scan(matching: RedisConnection.globEscaped(layout.documentPrefix) + "*") { keys in
                if context.isCancelled() { throw CancellationError() }
                try body(connection, keys)
                for _ in keys { context.activity.finishFile() }
            }
        }
    }
}

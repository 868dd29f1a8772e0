import Foundation
import RedisIO

/// Runs plans against Redis: the I/O half of DQL, the ``Compiler`` being the pure half. Reads
/// results in full (page by page), so nothing is silently cut; a user's `limit` is reported as
/// "N of M" through the totals in the results.
public final class Executor: @unchecked Sendable {
    /// The server or cluster; metadata commands go to the master of the `{m}` slot, chunks
    /// to wherever their keys live.
    public let client: RedisClient
    public var compiler: Compiler
    public var chunkSize = 512 * 1024
    public var connections = 8
    /// Seconds a load's lease on its chunks lasts unrenewed.
    public var leaseSeconds = StorageLayout.loadingLeaseSeconds
    /// Whether this executor has made sure the index exists and is current.
    private var indexChecked = false

    public init(client: RedisClient, layout: StorageLayout = StorageLayout()) {
        self.client = client
        self.compiler = Compiler(layout: layout)
    }

    public var layout: StorageLayout { compiler.layout }

    /// Borrows a connection to the server holding the documents and the index.
    func metadata<Result>(_ body: (RedisConnection) throws -> Result) throws -> Result {
        try client.withConnection(routedBy: layout.metadataRoutingKey, body)
    }

    /// Parses and runs every statement in `source`, in order.
    public func run(_ source: String, context: StatementContext = StatementContext()) throws -> [StatementResult] {
        try Parser.parse(source).map { try execute($0.statement, context: context) }
    }

    /// Runs one statement. `context` collects its timing and progress and says when to stop.
    public func execute(
        _ statement: Statement, context: StatementContext = StatementContext()
    ) throws
        -> StatementResult
    {
        let plan = try context.profile.measure(.compile) { try compiler.compile(statement) }
        if plan.usesIndex && !indexChecked {
            try context.profile.measure(.query) {
                try metadata { try IndexManager(layout: layout).ensureIndex($0) }
            }
            indexChecked = true
        }
        do {
            return try run(plan, context: context)
        } catch let error as RedisError
            where client.isCluster && plan.usesIndex && error.message.contains("no such index")
        {
            // A reshard moved the `{m}` slot, documents and all, to a master without the index
            // (RediSearch indexes per node): create it there, as on first use, and run again.
            // Safe to repeat: `delete` searches before it changes anything, and `load` is idempotent.
            try context.profile.measure(.query) {
                try metadata { try IndexManager(layout: layout).ensureIndex($0) }
            }
            return try run(plan, context: context)
        }
    }

    private func run(_ plan: Plan, context: StatementContext) throws -> StatementResult {
        /// A round trip to the server, timed as a query.
        func query<Result>(_ body: (RedisConnection) throws -> Result) throws -> Result {
            try context.profile.measure(.query) { try metadata(body) }
        }
        switch plan {
        case .find(let search): return .rows(try find(search, context: context))
        case .count(let count): return try self.count(count, context: context)
        case .show(let lookup):
            let id = try resolve(lookup, context: context)
            let json = try query { try $0.call("JSON.GET", layout.documentKey(id: id), "$").string } ?? "[]"
            return .document(id: id, json: String(json.dropFirst().dropLast()))
        case .fetch(let lookup, let directory):
            let id = try resolve(lookup, context: context)
            return .fetched(
                try Fetcher(layout: layout, connections: connections).fetchAll(
                    ids: [id], into: directory, client: client, context: context))
        case .load(let load):
            return .loaded(try self.load(load, context: context))
        case .delete(let search):
            let ids = try allIds(search, context: context)
            let maintenance = Maintenance(layout: layout)
            let deleted = try context.profile.measure(.query) {
                try ids.filter { try maintenance.delete(id: $0, client: client) }.count
            }
            return .deleted(deleted)
        case .vacuum:
            return .vacuumed(try context.profile.measure(.query) { try Maintenance(layout: layout).vacuum(client) })
        case .explain(let inner, let searchQuery):
            var serverPlan: String?
            if let searchQuery {
                let reply = try context.profile.measure(.query) {
                    try client.send(
                        RedisCommand(
                            ["FT.EXPLAIN", layout.indexName, searchQuery.text] + searchQuery.paramsArguments + [
                                "DIALECT", "2",
                            ]), routedBy: layout.metadataRoutingKey)
                }
                serverPlan = reply.string ?? reply.errorMessage
            }
            return .explained(commands: inner.commands, serverPlan: serverPlan)
        case .fields:
            return .fields(try context.profile.measure(.query) { try fieldSummaries() })
        case .stats:
            return .stats(try context.profile.measure(.query) { try stats() })
        case .set(let setting):
            apply(setting)
            return .settingChanged(setting)
        }
    }

    // MARK: load

    func load(_ statement: LoadStatement, context: StatementContext) throws -> LoadReport {
        var loader = Loader(
            layout: layout, chunkSize: statement.chunkSize ?? chunkSize,
            connections: statement.connections ?? connections)
        loader.leaseSeconds = leaseSeconds
        let files = try Loader.files(at: statement.path, recursive: statement.recursive)
        let sizes = files.map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }
        context.activity.begin(files: files.count, bytes: sizes.reduce(0, +))
        let clock = ContinuousClock()
        let started = clock.now
        var report = LoadReport()
        for file in files {
            if context.isCancelled() {
                report.interruption = .cancelled
                break
            }
            do {
                report.outcomes.append(try loader.load(file: file, client: client, context: context))
            } catch ChunkTransferError.cancelled {
                report.interruption = .cancelled
                break
            } catch let error as RedisError {
                report.interruption = .connection(error)
                break
            }
            context.activity.finishFile()
        }
        report.elapsed = clock.now - started
        return report
    }

    func apply(_ setting: Setting) {
        switch setting {
        case .chunkSize(let size): chunkSize = size
        case .connections(let count): connections = count
        case .timeout(let milliseconds): compiler.timeoutMilliseconds = milliseconds
        case .format, .timing: break  // the shell's
        }
    }

    // MARK: find

    func find(_ plan: SearchPlan, context: StatementContext) throws -> FoundRows {
        var found = FoundRows(columns: plan.columns.map(\.name), rows: [], ids: [], total: 0)
        var offset = plan.offset
        while true {
            let wanted = plan.limit.map { $0 - found.rows.count } ?? plan.pageSize
            if wanted <= 0 { break }
            let count = min(wanted, plan.pageSize)
            let reply = try context.profile.measure(.query) {
                try metadata { try $0.call(RedisCommand(plan.command(offset: offset, count: count))) }
            }
            let page = try Self.searchPage(reply, returning: !plan.returnAttributes.isEmpty)
            found.total = page.total
            for (key, attributes) in page.documents {
                found.ids.append(layout.id(fromDocumentKey: key) ?? key)
                found.rows.append(plan.columns.map { Self.display($0, attributes) })
            }
            offset += page.documents.count
            if page.documents.count < count || offset >= page.total { break }
        }
        if let directory = plan.fetchDirectory {
            found.fetched = try Fetcher(layout: layout, connections: connections).fetchAll(
                ids: found.ids, into: directory, client: client, context: context)
        }
        return found
    }

    /// Every id a search matches, page by page (for `delete where`).
    func allIds(_ plan: SearchPlan, context: StatementContext) throws -> [String] {
        var ids: [String] = []
        var offset = 0
        while true {
            let reply = try context.profile.measure(.query) {
                try metadata {
                    try $0.call(RedisCommand(plan.command(offset: offset, count: plan.pageSize)))
                }
            }
            let page = try Self.searchPage(reply, returning: false)
            ids += page.documents.map { layout.id(fromDocumentKey: $0.key) ?? $0.key }
            offset += page.documents.count
            if page.documents.isEmpty || offset >= page.total { return ids }
        }
    }

    /// An FT.SEARCH reply: total, then keys (and their returned attributes).
    static func searchPage(
        _ reply: RedisReply, returning: Bool
    ) throws -> (total: Int, documents: [(key: String, attributes: [String: String])]) {
        guard let items = reply.array, let total = items.first?.integer else {
            throw RedisError(.unexpectedReply, "FT.SEARCH replied \(reply)")
        }
        var documents: [(String, [String: String])] = []
        var index = 1
        while index < items.count {
            let key = items[index].string ?? ""
            var attributes: [String: String] = [:]
            if returning, index + 1 < items.count, let fields = items[index + 1].array {
                for position in stride(from: 0, to: fields.count - 1, by: 2) {
                    if let name = fields[position].string { attributes[name] = fields[position + 1].string }
                }
                index += 1
            }
            documents.append((key, attributes))
            index += 1
        }
        return (Int(total), documents)
    }

    /// A column's value for people: dates as 2019-03-05, years from the date.
    static func display(_ field: Field, _ attributes: [String: String]) -> String? {
        guard let raw = attributes[field.attribute] else { return nil }
        switch field.kind {
        case .date:
            guard raw.count == 8 else { return raw }
            return String(raw.prefix(4)) + "-" + String(raw.dropFirst(4).prefix(2)) + "-" + String(raw.suffix(2))
        case .year: return String(raw.prefix(4))
        default: return raw
        }
    }

    // MARK: count

    func count(_ plan: CountPlan, context: StatementContext) throws -> StatementResult {
        func query(_ command: [String]) throws -> RedisReply {
            try context.profile.measure(.query) { try metadata { try $0.call(RedisCommand(command)) } }
        }
        if plan.groupBy.isEmpty {
            let reply = try query(plan.command(offset: 0))
            return .count(Int(reply.array?.first?.integer ?? 0))
        }
        var result = GroupCounts(columns: plan.groupBy.map(\.name), rows: [], totalGroups: 0)
        var offset = 0
        while plan.pageRows(offset: offset) > 0 {
            let requested = plan.pageRows(offset: offset)
            let reply = try query(plan.command(offset: offset))
            let rows = (reply.array ?? []).dropFirst().compactMap(\.array)
            for row in rows {
                var fields: [String: String] = [:]
                for position in stride(from: 0, to: row.count - 1, by: 2) {
                    if let name = row[position].string { fields[name] = row[position + 1].string }
                }
                let values = zip(plan.groupBy, plan.groupNames).map { field, name -> String? in
                    fields[name].flatMap { Self.display(field, [field.attribute: $0]) }
                }
                result.rows.append((values, Int(fields["count"] ?? "0") ?? 0))
            }
            offset += rows.count
            if rows.count < requested { break }
        }
        result.totalGroups = result.rows.count
        if let command = plan.totalGroupsCommand {
            let reply = try query(command)
            let row = (reply.array ?? []).dropFirst().first?.array ?? []
            if let position = row.firstIndex(of: .bulk(Array("groups".utf8))), position + 1 < row.count {
                result.totalGroups = Int(row[position + 1].integer ?? Int64(result.rows.count))
            }
        }
        return .groups(result)
    }

    // MARK: show, fetch

    /// The id a lookup names: given directly, or the one file with that name.
    func resolve(_ lookup: FileLookup, context: StatementContext) throws -> String {
        if let id = lookup.id { return id }
        guard let command = lookup.command else { throw FetchError.notFound(id: lookup.given) }
        let reply = try context.profile.measure(.query) {
            try metadata { try $0.call(RedisCommand(command)) }
        }
        let page = try Self.searchPage(reply, returning: false)
        let ids = page.documents.map { layout.id(fromDocumentKey: $0.key) ?? $0.key }
        guard let first = ids.first else { throw ExecutionError("no file named '\(lookup.given)'") }
        if page.total > 1 {
            throw ExecutionError(
                "\(page.total) files are named '\(lookup.given)'; name one by its id: " + ids.joined(separator: ", ")
                    + (page.total > ids.count ? ", …" : ""))
        }
        return first
    }

    // MARK: stats

    func stats() throws -> StoreStats {
        let (files, bytes, endpoint) = try metadata { connection in
            let files = try connection.call(
                RedisCommand(["FT.SEARCH", layout.indexName, "*", "LIMIT", "0", "0", "DIALECT", "2"]))
            let sum = try connection.call(
                RedisCommand([
                    "FT.AGGREGATE", layout.indexName, "*", "GROUPBY", "0", "REDUCE", "SUM", "1", "@size", "AS", "bytes",
                    "DIALECT", "2",
                ]))
            let row = (sum.array ?? []).dropFirst().first?.array ?? []
            let bytes = row.count >= 2 ? Int(row[1].string.flatMap(Double.init) ?? 0) : 0
            return (Int(files.array?.first?.integer ?? 0), bytes, connection.endpoint)
        }
        let shards = try client.shards.map { shard in
            try client.pool(host: shard.host, port: shard.port).withConnection { connection in
                let keys = try connection.call("DBSIZE").integer ?? 0
                let memory = try connection.call("INFO", "memory").string ?? ""
                let used =
                    memory.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
                    .flatMap { Int($0.dropFirst("used_memory:".count)) } ?? 0
                return ShardStats(
                    endpoint: shard.endpoint, slots: client.isCluster ? shard.slotList : "", keys: Int(keys),
                    memory: used)
            }
        }
        return StoreStats(
            files: files, bytes: bytes, serverMemory: shards.reduce(0) { $0 + $1.memory }, endpoint: endpoint,
            index: layout.indexName, isCluster: client.isCluster, shards: shards)
    }

    // MARK: fields

    func fieldSummaries() throws -> [FieldSummary] {
        try Schema.fields.map { field in
            FieldSummary(
                name: field.name, type: field.valueDescription, summary: field.summary,
                examples: field.name == "id"
                    ? []
                    : try storedValues(of: field, mostCommonFirst: true, max: 5).map {
                        Self.display(field, [field.attribute: $0]) ?? $0
                    })
        }
    }

    /// Distinct values of `field` as stored (FT.TAGVALS would give tags lower-cased): the most
    /// common first, or in value order; empty values left out.
    public func storedValues(of field: Field, mostCommonFirst: Bool, max: Int) throws -> [String] {
        let group = "@" + field.attribute
        let sort = mostCommonFirst ? ["SORTBY", "4", "@n", "DESC", group, "ASC"] : ["SORTBY", "2", group, "ASC"]
        // An error reply (a field the index cannot group) means no values to show, not a failure.
        let reply = try client.send(
            RedisCommand(
                ["FT.AGGREGATE", layout.indexName, "*", "GROUPBY", "1", group, "REDUCE", "COUNT", "0", "AS", "n"]
                    + sort + ["MAX", String(max), "DIALECT", "2"]), routedBy: layout.metadataRoutingKey)
        return (reply.array ?? []).dropFirst().compactMap(\.array).compactMap { row -> String? in
            guard row.count >= 2, let value = row[1].string, !value.isEmpty else { return nil }
            return value
        }
    }
}

/// A statement that ran into a problem with the data rather than the text.
public struct ExecutionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

import DicomCore
import Foundation
import RedisIO

/// Runs plans against Redis: the I/O half of DQL, the ``Compiler`` being the pure half. It
/// dispatches each plan to the piece that does the work: ``SearchRunner`` (queries, paging),
/// ``Inspector`` (stats, fields), ``Loader``, ``Fetcher`` and ``Maintenance``.
///
/// Results are never silently short: every page is read (a user's `limit` is reported as
/// "N of M"), a query that runs into the server's timeout is an error, and a `like` pattern
/// the server would expand only in part is refused. Reading statements never write: without
/// dql data under the prefix they say so instead of creating an index.
public final class Executor: @unchecked Sendable {
    /// The server or cluster; metadata commands go to the master of the `{m}` slot, chunks
    /// to wherever their keys live.
    public let client: RedisClient
    /// Chunk size, connections, window and timeout for the statements to come.
    public var settings = ExecutionSettings()
    /// Rows per page when a result is read in full.
    public var pageSize = 1000
    /// Seconds a load's lease on its chunks lasts unrenewed.
    public var leaseSeconds = StorageLayout.loadingLeaseSeconds
    /// Where the store keeps things; on a cluster, its placement is read (or, by a first load,
    /// decided) before the first statement runs.
    public private(set) var layout: StorageLayout
    /// Whether the store's placement is known (always, on one server).
    private var placementKnown = false
    /// Whether this executor has seen the index exist and be current.
    private var indexChecked = false
    /// Whether the account was found able to write (asked before the first statement that
    /// changes the store).
    private var writeChecked = false
    /// What the server lets a query do, read once.
    private var limits: ServerLimits?
    /// The attributes added to the index (`index KEYWORD`), read again by every statement
    /// that names an attribute, loads or lists fields (another shell may have changed them).
    private(set) var attributes = IndexedAttributes()

    public init(client: RedisClient, layout: StorageLayout = StorageLayout()) {
        self.client = client
        self.layout = layout
    }

    /// The compiler for the current settings (and, once known, the server's timeout policy).
    public var compiler: Compiler {
        Compiler(
            layout: layout,
            timeoutMilliseconds: limits.map { $0.serverTimeout(for: settings.timeoutMilliseconds) }
                ?? settings.timeoutMilliseconds,
            pageSize: pageSize, indexedAttributes: attributes.ready)
    }

    var runner: SearchRunner {
        var runner = SearchRunner(client: client, layout: layout)
        runner.reading = reading
        return runner
    }

    /// The statement being run's reading of the store (see ``StatementReading``).
    private var reading: StatementReading?
    var inspector: Inspector { Inspector(client: client, layout: layout, compiler: compiler, runner: runner) }

    /// Parses and runs every statement in `source`, in order.
    public func run(_ source: String, context: StatementContext = StatementContext()) throws -> [StatementResult] {
        try Parser.parse(source).map { try execute($0.statement, context: context) }
    }

    /// Runs one statement. `context` collects its timing and progress, receives its rows and
    /// confirms deletes, and says when to stop.
    public func execute(
        _ statement: Statement, context: StatementContext = StatementContext()
    ) throws
        -> StatementResult
    {
        if case .set(let setting) = statement {
            settings = settings.with(setting)
            return .settingChanged(setting)
        }
        var (plan, hasIndex) = try prepare(statement, context: context)
        defer {
            reading?.finish()
            reading = nil
        }
        do {
            do {
                if !statement.changesStore { reading = StatementReading(layout: layout, client: client) }
                return try run(plan, hasIndex: hasIndex, context: context)
            } catch is PlacementChanged {
                // A `migrate` began or finished while the statement ran. Before it answered
                // anything, its plan is made for the store as it is now and run again (as when
                // the index went away, below); after, it fails: what it showed stays one answer.
                if reading?.hasAnswered == true { throw ExecutionError(.migrationMovedUnderStatement) }
                reading?.finish()
                placementKnown = false
                indexChecked = false
                (plan, hasIndex) = try prepare(statement, context: context)
                if !statement.changesStore { reading = StatementReading(layout: layout, client: client) }
                return try run(plan, hasIndex: hasIndex, context: context)
            }
        } catch let error as RedisError where error.serverErrorCode == "NOPERM" && !statement.changesStore {
            throw notPermitted(error, need: Self.readingHint)
        } catch let error as RedisError where error.serverErrorCode == "NOPERM" && Self.isVacuum(statement) {
            throw notPermitted(
                error, need: "vacuum scans the whole keyspace, which needs an owner account (`dql acl owner`)")
        } catch let error as RedisError where error.serverErrorCode == "NOPERM" && Self.changesIndex(statement) {
            throw notPermitted(
                error,
                need: "index, unindex and migrate change the index, which needs an owner account (`dql acl owner`)")
        } catch let error as RedisError where hasIndex && error.isMissingIndex {
            // The index went away since it was checked: the server was flushed or restarted
            // without it, someone dropped it, or a reshard moved the `{m}` slot, documents and
            // all, to a master without it (RediSearch indexes per node). Check again (create
            // or rebuild it as on first use) and run again. Safe to repeat: `delete` searches
            // before it changes anything, and `load` is idempotent.
            // The placement is read again too: a finished `migrate` drops the `{m}` index.
            indexChecked = false
            placementKnown = false
            let (planNow, hasIndexNow) = try prepare(statement, context: context)
            return try run(planNow, hasIndex: hasIndexNow, context: context)
        }
    }

    /// What every statement does before it runs: the server's limits, the indexed attributes
    /// when it names attributes, its plan, the account's right to write, and the index.
    func prepare(_ statement: Statement, context: StatementContext) throws -> (plan: Plan, hasIndex: Bool) {
        _ = try serverLimits(context: context)
        try resolvePlacement(deciding: Self.createsIndex(statement))
        if Self.isMigrate(statement), !client.isCluster {
            throw ExecutionError(.migrateNeedsCluster(endpoint: client.configuration.url.endpoint))
        }
        if layout.placement == .migrating, statement.changesStore, !Self.isMigrate(statement) {
            throw try migrationUnderWay()
        }
        if Self.usesAttributes(statement) {
            do {
                attributes = try context.profile.measure(.query) {
                    try client.withConnection(routedBy: layout.metadataRoutingKey) {
                        try IndexedAttributes.read($0, layout: layout)
                    }
                }
            } catch let error as RedisError where error.serverErrorCode == "NOPERM" {
                // Outside the account's prefix: a statement that writes is told so.
                if statement.changesStore { try checkAccountMayWrite(context: context) }
                throw notPermitted(error, need: Self.readingHint)
            }
        }
        let plan = try context.profile.measure(.compile) { try compiler.compile(statement) }
        // A load writes documents without asking the index anything: it checks the index every
        // time (the server may have been flushed or restarted since the last statement).
        if Self.createsIndex(statement) { indexChecked = false }
        if statement.changesStore { try checkAccountMayWrite(context: context) }
        let hasIndex: Bool
        do {
            hasIndex = try prepareIndex(for: statement, context: context)
        } catch let error as RedisError where error.serverErrorCode == "NOPERM" {
            throw notPermitted(
                error,
                need: Self.createsIndex(statement)
                    ? "the index under this prefix is missing or from an older dql; creating it needs an owner account (`dql acl owner`), after which writers load into it"
                    : Self.readingHint)
        }
        return (plan, hasIndex)
    }

    /// Makes sure the index is there and current before a statement that needs it, and says
    /// whether there is one. A `load` creates it; any other statement only repairs the index
    /// of data that exists (rebuilds an outdated or lost one), and without dql data under the
    /// prefix the statements that need it fail with "no dql data", having written nothing.
    private func prepareIndex(for statement: Statement, context: StatementContext) throws -> Bool {
        if indexChecked { return true }
        let manager = IndexManager(layout: layout)
        let spread = layout.placement.usesBuckets
        let state = try context.profile.measure(.query) {
            try spread
                ? manager.spreadState(client)
                : client.withConnection(routedBy: layout.metadataRoutingKey) { try manager.state($0) }
        }
        switch state {
        case .current:
            break
        case .absent where !Self.createsIndex(statement):
            if Self.needsData(statement) {
                throw ExecutionError(
                    .noData(
                        prefix: layout.prefix,
                        endpoint: try client.pool(forKey: layout.metadataRoutingKey).configuration.url.endpoint))
            }
            return false
        case .absent where spread, .outdated where spread, .lost where spread:
            try context.profile.measure(.query) { _ = try manager.ensureSpreadIndexes(client) }
        case .absent, .outdated, .lost:
            try context.profile.measure(.query) {
                try client.withConnection(routedBy: layout.metadataRoutingKey) {
                    try manager.ensureIndex($0) { [client, layout] in
                        try StoredHeader.read($0, layout: layout, client: client)
                    }
                }
            }
        }
        indexChecked = true
        return true
    }

    /// Before the first statement that changes the store: whether the account may write under
    /// the prefix, asked with commands that change nothing (deleting a key that never exists,
    /// a script that only returns), so a read-only account is told once, before anything is
    /// written, instead of meeting NOPERM part way.
    private func checkAccountMayWrite(context: StatementContext) throws {
        if writeChecked { return }
        let probe = layout.writeCheckKey
        let replies = try context.profile.measure(.query) {
            try client.withConnection(routedBy: probe) {
                try $0.pipeline([RedisCommand("UNLINK", probe), RedisCommand("EVAL", "return 1", "1", probe)])
            }
        }
        for reply in replies {
            guard let message = reply.errorMessage, message.hasPrefix("NOPERM") else { continue }
            let pool = try client.pool(forKey: probe)
            throw ExecutionError(
                .cannotWrite(
                    user: pool.configuration.url.username ?? "default", endpoint: pool.configuration.url.endpoint,
                    prefix: layout.prefix, refusal: message))
        }
        writeChecked = true
    }

    static let readingHint = "check --prefix (or $DQL_PREFIX): accounts made by `dql acl` reach one prefix only"

    static func changesIndex(_ statement: Statement) -> Bool {
        switch statement {
        case .index, .unindex, .migrate: true
        default: false
        }
    }

    static func isVacuum(_ statement: Statement) -> Bool {
        if case .vacuum = statement { return true }
        return false
    }

    static func isMigrate(_ statement: Statement) -> Bool {
        if case .migrate = statement { return true }
        return false
    }

    /// Why a statement that changes the store waits, with how far the move has come.
    private func migrationUnderWay() throws -> ExecutionError {
        let progress =
            try client.call(RedisCommand("HGETALL", layout.migrationKey), routedBy: layout.migrationKey).textPairs
            ?? [:]
        return ExecutionError(
            .storeMigrating(
                moved: progress["moved"].flatMap { Int($0) } ?? 0, total: progress["total"].flatMap { Int($0) } ?? 0))
    }

    /// A server's NOPERM, said in terms of the account and the prefix, with what would do.
    private func notPermitted(_ error: RedisError, need: String) -> ExecutionError {
        let url = client.configuration.url
        return ExecutionError(
            .notPermitted(
                user: url.username ?? "default", endpoint: error.endpoint.isEmpty ? url.endpoint : error.endpoint,
                prefix: layout.prefix, refusal: error.message, need: need))
    }

    /// Whether the statement depends on the attributes added to the index: it names an
    /// attribute, writes documents, or lists the fields.
    static func usesAttributes(_ statement: Statement) -> Bool {
        switch statement {
        case .fields, .index, .unindex: return true
        case .explain(let inner): return usesAttributes(inner)
        default:
            var names = false
            _ = statement.mappingFields { field in
                if field.tag != nil { names = true }
                return field
            }
            return names
        }
    }

    static func createsIndex(_ statement: Statement) -> Bool {
        if case .load = statement { return true }
        return false
    }

    /// Statements that are about stored files, and so are an error without any.
    static func needsData(_ statement: Statement) -> Bool {
        switch statement {
        case .find, .count, .show, .showLevel, .fetch, .delete, .index, .unindex, .preview, .migrate: true
        case .explain(let inner): needsData(inner)
        case .load, .vacuum, .fields, .stats, .set, .migrate: false
        }
    }

    func run(_ plan: Plan, hasIndex: Bool, context: StatementContext) throws -> StatementResult {
        switch plan {
        case .find(let search):
            try checkPatterns(search.query, context: context)
            return .rows(try find(search, context: context))
        case .findLevel(let plan):
            try checkPatterns(plan.query, context: context)
            return .rows(try findLevel(plan, context: context))
        case .deleteLevel(let plan):
            try checkPatterns(plan.query, context: context)
            return try deleteLevel(plan, context: context)
        case .scan(let plan):
            return try scan(plan, context: context)
        case .index(let plan):
            return try indexAttribute(plan, context: context)
        case .unindex(let plan):
            return try unindexAttribute(plan, context: context)
        case .count(let count):
            try checkPatterns(count.query, context: context)
            return try self.count(count, context: context)
        case .show(let lookup):
            let id = try resolve(lookup, context: context)
            let key = try layout.documentKeys(ids: [id], client: client)[id] ?? layout.documentKey(id: id)
            let json = try context.profile.measure(.query) {
                try client.call(RedisCommand("JSON.GET", key, "$"), routedBy: key).string
            }
            guard let json, json.hasPrefix("["), json.count > 2 else {
                throw ExecutionError(.noFileWithId(id), at: lookup.range)
            }
            let document = try context.profile.measure(.query) {
                try StoredHeader.document(String(json.dropFirst().dropLast()), id: id, layout: layout, client: client)
            }
            return .document(id: id, json: document)
        case .preview(let lookup, let preview):
            return .preview(try self.preview(lookup, preview, context: context))
        case .contactSheet(let listing, let options):
            return .contactSheet(try contactSheet(listing, options, hasIndex: hasIndex, context: context))
        case .showLevel(let plan, let children):
            let row = try findLevel(plan, context: StatementContext(profile: context.profile))
            guard row.returned > 0 else {
                throw ExecutionError(
                    .statementFailed(
                        "no \(plan.level.singular) with \(plan.key.summary) '\(excerpt(Self.keyText(plan)))'; `find \(plan.level.rawValue)` lists them"
                    ))
            }
            let below = try run(children, hasIndex: hasIndex, context: StatementContext(profile: context.profile))
            guard case .rows(let rows) = below else { return below }
            return .levelShown(row, children: rows)
        case .fetch(let lookup, let directory, let layout, let existing):
            let id = try resolve(lookup, context: context)
            // Asked for by one of its names: written under that name.
            return .fetched(
                try fetcher.fetchAll(
                    ids: [id], into: try PathExpansion.expand(directory), client: client, context: context,
                    name: lookup.id == nil ? lookup.given : nil,
                    names: FetchNames(existing: existing ?? settings.existingFiles, layout: layout)))
        case .load(let load):
            return .loaded(try self.load(load, context: context))
        case .delete(let search):
            try checkPatterns(search.query, context: context)
            return try delete(search, context: context)
        case .vacuum:
            return .vacuumed(try context.profile.measure(.query) { try Maintenance(layout: layout).vacuum(client) })
        case .migrate:
            return .migrated(try migrate(context: context))
        case .explain(let inner, let explainCommand):
            var serverPlan: String?
            if let explainCommand {
                // A spread store's buckets share one definition: the first one's plan is theirs.
                var command = explainCommand
                if layout.placement.usesBuckets, command.count > 1 { command[1] = layout.spreadIndexName(bucket: 0) }
                let routing = layout.placement.usesBuckets ? command[1] : layout.metadataRoutingKey
                let reply = try context.profile.measure(.query) {
                    try client.send(RedisCommand(command), routedBy: routing)
                }
                serverPlan = reply.string ?? reply.errorMessage
            }
            var steps: [String] = []
            switch inner {
            case .load(let load): steps = StatementSteps.load(load, layout: layout, settings: settings)
            case .vacuum: steps = StatementSteps.vacuum(layout: layout)
            case .migrate: steps = StatementSteps.migrate(layout: layout)
            default: break
            }
            return .explained(commands: inner.commands, serverPlan: serverPlan, steps: steps)
        case .fields(let plan):
            return .fields(try inspector.fields(plan, hasIndex: hasIndex, context: context))
        case .stats(let plan):
            return .stats(try inspector.stats(plan, hasIndex: hasIndex, context: context))
        case .set(let setting):
            settings = settings.with(setting)
            return .settingChanged(setting)
        }
    }

    /// The key a level plan asks for (its first parameter).
    static func keyText(_ plan: LevelPlan) -> String {
        plan.query.parameters.first.map { $0.1.replacingOccurrences(of: "\\\\", with: "\\") } ?? ""
    }

    var fetcher: Fetcher {
        Fetcher(layout: layout, connections: settings.connections, window: settings.window)
    }

    // MARK: load

    func load(_ statement: LoadStatement, context: StatementContext) throws -> LoadReport {
        var loader = Loader(
            layout: layout, chunkSize: statement.chunkSize ?? settings.chunkSize,
            connections: statement.connections ?? settings.connections, window: statement.window ?? settings.window)
        loader.leaseSeconds = leaseSeconds
        loader.replicas = settings.replicas
        loader.durabilityTimeoutMilliseconds = settings.timeoutMilliseconds
        loader.compiler = compiler
        return try loader.load(path: statement.path, recursive: statement.recursive, client: client, context: context)
    }

    // MARK: find

    func find(_ plan: SearchPlan, context: StatementContext) throws -> FoundRows {
        var found = FoundRows(columns: plan.columns.map(\.name))
        let directory = try plan.fetchDirectory.map(PathExpansion.expand)
        if let directory { try prepareFetchDirectory(directory) }
        let sink = context.rows
        var begun = false
        // One record of the names this statement writes, across its pages.
        let names = FetchNames(existing: plan.existingFiles ?? settings.existingFiles, layout: plan.fetchLayout)
        let maximum = try serverLimits(context: context).maximumSearchResults
        try SearchRunner.page(from: plan.offset, limit: plan.limit, pageSize: plan.pageSize) { offset, count in
            let page = try SearchPage(
                runner.query(plan.command(offset: offset, count: count), context: context),
                returning: !plan.returnAttributes.isEmpty)
            // The server reads no further than MAXSEARCHRESULTS into a result and says nothing
            // of the rest: a result that reaches past it is an error before any row is shown.
            if offset == plan.offset, min(plan.limit.map { plan.offset + $0 } ?? page.total, page.total) > maximum {
                throw ExecutionError(.resultWindowTooLarge(maximum: maximum))
            }
            found.total = page.total
            if directory != nil, offset == plan.offset {
                let matching = max(0, page.total - plan.offset)
                context.activity.plan(files: plan.limit.map { min($0, matching) } ?? matching)
            }
            let ids = page.documents.map { layout.id(fromDocumentKey: $0.key) ?? $0.key }
            let rows = page.documents.map { document in
                plan.columns.map { Self.displayReturned($0, document.attributes) }
            }
            found.returned += rows.count
            // Each page's files are fetched before the next page is read, so memory stays
            // bounded by a page however many files match; and before its rows are shown, so a
            // row shown is a file fetched.
            if let directory, !ids.isEmpty {
                found.fetched += try fetcher.fetchAll(
                    ids: ids, returned: page.documents.map(\.attributes), into: directory, client: client,
                    context: context, names: names)
            }
            if let sink {
                if !begun { sink.begin(columns: found.columns, total: page.total, level: .instances) }
                begun = true
                sink.page(ids: ids, rows: rows)
            } else {
                found.ids += ids
                found.rows += rows
            }
            return rows.count
        }
        if let sink, !begun { sink.begin(columns: found.columns, total: found.total, level: .instances) }
        found.streamed = sink != nil
        return found
    }

    /// A directory that cannot take the files fails the statement before any row is shown.
    func prepareFetchDirectory(_ directory: String) throws {
        try createDirectories(directory)
        guard access(directory, W_OK) == 0 else {
            throw FetchError.cannotWrite(path: directory, reason: systemMessage(errno))
        }
    }

    /// A stored value as rows show it: dates as `2004-08-26`, years as `2004`.
    public static func display(_ field: Field, _ attributes: [String: String]) -> String? {
        guard let raw = attributes[field.attribute] else { return nil }
        switch field.kind {
        case .date:
            guard raw.count == 8 else { return raw }
            return String(raw.prefix(4)) + "-" + String(raw.dropFirst(4).prefix(2)) + "-" + String(raw.suffix(2))
        case .year: return String(raw.prefix(4))
        default: return raw
        }
    }

    /// A value as FT.SEARCH returns it, as rows show it: an attribute with several values
    /// comes back as a JSON array and is shown as DICOM writes it, the values separated by `\\`
    /// (as `dump` prints it, and as it can be searched). (A single value that is itself JSON
    /// text of an array, `["a","b"]`, cannot be told from that here.)
    static func displayReturned(_ field: Field, _ attributes: [String: String]) -> String? {
        guard let raw = attributes[field.attribute], raw.hasPrefix("["), raw.hasSuffix("]") else {
            return display(field, attributes)
        }
        return displayValues(field, storedValues(raw))
    }

    // MARK: delete

    /// Counts what matches, asks the context, then deletes page by page (each page from the
    /// start again, since the one before is gone). Stops when a page deletes nothing, so a
    /// document that cannot be removed cannot make it loop.
    func delete(_ plan: SearchPlan, context: StatementContext) throws -> StatementResult {
        let total = try SearchPage(runner.query(plan.command(offset: 0, count: 0), context: context), returning: false)
            .total
        guard total > 0 else { return .deleted(0) }
        guard context.confirm(.delete(files: total)) else { return .deleted(0, declined: true) }
        return .deleted(try deleteMatching(plan, context: context))
    }

    /// Deletes every file the search matches, page by page; returns how many went.
    func deleteMatching(_ plan: SearchPlan, context: StatementContext) throws -> Int {
        let maintenance = Maintenance(layout: layout)
        var deleted = 0
        try SearchRunner.page(from: 0, limit: nil, pageSize: plan.pageSize, consuming: true) { _, count in
            let page = try SearchPage(
                runner.query(plan.command(offset: 0, count: count), context: context), returning: false)
            let ids = page.documents.map { layout.id(fromDocumentKey: $0.key) ?? $0.key }
            let removed = try context.profile.measure(.query) {
                try zip(ids, page.documents).filter { id, document in
                    try maintenance.delete(id: id, documentKey: document.key, client: client)
                }.count
            }
            deleted += removed
            return removed == 0 ? 0 : ids.count
        }
        return deleted
    }

    // MARK: count

    func count(_ plan: CountPlan, context: StatementContext) throws -> StatementResult {
        if plan.groupBy.isEmpty, plan.level != .instances {
            let row = try AggregateRows(runner.query(plan.command(offset: 0), context: context)).rows.first
            return .count(row?["count"].flatMap { Int($0) } ?? 0)
        }
        if plan.groupBy.isEmpty {
            return .count(
                try SearchPage(runner.query(plan.command(offset: 0), context: context), returning: false).total)
        }
        var result = GroupCounts(columns: plan.groupBy.map(\.name), rows: [], totalGroups: 0)
        try SearchRunner.page(from: 0, limit: plan.limit, pageSize: plan.pageSize) { offset, _ in
            let rows = try AggregateRows(runner.query(plan.command(offset: offset), context: context)).rows
            for fields in rows {
                let values = zip(plan.groupBy, plan.groupNames).map { field, name -> String? in
                    fields[name].flatMap { Self.display(field, [field.attribute: $0]) }
                }
                result.rows.append((values, Int(fields["count"] ?? "0") ?? 0))
            }
            return rows.count
        }
        result.totalGroups = result.rows.count
        // The server returns no group past position MAXAGGREGATERESULTS and says nothing of
        // the rest, and a limit may cut the groups short: only when the rows reached either
        // bound are all groups counted (one more query), so the common case is one round trip.
        let maximum = try serverLimits(context: context).maximumAggregateResults
        let reachedLimit = plan.limit.map { result.rows.count >= $0 } ?? false
        if result.rows.count >= maximum || reachedLimit {
            let row = try AggregateRows(runner.query(plan.allGroupsCommand, context: context)).rows.first
            let groups = row?["groups"].flatMap { Int($0) } ?? result.rows.count
            if min(plan.limit ?? groups, groups) > maximum {
                throw ExecutionError(.resultWindowTooLarge(maximum: maximum))
            }
            result.totalGroups = max(groups, result.rows.count)
        }
        return .groups(result)
    }

    // MARK: show, fetch

    /// The id a lookup names: given directly, or the one file with that name.
    func resolve(_ lookup: FileLookup, context: StatementContext) throws -> String {
        if let id = lookup.id { return id }
        guard let command = lookup.command else { throw ExecutionError(.noFileWithId(lookup.given), at: lookup.range) }
        let page = try SearchPage(runner.query(command, context: context), returning: false)
        let ids = page.documents.map { layout.id(fromDocumentKey: $0.key) ?? $0.key }
        guard let first = ids.first else { throw ExecutionError(.noFileNamed(lookup.given), at: lookup.range) }
        if page.total > 1 {
            throw ExecutionError(.ambiguousName(lookup.given, count: page.total, ids: ids), at: lookup.range)
        }
        return first
    }

    // MARK: migrate

    /// `migrate`: moves a `{m}` store on a cluster to the spread layout (``SpreadMigration``),
    /// or goes on with a move that was stopped.
    func migrate(context: StatementContext) throws -> SpreadMigration.Report {
        if layout.placement == .spread { return SpreadMigration.Report(alreadySpread: true) }
        let report = try SpreadMigration(layout: layout, client: client).run(context: context)
        layout.placement = .spread
        placementKnown = true
        indexChecked = false
        return report
    }

    // MARK: Server limits

    /// Refuses a `like` pattern the server would expand only in part: it expands a wildcard
    /// into at most MAXEXPANSIONS values and drops the rest without a word. Reaching the limit
    /// is taken as being cut (exactly that many values is possible, but cannot be told apart).
    func checkPatterns(_ query: SearchQuery, context: StatementContext) throws {
        guard !query.patterns.isEmpty else { return }
        let limits = try serverLimits(context: context)
        for pattern in query.patterns {
            let command = compiler.patternValuesCommand(pattern)
            let row = try AggregateRows(runner.query(command, context: context)).rows.first
            let matches = row?["values"].flatMap { Int($0) } ?? 0
            if matches >= limits.maximumExpansions {
                throw ExecutionError(
                    .patternTooBroad(
                        field: pattern.field.name, pattern: pattern.pattern, limit: limits.maximumExpansions),
                    at: pattern.range)
            }
        }
    }

    /// On a cluster: whether the store is spread over the masters. A store recorded as spread
    /// is; one with an index record but no placement record was made before metadata spread
    /// and keeps the `{m}` slot; a store that does not exist yet is made spread by its first
    /// load (`deciding`), recorded with SET NX so two first loads agree. Only `spread` is
    /// final: any other placement is read again by every statement (a `migrate` elsewhere
    /// may begin or finish).
    private func resolvePlacement(deciding: Bool) throws {
        guard client.isCluster, !placementKnown else { return }
        let manager = IndexManager(layout: layout)
        let replies = try client.pipeline(
            [RedisCommand("GET", layout.placementKey), RedisCommand("EXISTS", manager.versionKey)],
            allRoutedBy: layout.metadataRoutingKey)
        var recorded = try replies[0].checked().string
        if recorded == nil, try replies[1].checked().integer == 1 {
            // A store without its record of placement: spread if any master has a bucket's
            // index (the record was lost; it is written again), else made before spreading.
            let bucketIndex = "\(layout.prefix):idx:{s"
            let spread = client.masterPools().contains { pool in
                let listed = (try? pool.withConnection { try $0.call("FT._LIST") })?.array ?? []
                return listed.contains { $0.string?.hasPrefix(bucketIndex) == true }
            }
            recorded = (spread ? StorageLayout.Placement.spread : .single).rawValue
            if spread {
                _ = try? client.call(RedisCommand("SET", layout.placementKey, "spread"), routedBy: layout.placementKey)
            }
        }
        if recorded == nil, deciding {
            recorded = try client.withConnection(routedBy: layout.metadataRoutingKey) { connection in
                _ = try connection.call("SET", layout.placementKey, StorageLayout.Placement.spread.rawValue, "NX")
                return try connection.call("GET", layout.placementKey).string
            }
        }
        guard let recorded else {
            // The record went (the store was flushed): no move is under way any more.
            if layout.placement == .migrating { layout.placement = .single }
            return
        }
        layout.placement = StorageLayout.Placement(rawValue: recorded) ?? .single
        placementKnown = layout.placement == .spread
    }

    /// What the server lets a query do, read on first use; a server whose timeouts return
    /// partial answers is said so once.
    func serverLimits(context: StatementContext) throws -> ServerLimits {
        if let limits { return limits }
        let read = try context.profile.measure(.query) {
            try client.withConnection(routedBy: layout.metadataRoutingKey) { try ServerLimits.read($0) }
        }
        if !read.timeoutFails { context.note(read.note) }
        limits = read
        return read
    }

    // MARK: Inspection

    /// Distinct values of `field` as stored (for Tab completion): the most common first, or
    /// in value order; empty values left out.
    public func storedValues(of field: Field, mostCommonFirst: Bool, max: Int) throws -> [String] {
        try inspector.storedValues(of: field, mostCommonFirst: mostCommonFirst, max: max)
    }
}

import Foundation
import RedisIO

/// dql as the search coordinator of a store spread over a cluster's masters (RediSearch
/// without its coordinator indexes only the keys of its own node): a query is sent to every
/// master's index at once and the answers merged into the one reply a single index would
/// give. Understands what dql sends, and nothing else:
///
/// - FT.SEARCH: totals summed; rows merged by their sort keys (`WITHSORTKEYS`), or master after
///   master without an order; each master asked for `offset + count` rows, the merge cut to the
///   page.
/// - FT.AGGREGATE: the first GROUPBY runs on every master and the groups are merged: COUNT and
///   SUM summed, FIRST_VALUE the first master's, TOLIST the union, COUNT_DISTINCT summed when
///   its field keeps to one master (a study's instances all do) and otherwise counted from the
///   union of the values (asked for as TOLIST); later steps (SORTBY, MAX, LIMIT, a second
///   GROUPBY) run here on the merged groups. Groups keyed by the study keep to one master, so
///   there each master sorts and cuts to `offset + count` itself.
struct SearchCoordinator {
    /// A master and the name of its index there.
    struct Shard: Sendable {
        var pool: RedisPool
        var index: String
        var endpoint: String
    }

    /// The attribute whose documents keep to one master (the hash tag is made from it).
    var alignedAttribute = "studyUid"
    /// Whether an attribute or a reducer's output sorts as a number.
    var isNumeric: @Sendable (String) -> Bool

    /// Runs `command` on every shard at once and merges the replies. With `cursor`, a page
    /// of a search that follows the one before it is asked of each shard from where that page
    /// left it, not from the start.
    func run(_ command: [String], on shards: [Shard], cursor: PagingCursor? = nil) throws -> RedisReply {
        guard command.count >= 3 else { throw RedisError(.unexpectedReply, "a query needs an index and a query") }
        switch command[0].uppercased() {
        case "FT.SEARCH":
            let search = try SearchShape(command)
            let resumed = cursor?.position(for: search, shards: shards.count)
            let replies = try Self.fanOut(shards) { shard in
                guard let resumed, let position = shards.firstIndex(where: { $0.index == shard.index }) else {
                    return search.shardCommand(index: shard.index)
                }
                return search.shardCommand(
                    index: shard.index, from: resumed[position].start, rows: resumed[position].rows)
            }
            let merged = try search.merge(replies, resumed: resumed != nil, carried: resumed?.map(\.carried))
            cursor?.advance(search, merged: merged, before: resumed?.map(\.consumed), totals: replies)
            return merged.reply
        case "FT.AGGREGATE":
            let aggregate = try AggregateShape(command, aligned: alignedAttribute)
            let replies = try Self.fanOut(shards) { aggregate.shardCommand(index: $0.index) }
            return try aggregate.merge(replies, isNumeric: isNumeric)
        default:
            throw RedisError(.unexpectedReply, "\(command[0]) is not a query dql coordinates")
        }
    }

    /// One command per shard: the shards of a master in one pipeline, the masters at once;
    /// replies in shard order. An error reply stops the query, named with its master.
    static func fanOut(_ shards: [Shard], _ command: @escaping @Sendable (Shard) -> [String]) throws -> [RedisReply] {
        var masters: [ObjectIdentifier: [Int]] = [:]
        var order: [ObjectIdentifier] = []
        for (position, shard) in shards.enumerated() {
            let master = ObjectIdentifier(shard.pool)
            if masters[master] == nil { order.append(master) }
            masters[master, default: []].append(position)
        }
        let groups = order.compactMap { masters[$0] }
        let answered = try DedicatedThreads.run(count: groups.count, name: "dql.scatter") { index in
            let positions = groups[index]
            return try shards[positions[0]].pool.withConnection { connection in
                try connection.pipeline(positions.map { RedisCommand(command(shards[$0])) })
            }
        }
        var replies = [RedisReply](repeating: .null, count: shards.count)
        for (positions, group) in zip(groups, answered) {
            for (position, reply) in zip(positions, group) {
                if let message = reply.errorMessage {
                    throw RedisError(.server, endpoint: shards[position].endpoint, message)
                }
                replies[position] = reply
            }
        }
        return replies
    }
}

/// An FT.SEARCH as dql sends it.
struct SearchShape {
    var argv: [String]
    var limitPosition: Int?
    var offset = 0
    var count = 10
    var sort: (attribute: String, descending: Bool)?
    var returnsContent = true

    init(_ argv: [String]) throws {
        self.argv = argv
        var index = 3
        while index < argv.count {
            switch argv[index].uppercased() {
            case "NOCONTENT":
                returnsContent = false
                index += 1
            case "LIMIT":
                guard index + 2 < argv.count, let from = Int(argv[index + 1]), let size = Int(argv[index + 2]) else {
                    throw RedisError(.unexpectedReply, "LIMIT needs two numbers")
                }
                limitPosition = index
                offset = from
                count = size
                index += 3
            case "SORTBY":
                guard index + 1 < argv.count else { throw RedisError(.unexpectedReply, "SORTBY needs a field") }
                let direction = index + 2 < argv.count ? argv[index + 2].uppercased() : ""
                sort = (argv[index + 1], direction == "DESC")
                index += direction == "ASC" || direction == "DESC" ? 3 : 2
            case "RETURN", "PARAMS":
                index += 2 + (index + 1 < argv.count ? Int(argv[index + 1]) ?? 0 : 0)
            case "TIMEOUT", "DIALECT":
                index += 2
            default:
                index += 1
            }
        }
    }

    /// The command for one master: its index, the rows up to the end of the page, and the
    /// sort keys to merge by.
    func shardCommand(index: String) -> [String] {
        var command = argv
        command[1] = index
        let rows = String(offset + count)
        if let position = limitPosition {
            command[position + 1] = "0"
            command[position + 2] = rows
        } else {
            command += ["LIMIT", "0", rows]
        }
        if sort != nil { command.insert("WITHSORTKEYS", at: 3) }
        return command
    }

    /// The command for one shard, asked for `rows` rows from its row `start` (a page that
    /// follows the one before, ``PagingCursor``).
    func shardCommand(index: String, from start: Int, rows: Int) -> [String] {
        var command = argv
        command[1] = index
        if let position = limitPosition {
            command[position + 1] = String(start)
            command[position + 2] = String(rows)
        } else {
            command += ["LIMIT", String(start), String(rows)]
        }
        if sort != nil { command.insert("WITHSORTKEYS", at: 3) }
        return command
    }

    /// The command without its page (what pages of one listing share).
    var unpaged: [String] {
        guard let position = limitPosition else { return argv }
        return Array(argv[..<position]) + Array(argv[(position + 3)...])
    }

    /// One row of a shard's answer.
    struct Row: @unchecked Sendable {
        var key: RedisReply
        var sortKey: String?
        var content: RedisReply?
        /// The shard's position in the list of shards.
        var list = 0
    }

    /// A merged page: the reply, and per shard how many of its rows the merge went through
    /// (up to the end of the page) and the rows it read beyond them.
    struct Merged {
        var reply: RedisReply
        var taken: [Int]
        var left: [[Row]]
    }

    /// One reply as a single index would give it.
    func merge(_ replies: [RedisReply]) throws -> RedisReply { try merge(replies, resumed: false).reply }

    /// One reply as a single index would give it. `resumed`: each shard's rows start at the
    /// page, after the rows `carried` over from the page before.
    func merge(_ replies: [RedisReply], resumed: Bool, carried: [[Row]]? = nil) throws -> Merged {
        var total: Int64 = 0
        var lists: [[Row]] = []
        for reply in replies {
            guard let items = reply.array, let shardTotal = items.first?.integer else {
                throw RedisError(.unexpectedReply, "FT.SEARCH replied \(reply)")
            }
            total += shardTotal
            var rows: [Row] = carried?[lists.count] ?? []
            var position = 1
            while position < items.count {
                var row = Row(key: items[position], list: lists.count)
                position += 1
                if sort != nil, position < items.count {
                    row.sortKey = items[position].string
                    position += 1
                }
                if returnsContent, position < items.count {
                    row.content = items[position]
                    position += 1
                }
                rows.append(row)
            }
            lists.append(rows)
        }
        var merged: [Row]
        if let sort {
            merged = []
            var heads = [Int](repeating: 0, count: lists.count)
            while true {
                var best: Int?
                for list in lists.indices where heads[list] < lists[list].count {
                    guard let current = best else {
                        best = list
                        continue
                    }
                    let a = lists[list][heads[list]].sortKey
                    let b = lists[current][heads[current]].sortKey
                    if Self.sortKey(a, precedes: b, descending: sort.descending) { best = list }
                }
                guard let list = best else { break }
                merged.append(lists[list][heads[list]])
                heads[list] += 1
            }
        } else {
            merged = lists.flatMap { $0 }
        }
        let skipped = resumed ? 0 : offset
        let page = merged.dropFirst(skipped).prefix(count)
        var items: [RedisReply] = [.integer(total)]
        for row in page {
            items.append(row.key)
            if let content = row.content { items.append(content) }
        }
        var taken = [Int](repeating: 0, count: replies.count)
        for row in merged.prefix(skipped + page.count) { taken[row.list] += 1 }
        return Merged(
            reply: .array(items), taken: taken, left: zip(lists, taken).map { Array($0.dropFirst($1)) })
    }

    /// The server's order of sort keys: `#number` by value, `$text` by bytes, missing last.
    static func sortKey(_ a: String?, precedes b: String?, descending: Bool) -> Bool {
        func parsed(_ key: String?) -> (number: Double?, text: String)? {
            guard let key, let first = key.first, first == "#" || first == "$" else { return nil }
            return (first == "#" ? Double(key.dropFirst()) : nil, String(key.dropFirst()))
        }
        guard let x = parsed(a) else { return false }
        guard let y = parsed(b) else { return true }
        if let p = x.number, let q = y.number, p != q { return descending ? p > q : p < q }
        if x.text == y.text { return false }
        let ascending = x.text.utf8.lexicographicallyPrecedes(y.text.utf8)
        return descending ? !ascending : ascending
    }
}

/// An FT.AGGREGATE as dql sends it: a query, GROUPBY steps with their reducers, SORTBY with
/// MAX, LIMIT.
struct AggregateShape {
    struct Reducer {
        var function: String
        var arguments: [String]
        var name: String
        /// COUNT_DISTINCT of a field that does not keep to one master: asked for as TOLIST.
        var countsUnion = false
    }

    struct Group {
        var properties: [String]
        var reducers: [Reducer]
    }

    var head: [String] = []
    var tail: [String] = []
    var groups: [Group] = []
    var sortKeys: [(property: String, descending: Bool)] = []
    var maximum: Int?
    var limit: (offset: Int, count: Int)?
    /// Groups that keep to one master: each master sorts and cuts them itself.
    var alignedGroups = false

    init(_ argv: [String], aligned: String) throws {
        head = Array(argv[0..<3])
        var index = 3
        func number(_ at: Int) throws -> Int {
            guard at < argv.count, let value = Int(argv[at]), value >= 0 else {
                throw RedisError(.unexpectedReply, "FT.AGGREGATE: a number expected at \(at)")
            }
            return value
        }
        /// The `count` arguments from `at`, which must all be there.
        func arguments(_ at: Int, _ count: Int) throws -> [String] {
            guard at + count <= argv.count else {
                throw RedisError(.unexpectedReply, "FT.AGGREGATE: \(count) arguments expected at \(at)")
            }
            return Array(argv[at..<(at + count)])
        }
        while index < argv.count {
            switch argv[index].uppercased() {
            case "VERBATIM":
                head.append(argv[index])
                index += 1
            case "TIMEOUT", "DIALECT":
                let option = try arguments(index, 2)
                if option[0].uppercased() == "TIMEOUT" { head += option } else { tail += option }
                index += 2
            case "LOAD", "PARAMS":
                let count = try number(index + 1)
                let option = try arguments(index, 2 + count)
                if option[0].uppercased() == "LOAD" { head += option } else { tail += option }
                index += 2 + count
            case "GROUPBY":
                let count = try number(index + 1)
                groups.append(Group(properties: try arguments(index + 2, count), reducers: []))
                index += 2 + count
            case "REDUCE":
                let count = try number(index + 2)
                var reducer = Reducer(
                    function: try arguments(index + 1, 1)[0].uppercased(), arguments: try arguments(index + 3, count),
                    name: "")
                index += 3 + count
                if index + 1 < argv.count, argv[index].uppercased() == "AS" {
                    reducer.name = argv[index + 1]
                    index += 2
                }
                if reducer.function == "COUNT_DISTINCT", reducer.arguments != ["@" + aligned] {
                    reducer.countsUnion = true
                }
                guard !groups.isEmpty else { throw RedisError(.unexpectedReply, "REDUCE before GROUPBY") }
                groups[groups.count - 1].reducers.append(reducer)
            case "SORTBY":
                let count = try number(index + 1)
                _ = try arguments(index + 2, count)
                var position = index + 2
                while position < index + 2 + count {
                    let property = String(argv[position].dropFirst())
                    let direction = position + 1 < index + 2 + count ? argv[position + 1].uppercased() : ""
                    if direction == "ASC" || direction == "DESC" {
                        sortKeys.append((property, direction == "DESC"))
                        position += 2
                    } else {
                        sortKeys.append((property, false))
                        position += 1
                    }
                }
                index += 2 + count
            case "MAX":
                maximum = try number(index + 1)
                index += 2
            case "LIMIT":
                limit = (try number(index + 1), try number(index + 2))
                index += 3
            default:
                throw RedisError(.unexpectedReply, "FT.AGGREGATE: \(argv[index]) is not coordinated")
            }
        }
        guard !groups.isEmpty else { throw RedisError(.unexpectedReply, "FT.AGGREGATE without GROUPBY") }
        alignedGroups =
            groups.count == 1 && groups[0].properties.contains("@" + aligned)
            && groups[0].reducers.allSatisfy { !$0.countsUnion }
    }

    /// The command for one master: the first GROUPBY (union counts asked for as lists); its
    /// own sort and cut when its groups are whole there.
    func shardCommand(index: String) -> [String] {
        var command = head
        command[1] = index
        let first = groups[0]
        command += ["GROUPBY", String(first.properties.count)] + first.properties
        for reducer in first.reducers {
            let function = reducer.countsUnion ? "TOLIST" : reducer.function
            command += ["REDUCE", function, String(reducer.arguments.count)] + reducer.arguments
            if !reducer.name.isEmpty { command += ["AS", reducer.name] }
        }
        if alignedGroups, !sortKeys.isEmpty {
            let end = (limit.map { $0.offset + $0.count }).map { min($0, maximum ?? $0) } ?? maximum
            command +=
                ["SORTBY", String(sortKeys.count * 2)]
                + sortKeys.flatMap { ["@" + $0.property, $0.descending ? "DESC" : "ASC"] }
            if let end { command += ["MAX", String(end), "LIMIT", "0", String(end)] }
        }
        return command + tail
    }

    /// A group's values: text, or a list (TOLIST).
    enum Value: Equatable {
        case text(String)
        case list([String])

        var text: String? {
            if case .text(let value) = self { return value }
            return nil
        }

        var list: [String]? {
            if case .list(let values) = self { return values }
            return nil
        }
    }

    typealias Row = [String: Value]

    /// One reply as a single index would give it.
    func merge(_ replies: [RedisReply], isNumeric: (String) -> Bool) throws -> RedisReply {
        var rows = try mergeFirstGroups(replies)
        for group in groups.dropFirst() { rows = Self.regroup(rows, by: group) }
        if !sortKeys.isEmpty {
            let numeric = Set(
                sortKeys.map(\.property).filter { property in
                    isNumeric(property)
                        || groups.contains { $0.reducers.contains { $0.name == property && Self.countsNumber($0) } }
                })
            // The server's order: a missing value before any other (after, descending).
            rows.sort { a, b in
                for key in sortKeys {
                    let x = a[key.property]?.text
                    let y = b[key.property]?.text
                    if x == y { continue }
                    guard let x else { return !key.descending }
                    guard let y else { return key.descending }
                    let direction = key.descending ? SortOrder.descending : .ascending
                    if let first = ValueOrder.precedes(x, y, numeric: numeric.contains(key.property), direction) {
                        return first
                    }
                }
                return false
            }
        }
        if let maximum, !sortKeys.isEmpty { rows = Array(rows.prefix(maximum)) }
        if let limit { rows = Array(rows.dropFirst(limit.offset).prefix(limit.count)) }
        var items: [RedisReply] = [.integer(Int64(rows.count))]
        let order = outputNames
        for row in rows {
            var pairs: [RedisReply] = []
            for name in order {
                guard let value = row[name] else { continue }
                pairs.append(.bulk(Array(name.utf8)))
                switch value {
                case .text(let text): pairs.append(.bulk(Array(text.utf8)))
                case .list(let values): pairs.append(.array(values.map { .bulk(Array($0.utf8)) }))
                }
            }
            items.append(.array(pairs))
        }
        return .array(items)
    }

    /// The names a row holds, in the order of the last GROUPBY.
    var outputNames: [String] {
        guard let last = groups.last else { return [] }
        return last.properties.map { String($0.dropFirst()) } + last.reducers.map(\.name)
    }

    static func countsNumber(_ reducer: Reducer) -> Bool {
        ["COUNT", "COUNT_DISTINCT", "SUM", "MIN", "MAX", "AVG"].contains(reducer.function)
    }

    /// The first GROUPBY's groups from every master, merged by their group values.
    private func mergeFirstGroups(_ replies: [RedisReply]) throws -> [Row] {
        let first = groups[0]
        let keys = first.properties.map { String($0.dropFirst()) }
        var order: [[String?]] = []
        var merged: [[String?]: Row] = [:]
        var unions: [[String?]: [String: Set<String>]] = [:]
        for reply in replies {
            guard let items = reply.array else { throw RedisError(.unexpectedReply, "FT.AGGREGATE replied \(reply)") }
            for item in items.dropFirst() {
                guard let pairs = item.pairs else { continue }
                var row: Row = [:]
                for (name, value) in pairs where row[name] == nil {
                    if let text = value.string {
                        row[name] = .text(text)
                    } else if let values = value.array {
                        row[name] = .list(values.compactMap(\.string))
                    }
                }
                // An empty value groups with a missing one, as the server groups them.
                for name in keys where row[name]?.text == "" { row[name] = nil }
                let key = keys.map { row[$0]?.text }
                guard var existing = merged[key] else {
                    order.append(key)
                    for reducer in first.reducers where reducer.countsUnion {
                        if case .list(let values) = row[reducer.name] {
                            unions[key, default: [:]][reducer.name] = Set(values)
                        } else {
                            unions[key, default: [:]][reducer.name] = []
                        }
                    }
                    merged[key] = row
                    continue
                }
                for reducer in first.reducers {
                    let name = reducer.name
                    switch reducer.function {
                    case "COUNT", "SUM",
                        "COUNT_DISTINCT" where !reducer.countsUnion:
                        let sum = Self.number(existing[name]) + Self.number(row[name])
                        existing[name] = .text(Self.format(sum))
                    case "COUNT_DISTINCT":
                        if case .list(let values) = row[name] {
                            unions[key, default: [:]][name, default: []].formUnion(values)
                        }
                    case "TOLIST":
                        if case .list(let values) = row[name] {
                            var all = Set(existing[name]?.list ?? [])
                            all.formUnion(values)
                            existing[name] = .list(all.sorted())
                        }
                    case "MIN", "MAX":
                        let a = Self.number(existing[name])
                        let b = Self.number(row[name])
                        if existing[name] == nil || (reducer.function == "MIN" ? b < a : b > a) {
                            existing[name] = row[name]
                        }
                    default:  // FIRST_VALUE: the first master's, unless it had none
                        if existing[name] == nil || existing[name] == .text("") { existing[name] = row[name] }
                    }
                }
                merged[key] = existing
            }
        }
        return order.compactMap { key in
            guard var row = merged[key] else { return nil }
            for (name, values) in unions[key] ?? [:] { row[name] = .text(String(values.count)) }
            return row
        }
    }

    /// A later GROUPBY, run here on merged rows (COUNT, and FIRST_VALUE, are what dql sends).
    static func regroup(_ rows: [Row], by group: Group) -> [Row] {
        let keys = group.properties.map { String($0.dropFirst()) }
        var order: [[String?]] = []
        var grouped: [[String?]: [Row]] = [:]
        for row in rows {
            let key = keys.map { row[$0]?.text }
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(row)
        }
        return order.map { key in
            let members = grouped[key] ?? []
            var row: Row = [:]
            for (name, value) in zip(keys, key) { if let value { row[name] = .text(value) } }
            for reducer in group.reducers {
                let source = reducer.arguments.first.map { String($0.dropFirst()) } ?? ""
                switch reducer.function {
                case "COUNT": row[reducer.name] = .text(String(members.count))
                case "SUM": row[reducer.name] = .text(format(members.reduce(0) { $0 + number($1[source]) }))
                case "COUNT_DISTINCT":
                    row[reducer.name] = .text(String(Set(members.compactMap { $0[source]?.text }).count))
                default: row[reducer.name] = members.first?[source]
                }
            }
            return row
        }
    }

    static func number(_ value: Value?) -> Double {
        value?.text.flatMap(Double.init) ?? 0
    }

    /// A merged number as the server writes it: integers without a fraction.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// Where each shard stands in a listing read page by page (the executor's paging loop asks
/// for `offset` 0, 1000, 2000, …): the next page asks each shard only for rows it has not
/// read yet, and the rows a shard gave beyond the page are carried to the next, so a listing
/// reads each row about once instead of every shard's rows up to the page at every page.
final class PagingCursor: @unchecked Sendable {
    private let lock = NSLock()
    private var listing: [String]?
    private var offset = 0
    private var consumed: [Int] = []
    private var carried: [[SearchShape.Row]] = []
    private var totals: [Int] = []

    /// Per shard: the rows of the listing before the page, the rows carried over, and the
    /// row to ask from and how many; nil unless `search` is the page after the last one of
    /// the same listing on as many shards.
    func position(
        for search: SearchShape, shards: Int
    ) -> [(
        consumed: Int, carried: [SearchShape.Row], start: Int, rows: Int
    )]? {
        lock.withLock {
            guard listing == search.unpaged, offset == search.offset, consumed.count == shards else { return nil }
            var needed = search.count
            return (0..<shards).map { shard in
                let start = consumed[shard] + carried[shard].count
                let rows: Int
                if search.sort != nil {
                    // Any shard may give the whole page.
                    rows = max(0, search.count - carried[shard].count)
                } else {
                    // Without an order the shards' rows follow one another: only those the
                    // page reaches are asked for rows.
                    needed -= min(needed, carried[shard].count)
                    rows = min(needed, max(0, totals[shard] - start))
                    needed -= rows
                }
                return (consumed[shard], carried[shard], start, rows)
            }
        }
    }

    /// Records a page: each shard's rows gone through, from `before` (nil: from the start).
    func advance(_ search: SearchShape, merged: SearchShape.Merged, before: [Int]?, totals replies: [RedisReply]) {
        lock.withLock {
            listing = search.unpaged
            consumed = zip(before ?? [Int](repeating: 0, count: merged.taken.count), merged.taken).map { $0 + $1 }
            carried = merged.left
            offset = consumed.reduce(0, +)
            totals = replies.map { Int($0.array?.first?.integer ?? 0) }
        }
    }
}

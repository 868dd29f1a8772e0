import Foundation
import RedisIO

/// `find`, `count`, `delete` and `fetch` at the levels above files: rows of patients, studies
/// and series computed by the server from their instances (see ``LevelPlan``).
extension Executor {
    /// The rows of `find patients|studies|series`, and the files of the rows returned when
    /// it says `fetch to`.
    func findLevel(_ plan: LevelPlan, context: StatementContext) throws -> FoundRows {
        let key = plan.key
        var found = FoundRows(columns: plan.columns.map(\.name))
        found.level = plan.level
        let directory = try plan.fetchDirectory.map(PathExpansion.expand)
        if let directory { try prepareFetchDirectory(directory) }
        let rows = try levelRows(plan, context: context, total: &found.total)
        let keys = rows.map { $0[key.attribute] ?? "" }
        found.returned = rows.count
        found.ids = keys
        if plan.withSamples { found.samples = rows.map { $0[LevelPlan.sampleProperty] } }
        found.rows = rows.map { row in plan.columns.map { Self.display($0, in: row, key: key) } }
        if let directory, !keys.isEmpty {
            let names = FetchNames(existing: plan.existingFiles ?? settings.existingFiles, layout: plan.fetchLayout)
            for batch in keys.chunked(LevelPlan.keysPerCommand) {
                let instances = plan.instancePlan(
                    keys: Array(batch), returning: StoredFacts.returnedAttributes)
                try SearchRunner.page(from: 0, limit: nil, pageSize: instances.pageSize) { offset, count in
                    let page = try SearchPage(
                        runner.query(instances.command(offset: offset, count: count), context: context),
                        returning: true)
                    let ids = page.documents.map { layout.id(fromDocumentKey: $0.key) ?? $0.key }
                    if !ids.isEmpty {
                        found.fetched += try fetcher.fetchAll(
                            ids: ids, returned: page.documents.map(\.attributes), into: directory, client: client,
                            context: context, names: names)
                    }
                    return ids.count
                }
            }
        }
        if let sink = context.rows {
            sink.begin(columns: found.columns, total: found.total, level: plan.level)
            sink.page(ids: found.ids, rows: found.rows)
            found.rows = []
            found.ids = []
            found.streamed = true
        }
        return found
    }

    /// The aggregate rows of the page the plan asks for, and how many rows match in all.
    private func levelRows(_ plan: LevelPlan, context: StatementContext, total: inout Int) throws -> [[String: String]]
    {
        let maximum = try serverLimits(context: context).maximumAggregateResults
        if plan.selectsByKeys {
            var rows: [[String: String]] = []
            try SearchRunner.page(from: plan.offset, limit: plan.limit, pageSize: plan.pageSize) { offset, count in
                if offset > maximum - min(count, maximum) {
                    throw ExecutionError(.resultWindowTooLarge(maximum: maximum))
                }
                let page = try AggregateRows(
                    runner.query(plan.rowsCommand(offset: offset, count: count), context: context)
                )
                .rows
                rows += page
                return page.count
            }
            if plan.offset == 0 && (plan.limit.map { rows.count < $0 } ?? true) {
                total = rows.count
            } else {
                let row = try AggregateRows(runner.query(plan.totalCommand, context: context)).rows.first
                total = max(row?["total"].flatMap { Int($0) } ?? 0, rows.count)
            }
            return rows
        }
        // The keys of the matching rows, then the rows of those keys from all their instances,
        // sorted and cut here.
        let keys = try matchingKeys(plan, context: context, maximum: maximum)
        total = keys.count
        var rows: [[String: String]] = []
        for batch in keys.chunked(LevelPlan.keysPerCommand) {
            rows += try AggregateRows(runner.query(plan.rowsCommand(keys: Array(batch)), context: context)).rows
        }
        rows.sort { Self.precedes($0, $1, by: plan.sortKeys, numeric: Self.numericProperties(plan)) }
        let start = min(plan.offset, rows.count)
        let end = plan.limit.map { min(rows.count, start + $0) } ?? rows.count
        return Array(rows[start..<end])
    }

    /// Every key (Study Instance UID, …) with a matching instance.
    func matchingKeys(_ plan: LevelPlan, context: StatementContext, maximum: Int) throws -> [String] {
        if let scan = plan.scan { return try scannedKeys(scan, level: plan.level, context: context) }
        var keys: [String] = []
        try SearchRunner.page(from: 0, limit: nil, pageSize: plan.pageSize) { offset, count in
            if offset + count > maximum, offset > 0 { throw ExecutionError(.resultWindowTooLarge(maximum: maximum)) }
            let page = try AggregateRows(runner.query(plan.keysCommand(offset: offset, count: count), context: context))
                .rows
            keys += page.compactMap { $0[plan.key.attribute] }
            return page.count
        }
        return keys
    }

    /// `delete studies|series|patients where …`: every file of every matching row, after the
    /// context confirmed how many files that is.
    func deleteLevel(_ plan: LevelPlan, context: StatementContext) throws -> StatementResult {
        let maximum = try serverLimits(context: context).maximumAggregateResults
        let keys = try matchingKeys(plan, context: context, maximum: maximum)
        let batches = keys.chunked(LevelPlan.keysPerCommand).map { plan.instancePlan(keys: Array($0), returning: []) }
        var total = 0
        for batch in batches {
            total += try SearchPage(
                runner.query(batch.command(offset: 0, count: 0), context: context), returning: false
            )
            .total
        }
        guard total > 0 else { return .deleted(0) }
        guard context.confirm(.delete(files: total)) else { return .deleted(0, declined: true) }
        var deleted = 0
        for batch in batches { deleted += try deleteMatching(batch, context: context) }
        return .deleted(deleted)
    }

    /// Property names of the numeric columns, for sorting rows here as the server would.
    static func numericProperties(_ plan: LevelPlan) -> Set<String> {
        Set(plan.level.columns.filter(\.isNumeric).map { $0.property(key: plan.key) })
    }

    /// Whether row `a` comes before row `b` by the sort keys (see ``ValueOrder``).
    static func precedes(
        _ a: [String: String], _ b: [String: String], by keys: [(property: String, order: SortOrder)],
        numeric: Set<String>
    ) -> Bool {
        ValueOrder.precedes(keys.map { (a[$0.property], b[$0.property], numeric.contains($0.property), $0.order) })
    }

    /// A column's value in an aggregate row, as rows show it.
    static func display(_ column: LevelColumn, in row: [String: String], key: Field) -> String? {
        let property = column.property(key: key)
        guard let raw = row[property] else { return nil }
        if let field = column.field { return display(field, [field.attribute: raw]) }
        return raw
    }
}

extension LevelPlan {
    /// The files of the rows with the given keys, as a search (for fetch and delete).
    /// (With a condition on keys, those of the rows' instances that it selects: what the rows
    /// counted.)
    func instancePlan(keys: [String], returning attributes: [String]) -> SearchPlan {
        var builder = QueryBuilder()
        if selectsByKeys { builder.parameters = query.parameters }
        let among = keyMatch(keys, &builder)
        let query = SearchQuery(
            text: selectsByKeys ? "(\(self.query.text)) \(among)" : among, parameters: builder.parameters)
        return SearchPlan(
            index: index, query: query, returnAttributes: attributes, columns: [], limit: nil, offset: 0,
            pageSize: pageSize, timeoutMilliseconds: timeoutMilliseconds)
    }
}

extension Array {
    /// The elements in runs of at most `size`.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

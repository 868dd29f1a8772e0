import DicomCore
import Foundation
import RedisIO

/// Statements about attributes the index does not hold (see ``ScanPlan``): the narrowing
/// search is read page by page, the headers of each page read from the chunks in one pipeline
/// and parsed on every core, the rest of the condition evaluated here, and the columns, order,
/// page, counts or groups computed here. A note says how many headers were read and how to
/// make it fast (`index KEYWORD`).
extension Executor {
    /// A file that matched: its id and the values of the fields the statement needs.
    struct ScannedFile {
        var id: String
        var values: [String: [String]]

        func values(of field: Field) -> [String] { values[field.name] ?? [] }
    }

    func scan(_ plan: ScanPlan, context: StatementContext) throws -> StatementResult {
        let files = try scannedFiles(plan, context: context)
        switch plan.purpose {
        case .find:
            var matched = files
            if let order = plan.order {
                let field = order.field.field
                // Ties by id, so pages are the same from headers and from the index.
                matched.sort {
                    ValueOrder.precedes(
                        [
                            (
                                $0.values(of: field).first, $1.values(of: field).first, field.kind != .tag,
                                order.direction
                            ),
                            (
                                Self.joined($0.values(of: field)), Self.joined($1.values(of: field)), false,
                                order.direction
                            ),
                            ($0.id, $1.id, false, .ascending),
                        ])
                }
            }
            let start = min(plan.offset, matched.count)
            let end = plan.limit.map { min(matched.count, start + $0) } ?? matched.count
            let page = Array(matched[start..<end])
            var found = FoundRows(columns: plan.columns.map(\.name))
            found.total = matched.count
            found.returned = page.count
            found.ids = page.map(\.id)
            found.rows = page.map { file in plan.columns.map { Self.displayValues($0, file.values(of: $0)) } }
            if let written = plan.search.fetchDirectory, !page.isEmpty {
                let directory = try PathExpansion.expand(written)
                try prepareFetchDirectory(directory)
                let names = FetchNames(
                    existing: plan.search.existingFiles ?? settings.existingFiles, layout: plan.search.fetchLayout)
                context.activity.plan(files: found.ids.count)
                for ids in found.ids.chunked(plan.search.pageSize) {
                    found.fetched += try fetcher.fetchAll(
                        ids: Array(ids), into: directory, client: client, context: context, names: names)
                }
            }
            if let sink = context.rows {
                sink.begin(columns: found.columns, total: found.total, level: .instances)
                sink.page(ids: found.ids, rows: found.rows)
                found.rows = []
                found.ids = []
                found.streamed = true
            }
            return .rows(found)
        case .count(let level, let groupBy, let order, let limit):
            return Self.counts(files, level: level, groupBy: groupBy, order: order, limit: limit)
        case .delete:
            guard !files.isEmpty else { return .deleted(0) }
            guard context.confirm(.delete(files: files.count)) else { return .deleted(0, declined: true) }
            let maintenance = Maintenance(layout: layout)
            let deleted = try context.profile.measure(.query) {
                try files.filter { try maintenance.delete(id: $0.id, client: client) }.count
            }
            return .deleted(deleted)
        case .keys:
            throw ExecutionError(.statementFailed("the keys of a level are read by its statement"))
        }
    }

    /// The keys of the level's rows that have a matching file, in key order.
    func scannedKeys(_ plan: ScanPlan, level: Level, context: StatementContext) throws -> [String] {
        guard let key = level.keyField else { return [] }
        let keys = Set(try scannedFiles(plan, context: context).flatMap { $0.values(of: key) })
        return keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Every file the narrowing search finds whose values satisfy the rest of the condition.
    func scannedFiles(_ plan: ScanPlan, context: StatementContext) throws -> [ScannedFile] {
        try checkPatterns(plan.search.query, context: context)
        let filter = try plan.residual.map { condition throws(DQLError) in try RowFilter(condition) }
        let maximum = try serverLimits(context: context).maximumSearchResults
        var matched: [ScannedFile] = []
        var candidates = 0
        try SearchRunner.page(from: 0, limit: nil, pageSize: plan.search.pageSize) { offset, count in
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            let page = try SearchPage(
                runner.query(plan.search.command(offset: offset, count: count), context: context), returning: true)
            if offset == 0, page.total > maximum { throw ExecutionError(.resultWindowTooLarge(maximum: maximum)) }
            candidates = page.total
            let ids = page.documents.map { layout.id(fromDocumentKey: $0.key) ?? $0.key }
            var headers: [DicomFile?] = Array(repeating: nil, count: ids.count)
            if !plan.headerFields.isEmpty {
                let locations = zip(ids, page.documents).compactMap { id, document in
                    StoredHeader.Location(
                        id: id, size: document.attributes["size"].flatMap { Int($0) },
                        chunkSize: document.attributes["$.chunkSize"].flatMap { Int($0) },
                        headerLength: document.attributes["$.headerLength"].flatMap { Int($0) })
                }
                guard locations.count == ids.count else {
                    throw ExecutionError(.statementFailed("a stored document has no size or chunk size"))
                }
                headers = try context.profile.measure(.query) {
                    try StoredHeader.read(locations, layout: layout, client: client)
                }
            }
            for (index, document) in page.documents.enumerated() {
                var values: [String: [String]] = [:]
                for field in plan.valueFields {
                    values[field.name] =
                        field.isIndexed
                        ? Self.storedValues(document.attributes[field.attribute])
                        : Self.headerValues(field, headers[index])
                }
                let file = ScannedFile(id: ids[index], values: values)
                if filter?.matches({ file.values(of: $0) }) ?? true { matched.append(file) }
            }
            return page.documents.count
        }
        if !plan.headerFields.isEmpty {
            let names = plan.headerFields.map(\.name)
            context.note(
                "read \(candidates) stored header\(candidates == 1 ? "" : "s") for "
                    + names.joined(separator: ", ")
                    + ", which the index does not hold; `index \(names[0])` indexes it for every stored and future file"
            )
        }
        return matched
    }

    /// A value FT.SEARCH returned, as its values: a JSON array of several is each of them.
    static func storedValues(_ raw: String?) -> [String] {
        guard let raw else { return [] }
        if raw.hasPrefix("["), raw.hasSuffix("]"),
            let values = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [Any]
        {
            return values.map { value in
                if let text = value as? String { return text }
                if let number = value as? NSNumber { return Compiler.format(number.doubleValue) }
                return "\(value)"
            }
        }
        return [raw]
    }

    /// An attribute's values in a header (top level): text as DICOM writes it, whitespace
    /// runs collapsed, empty values left out; numbers as numbers (`0.8000` is 0.8, as the
    /// index holds it once indexed); dates as YYYYMMDD.
    static func headerValues(_ field: Field, _ file: DicomFile?) -> [String] {
        guard let tag = field.tag, let file else { return [] }
        // File meta information (group 0002) is kept apart from the data set.
        guard let element = tag.group == 0x0002 ? file.meta[tag] : file.dataset[tag] else { return [] }
        return normalizedValues(field, element.strings)
    }

    /// Values of an attribute as text, as dql keeps and compares them (see ``headerValues``).
    static func normalizedValues(_ field: Field, _ strings: [String]) -> [String] {
        switch field.kind {
        case .date: strings.compactMap { DicomDate(parsing: $0).map { String($0.number) } }
        case .numeric, .year: strings.compactMap(RowFilter.number).map(Compiler.format)
        case .tag: strings.map(Field.collapsingWhitespace).filter { !$0.isEmpty }
        }
    }

    /// Values as rows show them: several joined by `\`, dates as 2019-03-05.
    static func displayValues(_ field: Field, _ values: [String]) -> String? {
        guard !values.isEmpty else { return nil }
        return values.map { display(field, [field.attribute: $0]) ?? $0 }.joined(separator: "\\")
    }

    /// Several values as one text (`1\\1`), nil for none.
    static func joined(_ values: [String]) -> String? {
        values.isEmpty ? nil : values.joined(separator: "\\")
    }

    /// `count [by …]` over the scanned files: files, or distinct keys of the level, per group.
    static func counts(
        _ files: [ScannedFile], level: Level, groupBy: [Field], order: CountOrder?, limit: Int?
    ) -> StatementResult {
        func counted(_ members: [ScannedFile]) -> Int {
            guard let key = level.keyField else { return members.count }
            return Set(members.compactMap { $0.values(of: key).first }).count
        }
        let present = level.keyField.map { key in files.filter { !$0.values(of: key).isEmpty } } ?? files
        guard !groupBy.isEmpty else { return .count(counted(present)) }
        var groups: [[String?]: [ScannedFile]] = [:]
        for file in present {
            groups[groupBy.map { displayValues($0, file.values(of: $0)) }, default: []].append(file)
        }
        var rows = groups.map { (values: $0.key, count: counted($0.value)) }
        // By the count (largest first) or the field asked for, then by the values.
        func byValues(_ a: [String?], _ b: [String?]) -> [(a: String?, b: String?, numeric: Bool, direction: SortOrder)]
        {
            zip(groupBy, zip(a, b)).map { ($1.0, $1.1, $0.kind != .tag, .ascending) }
        }
        rows.sort { x, y in
            var keys: [(a: String?, b: String?, numeric: Bool, direction: SortOrder)] = []
            switch order {
            case .field(let reference, let direction):
                let column = groupBy.firstIndex(of: reference.field) ?? 0
                keys = [(x.values[column], y.values[column], reference.field.kind != .tag, direction)]
            case .count(let direction): keys = [(String(x.count), String(y.count), true, direction)]
            case nil: keys = [(String(x.count), String(y.count), true, .descending)]
            }
            return ValueOrder.precedes(keys + byValues(x.values, y.values))
        }
        let total = rows.count
        if let limit { rows = Array(rows.prefix(limit)) }
        return .groups(GroupCounts(columns: groupBy.map(\.name), rows: rows, totalGroups: total))
    }
}

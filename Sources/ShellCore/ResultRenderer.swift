import DQL
import DicomCore
import DicomImage
import Foundation

/// Turns statement results into text in the chosen format. Tables are for people; CSV, JSON
/// and NDJSON are exact and stable for programs: values as stored, numbers as numbers, no
/// colour, and nothing in them that is not data.
enum ResultRenderer {
    static func render(_ result: StatementResult, style: OutputStyle) -> RenderedResult {
        switch result {
        case .rows(let found): return rows(found, style: style)
        case .count(let count):
            return keyValues([("count", .integer(Int64(count)))], style: style)
        case .groups(let groups): return self.groups(groups, style: style)
        case .document(let id, let json): return DocumentRenderer.render(id: id, json: json, style: style)
        case .preview(let preview): return self.preview(preview, style: style)
        case .contactSheet(let sheet): return contactSheet(sheet, style: style)
        case .levelShown(let row, let children):
            // The row one line per column (in a table), then the rows below it.
            var expanded = style
            if style.format == .table { expanded.expanded = .on }
            let head = rows(row, style: expanded)
            let below = rows(children, style: style)
            if style.format == .json {
                return RenderedResult(
                    data: "{\"row\":" + head.data.trimmingCharacters(in: .newlines) + ",\"below\":"
                        + below.data.trimmingCharacters(in: .newlines) + "}\n", notes: head.notes + below.notes)
            }
            // A blank line between the two tables; NDJSON and CSV go on line after line.
            let separator = style.format == .table ? "\n" : ""
            return RenderedResult(data: head.data + separator + below.data, notes: head.notes + below.notes)
        case .fetched(let files): return fetched(files, style: style)
        case .loaded(let report): return loaded(report, style: style)
        case .deleted(let count, let declined):
            var rendered = keyValues([("deleted", .integer(Int64(count)))], style: style)
            if declined { rendered.notes.append("nothing was deleted") }
            return rendered
        case .vacuumed(let report):
            var rendered = keyValues(
                [
                    ("interruptedLoads", .integer(Int64(report.orphanIds.count))),
                    ("chunksRemoved", .integer(Int64(report.chunksRemoved))),
                    ("leasedLoads", .integer(Int64(report.leasedLoads))),
                    ("leasedChunks", .integer(Int64(report.leasedChunks))),
                    ("leaseSecondsLeft", .integer(Int64(report.leaseSecondsLeft))),
                ], style: style)
            if report.leasedChunks > 0 {
                rendered.notes.append(
                    "\(plural(report.leasedChunks, "chunk")) of \(plural(report.leasedLoads, "load")) without a document are kept: a load under way, or one stopped less than its lease ago, still holds its claim (the last expires in \(report.leaseSecondsLeft) s); vacuum after that removes those of loads that were interrupted"
                )
            }
            return rendered
        case .migrated(let report):
            guard !report.alreadySpread else {
                var rendered = RenderedResult()
                rendered.notes.append("the store is spread over the masters already: nothing to move")
                return rendered
            }
            var rendered = keyValues(
                [
                    ("moved", .integer(Int64(report.moved))), ("documents", .integer(Int64(report.total))),
                    ("steps", .integer(Int64(report.steps))), ("masters", .integer(Int64(report.masters))),
                ], style: style)
            if report.resumed { rendered.notes.append("a migrate that had stopped was taken up where it stopped") }
            return rendered
        case .explained(let commands, let serverPlan, let steps):
            return explained(commands, serverPlan, steps: steps, style: style)
        case .settingChanged: return RenderedResult()
        case .attributeIndexed(let name, let files, let values, let again):
            var rendered = keyValues(
                [
                    ("indexed", .string(name)), ("files", .integer(Int64(files))),
                    ("withValue", .integer(Int64(values))),
                ],
                style: style)
            rendered.notes.append(
                "\(name) is indexed: \(values) of \(plural(files, "file")) have a value; conditions, order and count by on it use the index from now on, in every shell"
            )
            return rendered
        case .attributeUnindexed(let name, let files, let wasIndexed):
            var rendered = keyValues(
                [("unindexed", .string(name)), ("files", .integer(Int64(files)))], style: style)
            rendered.notes.append(
                wasIndexed
                    ? "\(name) is no longer indexed; conditions on it read the stored headers again"
                    : "\(name) was not indexed; nothing changed")
            return rendered
        case .fields(let fields): return self.fields(fields, style: style)
        case .stats(let stats): return self.stats(stats, style: style)
        }
    }

    // MARK: preview

    /// A PNG written: where, and what it shows. A picture for the terminal: drawn in it (the
    /// session has made sure it is one), what it shows on stderr.
    static func preview(_ preview: Preview, style: OutputStyle) -> RenderedResult {
        let picture = preview.picture
        var shown =
            "\(visible(preview.name)), frame \(preview.frame) of \(preview.frames), \(picture.width)×\(picture.height)"
        if let window = preview.window {
            shown += ", window \(ResultRenderer.decimal(window.center))/\(ResultRenderer.decimal(window.width))"
        }
        if preview.readAlone { shown += " (the frame read alone, not checked against the file's SHA-256)" }
        if let file = preview.file {
            var rendered = keyValues(
                [
                    ("written", .string(file)), ("frame", .integer(Int64(preview.frame))),
                    ("width", .integer(Int64(picture.width))), ("height", .integer(Int64(picture.height))),
                ], style: style)
            rendered.notes.append(shown)
            return rendered
        }
        return RenderedResult(data: drawn(picture, style: style), notes: [shown])
    }

    /// Cells on a terminal when the statement gives no size: 24 characters wide, 12 lines high.
    static let terminalCellSize = 24

    /// A contact sheet written: where, and its grid. For the terminal: the pictures drawn a
    /// row of cells at a time, their names under them; what could not be shown, and why, on
    /// stderr.
    static func contactSheet(_ sheet: ContactSheet, style: OutputStyle) -> RenderedResult {
        let count = sheet.cells.count
        var notes = ["\(count) of \(plural(sheet.total, "file"))"]
        if sheet.total > count, count == FindStatement.contactSheetLimit {
            notes[0] += " (a contact sheet shows at most \(count); `limit` and `offset` choose which)"
        }
        notes += sheet.problems.map { "not shown: \(visible($0.name)): \(visible($0.reason))" }
        if let file = sheet.file, let columns = sheet.columns {
            var rendered = keyValues(
                [
                    ("written", .string(file)), ("files", .integer(Int64(count))),
                    ("columns", .integer(Int64(columns))),
                    ("rows", .integer(Int64((count + columns - 1) / max(1, columns)))),
                ], style: style)
            rendered.notes = notes + rendered.notes
            return rendered
        }
        let width = style.terminalWidth ?? 80
        if style.graphics != .blocks, !sheet.cells.isEmpty {
            // Real pixels: the sheet as a PNG would hold it, names and all.
            let cellSize = sheet.cellSize ?? 96
            let picture = PictureGrid.compose(
                sheet.cells, cellSize: cellSize, columns: max(1, min(sheet.cells.count, width * 8 / (cellSize + 4))),
                labelled: true)
            return RenderedResult(data: drawn(picture, style: style), notes: notes)
        }
        let cell = max(4, min(sheet.cellSize ?? terminalCellSize, width - 2))
        let columns = max(1, (width - 1) / (cell + 1))
        var text = ""
        var start = 0
        while start < count {
            let row = Array(sheet.cells[start..<min(count, start + columns)])
            let picture = PictureGrid.compose(row, cellSize: cell, columns: row.count, labelled: false, gap: 1)
            text += TerminalPicture.draw(picture, columns: picture.width)
            text += " " + row.map { fitted(visible($0.label), width: cell) }.joined(separator: " ") + "\n"
            start += columns
        }
        return RenderedResult(data: text, notes: notes)
    }

    /// A picture for the terminal, the way it shows pictures, on one screen with the prompt
    /// and the line about it under it: in the terminal's own graphics (made to fit the
    /// screen's pixels before it is sent), else in half blocks.
    static func drawn(_ picture: Picture, style: OutputStyle) -> String {
        let columns = style.terminalWidth ?? 80
        let lines = max(4, (style.terminalHeight ?? 24) - 3)
        if style.graphics != .blocks {
            let scale = min(
                1, Double(columns * style.cellWidth) / Double(max(1, picture.width)),
                Double(lines * style.cellHeight) / Double(max(1, picture.height)))
            let fitting =
                scale < 1
                ? picture.fitted(to: max(1, Int(Double(max(picture.width, picture.height)) * scale))) : picture
            switch style.graphics {
            case .kitty:
                if let png = try? PNGEncoder.encode(fitting) { return TerminalPicture.kitty(png: png) }
            case .iterm:
                if let png = try? PNGEncoder.encode(fitting) { return TerminalPicture.iterm(png: png) }
            case .sixel:
                if let text = TerminalPicture.sixel(fitting) { return text }
            case .blocks: break
            }
        }
        return TerminalPicture.draw(picture, columns: columns, lines: lines)
    }

    /// `text` in exactly `width` terminal columns: padded, or cut in the middle with `~` so
    /// that both ends show (a file name's start and its extension).
    static func fitted(_ text: String, width: Int) -> String {
        let total = displayWidth(text)
        if total <= width { return text + String(repeating: " ", count: width - total) }
        let characters = Array(text)
        var head = ""
        var tail = ""
        var used = 1
        var front = 0
        var back = characters.count - 1
        // Characters from both ends in turn, while they fit.
        while front <= back {
            let takeFront = displayWidth(head) <= displayWidth(tail)
            let character = takeFront ? characters[front] : characters[back]
            let characterWidth = displayWidth(String(character))
            if used + characterWidth > width { break }
            used += characterWidth
            if takeFront {
                head.append(character)
                front += 1
            } else {
                tail.insert(character, at: tail.startIndex)
                back -= 1
            }
        }
        return head + "~" + tail + String(repeating: " ", count: max(0, width - used))
    }

    static func decimal(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    // MARK: find

    /// Rows collected in the result; streamed rows are finished by their ``RowStream``.
    static func rows(_ found: FoundRows, style: OutputStyle) -> RenderedResult {
        var text = ""
        let stream = RowStream(style: style) { text += $0 }
        stream.begin(columns: found.columns, total: found.total, level: found.level)
        stream.page(ids: found.ids, rows: found.rows)
        let notes = stream.finish(found)
        return RenderedResult(data: text, notes: notes)
    }

    // MARK: count by

    static func groups(_ groups: GroupCounts, style: OutputStyle) -> RenderedResult {
        let kinds = groups.columns.map { Schema.field(named: $0)?.kind }
        let cut = groups.totalGroups > groups.rows.count
        let summary = cut ? "\(groups.rows.count) of \(groups.totalGroups) groups" : plural(groups.rows.count, "group")
        var rendered = RenderedResult()
        let header = groups.columns + ["count"]
        switch style.format {
        case .table:
            rendered.data = table(
                columns: header, rows: groups.rows.map { $0.values.map { $0 ?? "" } + [String($0.count)] },
                numeric: Set(kinds.indices.filter { kinds[$0] == .numeric || kinds[$0] == .year } + [header.count - 1]),
                style: style)
            rendered.data += "(\(summary))\n"
        case .csv:
            rendered.data = CSV.render(header: header, rows: groups.rows.map { $0.values + [String($0.count)] })
            if cut { rendered.notes.append(summary) }
        case .json, .ndjson:
            let objects: [JSONValue] = groups.rows.map { row in
                .object(
                    row.values.enumerated().map { offset, text in
                        let value: JSONValue =
                            text.map { kinds[offset] == .numeric || kinds[offset] == .year ? number($0) : .string($0) }
                            ?? .null
                        return (groups.columns[offset], value)
                    } + [("count", .integer(Int64(row.count)))])
            }
            if style.format == .ndjson {
                rendered.data = objects.map { $0.serialized() + "\n" }.joined()
                if cut { rendered.notes.append(summary) }
            } else {
                rendered.data =
                    JSONValue.object([
                        ("groups", .array(objects)), ("returned", .integer(Int64(groups.rows.count))),
                        ("total", .integer(Int64(groups.totalGroups))),
                    ]).serialized() + "\n"
            }
        }
        return rendered
    }

    // MARK: fetch, load

    static func fetchedJSON(_ file: Fetcher.Result) -> JSONValue {
        .object(
            [("id", .string(file.id)), ("path", .string(file.path)), ("size", .integer(Int64(file.size)))]
                + (file.alreadyThere ? [("alreadyThere", JSONValue.bool(true))] : []))
    }

    /// "fetched 3 files (1.2 MB), 12 already there": what was written and what was found.
    static func fetchedSummary(_ files: [Fetcher.Result]) -> String {
        let written = files.filter { !$0.alreadyThere }
        let there = files.count - written.count
        let bytes = written.reduce(0) { $0 + $1.size }
        return "fetched \(plural(written.count, "file")) (\(formatBytes(bytes)))"
            + (there > 0 ? ", \(there) already there with the same bytes" : "")
    }

    static func fetched(_ files: [Fetcher.Result], style: OutputStyle) -> RenderedResult {
        switch style.format {
        case .table:
            return RenderedResult(
                data: table(
                    columns: ["path", "size", "id"], rows: files.map { [$0.path, String($0.size), $0.id] },
                    numeric: [1], style: style) + "(\(fetchedSummary(files)))\n")
        case .csv:
            return RenderedResult(
                data: CSV.render(
                    header: ["path", "size", "id"], rows: files.map { [$0.path, String($0.size), $0.id] }))
        case .json:
            return RenderedResult(
                data: JSONValue.object([("fetched", .array(files.map(fetchedJSON)))]).serialized() + "\n")
        case .ndjson:
            return RenderedResult(data: files.map { fetchedJSON($0).serialized() + "\n" }.joined())
        }
    }

    static func loaded(_ report: LoadReport, style: OutputStyle) -> RenderedResult {
        var rendered = RenderedResult()
        for case .failed(let path, let reason) in report.outcomes {
            rendered.notes.append("cannot load \(path): \(reason)")
        }
        if report.subdirectoriesLeft > 0 {
            rendered.notes.append(
                "left out \(report.subdirectoriesLeft == 1 ? "1 subdirectory" : "\(report.subdirectoriesLeft) subdirectories"); `load … recursive` descends into them"
            )
        }
        if report.hidden > 0 {
            rendered.notes.append(
                "left out \(plural(report.hidden, "hidden name")) (starting with '.'); name a hidden file to load it")
        }
        for (path, notes) in report.repaired {
            let more = notes.count > 1 ? " (and \(notes.count - 1) more)" : ""
            rendered.notes.append("loaded \(path), which is damaged: \(notes[0])\(more); `dql dump` shows all")
        }
        if let durability = report.durability {
            let volatile = durability.masters.filter { !$0.appendOnly }
            if volatile.count == durability.masters.count {
                rendered.notes.append(
                    "not persisted: the server has no append-only file (appendonly no); a restart loses what was loaded"
                )
            } else if !volatile.isEmpty {
                rendered.notes.append(
                    "not persisted on \(volatile.map(\.endpoint).joined(separator: ", ")): no append-only file there; a restart of those loses what was loaded"
                )
            }
        }
        let seconds = report.elapsed.seconds
        let rate = seconds > 0 ? Double(report.bytesLoaded) / seconds : 0
        switch style.format {
        case .table, .csv:
            var parts = ["loaded \(plural(report.loaded, "file")) (\(formatBytes(report.bytesLoaded)))"]
            if report.alreadyLoaded > 0 { parts.append("\(report.alreadyLoaded) already stored") }
            if !report.repaired.isEmpty { parts.append("\(report.repaired.count) damaged") }
            if report.failed > 0 { parts.append("\(report.failed) failed") }
            let files = report.loaded + report.alreadyLoaded
            rendered.data =
                parts.joined(separator: ", ") + " in \(formatSeconds(seconds))"
                + (report.bytesLoaded > 0 ? ", \(formatBytes(Int(rate)))/s" : "")
                + (files > 1 && seconds > 0 ? ", \(Int((Double(files) / seconds).rounded())) files/s" : "") + "\n"
        case .json, .ndjson:
            var loaded: [JSONValue] = []
            var already: [JSONValue] = []
            var failed: [JSONValue] = []
            for outcome in report.outcomes {
                switch outcome {
                case .loaded(let id, let name, let size):
                    loaded.append(
                        .object([("id", .string(id)), ("name", .string(name)), ("size", .integer(Int64(size)))]))
                case .alreadyLoaded(let id, let name):
                    already.append(.object([("id", .string(id)), ("name", .string(name))]))
                case .failed(let path, let reason):
                    failed.append(.object([("path", .string(path)), ("reason", .string(reason))]))
                }
            }
            rendered.data =
                JSONValue.object([
                    ("loaded", .array(loaded)), ("alreadyLoaded", .array(already)), ("failed", .array(failed)),
                    (
                        "repaired",
                        .array(
                            report.repaired.map {
                                .object([("path", .string($0.path)), ("notes", .array($0.notes.map(JSONValue.string)))])
                            })
                    ),
                    ("bytes", .integer(Int64(report.bytesLoaded))), ("seconds", .real(seconds)),
                    ("interrupted", .bool(report.interruption != nil)),
                ]).serialized() + "\n"
        }
        return rendered
    }

    // MARK: explain, fields, key/value results

    static func explained(
        _ commands: [[String]], _ serverPlan: String?, steps: [String], style: OutputStyle
    )
        -> RenderedResult
    {
        switch style.format {
        case .table, .csv:
            var text = commands.map { $0.map(quoteArgument).joined(separator: " ") + "\n" }.joined()
            // Steps name paths and values: shown, not obeyed (a newline in a name stays `\n`).
            text += steps.map { "-- \(visible($0))\n" }.joined()
            if commands.isEmpty && serverPlan == nil && steps.isEmpty {
                text = "-- no search to explain: it sends no query\n"
            }
            if let serverPlan {
                // The plan repeats the values searched for: shown, not obeyed.
                let shown = visible(serverPlan, keepingLines: true)
                text += "-- server plan (FT.EXPLAIN):\n" + shown + (shown.hasSuffix("\n") ? "" : "\n")
            }
            return RenderedResult(data: text)
        case .json, .ndjson:
            return RenderedResult(
                data: JSONValue.object([
                    ("commands", .array(commands.map { .array($0.map(JSONValue.string)) })),
                    ("serverPlan", serverPlan.map(JSONValue.string) ?? .null),
                    ("steps", .array(steps.map(JSONValue.string))),
                ]).serialized() + "\n")
        }
    }

    /// An argument as redis-cli would accept it: bare when safe, else double-quoted.
    static func quoteArgument(_ argument: String) -> String {
        let safe =
            !argument.isEmpty
            && argument.unicodeScalars.allSatisfy {
                $0.value > 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "'" && $0 != "\\"
            }
        if safe { return argument }
        var quoted = "\""
        for scalar in argument.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    quoted += "\\x" + String(format: "%02x", scalar.value)
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }

    static func fields(_ fields: [FieldSummary], style: OutputStyle) -> RenderedResult {
        let columns = ["field", "type", "operators", "description", "common values"]
        func row(_ field: FieldSummary, separator: String) -> [String] {
            [
                field.name, field.type, field.operators.joined(separator: " "), field.summary,
                field.examples.joined(separator: separator),
            ]
        }
        switch style.format {
        case .table:
            return RenderedResult(
                data: table(
                    columns: columns, rows: fields.map { row($0, separator: ", ") }, numeric: [], style: style),
                notes: [
                    "any other attribute works as a field too, by keyword (SliceThickness) or tag ((0019,10A1)), read from the stored headers; `index KEYWORD` adds one to the index"
                ])
        case .csv:
            return RenderedResult(data: CSV.render(header: columns, rows: fields.map { row($0, separator: "; ") }))
        case .json, .ndjson:
            let objects: [JSONValue] = fields.map {
                .object([
                    ("field", .string($0.name)), ("type", .string($0.type)),
                    ("operators", .array($0.operators.map(JSONValue.string))), ("description", .string($0.summary)),
                    ("commonValues", .array($0.examples.map(JSONValue.string))),
                ])
            }
            if style.format == .ndjson { return RenderedResult(data: objects.map { $0.serialized() + "\n" }.joined()) }
            return RenderedResult(data: JSONValue.array(objects).serialized() + "\n")
        }
    }

    /// Results that are a few named values: a two-column table, a one-row CSV, one object.
    static func keyValues(_ members: [(String, JSONValue)], style: OutputStyle) -> RenderedResult {
        func text(_ value: JSONValue) -> String {
            if case .string(let string) = value { return string }
            return value.serialized()
        }
        switch style.format {
        case .table:
            if members.count == 1 {
                return RenderedResult(
                    data: table(columns: [members[0].0], rows: [[text(members[0].1)]], numeric: [0], style: style))
            }
            let width = members.map { displayWidth($0.0) }.max() ?? 0
            return RenderedResult(
                data: members.map { name, value in
                    name + String(repeating: " ", count: width - displayWidth(name)) + " | " + visible(text(value))
                        + "\n"
                }.joined())
        case .csv:
            return RenderedResult(data: CSV.render(header: members.map(\.0), rows: [members.map { text($0.1) }]))
        case .json, .ndjson:
            return RenderedResult(data: JSONValue.object(members).serialized() + "\n")
        }
    }

    // MARK: stats

    /// The store's totals, then one row per server: on a cluster, per master with its slots.
    static func stats(_ stats: StoreStats, style: OutputStyle) -> RenderedResult {
        var members: [(String, JSONValue)] = [
            ("files", .integer(Int64(stats.files))), ("bytes", .integer(Int64(stats.bytes))),
            ("metadataPerFile", .integer(Int64(stats.metadataPerFile))),
            ("indexMemory", .integer(Int64(stats.indexMemory))),
            ("indexFailures", .integer(Int64(stats.indexFailures))),
            ("serverMemory", .integer(Int64(stats.serverMemory))), ("endpoint", .string(stats.endpoint)),
            ("index", .string(stats.index)), ("cluster", .bool(stats.isCluster)),
        ]
        if stats.isCluster {
            members.append(("documentSpread", .real((stats.documentSpread * 100).rounded() / 100)))
        }
        let failureNote =
            stats.indexFailures > 0
            ? [
                "the index failed to read a document \(stats.indexFailures) time(s) since it was built (a document changed into something it cannot read, say): such a document is invisible to every query until it is mended; `redis-cli FT.INFO \(stats.index)` says which was last"
            ] : []
        let columns =
            (stats.isCluster ? ["shard", "slots"] : ["server"]) + [
                "keys", "documents", "memory", "documentMemory", "indexMemory",
            ]
        let rows = stats.shards.map { shard in
            [shard.endpoint] + (stats.isCluster ? [shard.slots] : []) + [
                String(shard.keys), String(shard.documents), String(shard.memory), String(shard.documentMemory),
                String(shard.indexMemory),
            ]
        }
        switch style.format {
        case .table:
            // People read tables: sizes in units; CSV and JSON keep the numbers.
            let sized: Set<String> = ["bytes", "metadataPerFile", "indexMemory", "serverMemory"]
            let readable = members.map { name, value -> (String, JSONValue) in
                guard sized.contains(name), case .integer(let number) = value else { return (name, value) }
                return (name, .string(formatBytes(Int(number))))
            }
            var rendered = keyValues(readable, style: style)
            let counts = columns.count - 5
            let readableRows = rows.map { row in
                Array(row.prefix(counts + 2)) + row.suffix(3).map { formatBytes(Int($0) ?? 0) }
            }
            rendered.data +=
                "\n" + table(columns: columns, rows: readableRows, numeric: Set(counts..<columns.count), style: style)
            rendered.notes += failureNote
            return rendered
        case .csv:
            // One table per output: the totals, and the servers as a note on stderr.
            var rendered = keyValues(members, style: style)
            rendered.notes += rows.map { zip(columns, $0).map { "\($0)=\($1)" }.joined(separator: " ") }
            rendered.notes += failureNote
            return rendered
        case .json, .ndjson:
            members.append(
                (
                    "shards",
                    .array(
                        stats.shards.map { shard in
                            .object(
                                [("endpoint", .string(shard.endpoint))]
                                    + (stats.isCluster ? [("slots", JSONValue.string(shard.slots))] : []) + [
                                        ("keys", .integer(Int64(shard.keys))),
                                        ("documents", .integer(Int64(shard.documents))),
                                        ("memory", .integer(Int64(shard.memory))),
                                        ("documentMemory", .integer(Int64(shard.documentMemory))),
                                        ("indexMemory", .integer(Int64(shard.indexMemory))),
                                    ])
                        })
                ))
            var rendered = keyValues(members, style: style)
            rendered.notes += failureNote
            return rendered
        }
    }

    // MARK: helpers

    static func table(columns: [String], rows: [[String]], numeric: Set<Int>, style: OutputStyle) -> String {
        let table = TextTable(columns: columns, rows: rows.map { $0.map { visible($0) } }, rightAligned: numeric)
        return style.expands(tableWidth: TextTable.lineWidth(table.widths(fitting: table.rows)))
            ? table.renderExpanded(bold: style.color) : table.render(bold: style.color)
    }

    /// A value as a JSON number when it is one, else as a string.
    static func number(_ text: String) -> JSONValue {
        if let integer = Int64(text) { return .integer(integer) }
        if let real = Double(text), real.isFinite { return .real(real) }
        return .string(text)
    }
}

/// `1.23 MiB`: sizes are binary everywhere in dql, as they are typed (`512KB` is 512 × 1024
/// bytes), and labelled so (KiB, MiB, GiB, TiB).
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    return String(format: value < 10 ? "%.2f" : value < 100 ? "%.1f" : "%.0f", value) + " " + units[unit]
}

func formatSeconds(_ seconds: Double) -> String {
    seconds < 1 ? String(format: "%.1f ms", seconds * 1000) : String(format: "%.2f s", seconds)
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

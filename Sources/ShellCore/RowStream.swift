import DQL
import DicomCore

/// `find` rows rendered as they arrive, a page at a time, in any format: memory stays at a
/// page whatever the size of the result. The table takes its column widths from the first
/// page (later pages widen a column only if they must); JSON opens its `rows` array at the
/// start and closes it at the end. A collected result goes through the same code
/// (``ResultRenderer``), so both print alike.
final class RowStream: RowSink, @unchecked Sendable {
    let style: OutputStyle
    private let write: (String) -> Void
    private var columns: [String] = []
    private var level = Level.instances
    /// Per column: whether its values are numbers, and whether it is a list of values.
    private var numeric: [Bool] = []
    private var lists: [Bool] = []
    /// Rows are files, each with its id (SHA-256) in CSV and JSON unless a column is the id.
    private var withId: Bool { level == .instances && !columns.contains("id") }
    private var table = TextTable(columns: [], rows: [])
    private var widths: [Int] = []
    private var rowsWritten = 0
    /// Whether the table is expanded, decided at its first page.
    private var expanded: Bool?

    init(style: OutputStyle, write: @escaping (String) -> Void) {
        self.style = style
        self.write = write
    }

    func begin(columns: [String], total: Int, level: Level) {
        self.columns = columns
        self.level = level
        if level == .instances {
            let fields = columns.map { Schema.field(named: $0) ?? AttributeFields.field(named: $0) }
            numeric = fields.map { $0?.kind == .numeric || $0?.kind == .year }
            // Values of several are shown with `\\` between them, which no value of these
            // VRs holds (only the long texts LT, ST and UT may, and a file name).
            lists = fields.map { field in field?.isOneValue != true && ![VR.LT, .ST, .UT].contains(field?.vr ?? .LO) }
        } else {
            numeric = columns.map { level.column(named: $0)?.isNumeric ?? false }
            lists = columns.map { level.column(named: $0)?.isList ?? false }
        }
        table = TextTable(columns: columns, rows: [], rightAligned: Set(numeric.indices.filter { numeric[$0] }))
        switch style.format {
        // Every file's row carries its id (the file's SHA-256), last, unless a column is the id.
        case .csv: write(CSV.line(columns + (withId ? ["id"] : [])))
        case .json: write("{\"rows\":[")
        case .table, .ndjson: break
        }
    }

    func page(ids: [String], rows: [[String?]]) {
        switch style.format {
        case .table:
            let cells = rows.map { $0.map { visible($0 ?? "") } }
            // The first page decides, from its widths, whether `\x auto` expands the rows.
            if expanded == nil {
                expanded = style.expands(tableWidth: TextTable.lineWidth(table.widths(fitting: cells)))
            }
            if expanded == true {
                var block = table
                block.rows = cells
                write(block.renderExpanded(bold: style.color, firstNumber: rowsWritten + 1))
            } else {
                let first = widths.isEmpty
                widths = table.widths(fitting: cells, minimum: widths)
                if first { write(table.header(widths: widths, bold: style.color)) }
                write(table.body(cells, widths: widths))
            }
        case .csv:
            write(zip(ids, rows).map { id, row in CSV.line(row.map { $0 ?? "" } + (withId ? [id] : [])) }.joined())
        case .ndjson:
            write(zip(ids, rows).map { object(id: $0, row: $1).serialized() + "\n" }.joined())
        case .json:
            let objects = zip(ids, rows).map { object(id: $0, row: $1).serialized() }
            guard !objects.isEmpty else { break }
            write((rowsWritten > 0 ? "," : "") + objects.joined(separator: ","))
        }
        rowsWritten += rows.count
    }

    /// Ends the output (the table's footer, the JSON object's last members) and returns the
    /// notes for stderr.
    func finish(_ found: FoundRows) -> [String] {
        if style.format == .table && expanded != true && widths.isEmpty {
            write(table.header(widths: table.widths(fitting: []), bold: style.color))
        }
        let cut = found.total > found.returned
        let summary =
            cut ? "\(found.returned) of \(found.level.counted(found.total))" : found.level.counted(found.returned)
        var notes: [String] = []
        switch style.format {
        case .table: write("(\(summary))\n")
        case .csv, .ndjson: if cut { notes.append(summary) }
        case .json:
            var members: [(String, JSONValue)] = [
                ("returned", .integer(Int64(found.returned))), ("total", .integer(Int64(found.total))),
            ]
            if !found.fetched.isEmpty {
                members.append(("fetched", .array(found.fetched.map(ResultRenderer.fetchedJSON))))
            }
            // The members after `rows`, written as the rest of one object.
            let rest = JSONValue.object(members).serialized().dropFirst()
            write("]," + rest + "\n")
        }
        if !found.fetched.isEmpty && style.format != .json {
            notes.append(ResultRenderer.fetchedSummary(found.fetched))
        }
        return notes
    }

    /// A row as a JSON object: its id (unless a column is the id), then each column, numbers
    /// as numbers.
    private func object(id: String, row: [String?]) -> JSONValue {
        .object(
            (withId ? [("id", JSONValue.string(id))] : [])
                + row.enumerated().map { offset, text in
                    let value: JSONValue =
                        text.map { text in
                            let parts = text.split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
                            if lists[offset] && (parts.count > 1 || level != .instances) {
                                return .array(parts.map { numeric[offset] ? ResultRenderer.number($0) : .string($0) })
                            }
                            return numeric[offset] ? ResultRenderer.number(text) : .string(text)
                        }
                        ?? .null
                    return (columns[offset], value)
                })
    }
}

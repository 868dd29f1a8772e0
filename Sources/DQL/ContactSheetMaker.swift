import DicomImage
import Foundation
import RedisIO

/// `find … preview`: the files a `find` lists, each read and decoded as `preview` does it, in
/// a grid with their names. A file that cannot be shown is a crossed-out cell and a line saying
/// why; the sheet is still made. With `to FILE.png` the grid is written as one PNG.
extension Executor {
    /// Pixels on the side of a cell of a PNG sheet when the statement does not say.
    static let contactSheetCellSize = 128

    func contactSheet(
        _ listing: Plan, _ options: PictureOptions, hasIndex: Bool, context: StatementContext
    ) throws -> ContactSheet {
        // The rows are not shown: only their files are wanted.
        let quiet = StatementContext(
            profile: context.profile, activity: context.activity, isCancelled: context.isCancelled, note: context.note)
        guard case .rows(let found) = try run(listing, hasIndex: hasIndex, context: quiet) else {
            throw ExecutionError(.statementFailed("a contact sheet is made from the files a `find` lists"))
        }
        var cellOptions = options
        cellOptions.file = nil
        cellOptions.size = options.size ?? Self.contactSheetCellSize
        var cells: [PictureGrid.Cell] = []
        var problems: [ContactSheet.Problem] = []
        // Names from the rows (their first name), for the files that cannot be read.
        let nameColumn = found.columns.firstIndex(of: "name")
        for (position, id) in found.ids.enumerated() {
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            do {
                let preview = try picture(ofFile: id, cellOptions, context: context)
                cells.append(PictureGrid.Cell(picture: preview.picture, label: preview.name))
            } catch let failure as PictureFailure {
                // What is wrong with one file is said, and the others are shown.
                cells.append(PictureGrid.Cell(picture: nil, label: failure.name))
                problems.append(ContactSheet.Problem(name: failure.name, reason: failure.reason))
            } catch let error as ExecutionError {
                // A file gone from under the listing: named as the rows name it.
                let listed = nameColumn.flatMap { position < found.rows.count ? found.rows[position][$0] : nil }
                let name = listed.map { String($0.split(separator: "\\").first ?? "") } ?? id
                cells.append(PictureGrid.Cell(picture: nil, label: name))
                problems.append(ContactSheet.Problem(name: name, reason: error.kind.text))
            }
        }
        var sheet = ContactSheet(
            cells: cells, problems: problems, total: found.total, cellSize: options.size, file: nil, columns: nil)
        if options.file != nil, cells.isEmpty {
            throw ExecutionError(
                .statementFailed(
                    found.total == 0
                        ? "no file matches, so no contact sheet was written"
                        : "none of the \(found.total) matching files is in the rows asked for (limit and offset), so no contact sheet was written"
                ))
        }
        if let file = options.file {
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            let path = try Self.pngPath(file)
            let columns = PictureGrid.columns(for: cells.count)
            let picture = PictureGrid.compose(
                cells, cellSize: options.size ?? Self.contactSheetCellSize, columns: columns, labelled: true)
            let png = try PNGEncoder.encode(picture)
            if context.isCancelled() { throw ChunkTransferError.cancelled }
            try Self.writeAtomically(png, to: path) {
                ExecutionError(.statementFailed("cannot write the contact sheet to \(path): \($0)"))
            }
            sheet.file = path
            sheet.columns = columns
        }
        return sheet
    }
}

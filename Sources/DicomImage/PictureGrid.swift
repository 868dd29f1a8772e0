/// Pictures laid out in a grid, each centred in a square cell with its name under it: the
/// contact sheet of `find … preview`.
public enum PictureGrid {
    /// One picture of a sheet, or none (the file could not be shown), and its name.
    public struct Cell: Sendable, Equatable {
        public var picture: Picture?
        public var label: String

        public init(picture: Picture?, label: String) {
            self.picture = picture
            self.label = label
        }
    }

    /// The background between and behind the pictures.
    static let background: (UInt8, UInt8, UInt8) = (24, 24, 24)
    /// Pixels of the strip under a picture that holds its name.
    public static let labelHeight = BitmapFont.glyphHeight + 4

    /// Columns for a sheet of `count` pictures: as square as it can be (50 pictures: 8 × 7).
    public static func columns(for count: Int) -> Int {
        var columns = 1
        while columns * columns < count { columns += 1 }
        return columns
    }

    /// The sheet: cells `cellSize` pixels square, `columns` to a row, `gap` pixels around
    /// each, the names under them when `labelled`. Each picture is scaled to fill its cell
    /// (keeping its shape); a cell without one is drawn crossed out.
    public static func compose(
        _ cells: [Cell], cellSize: Int, columns: Int, labelled: Bool, gap: Int = 4
    ) -> Picture {
        let columns = max(1, min(columns, cells.count))
        let rows = (cells.count + columns - 1) / columns
        let cellHeight = cellSize + (labelled ? labelHeight : 0)
        let width = columns * (cellSize + gap) + gap
        let height = max(1, rows * (cellHeight + gap) + gap)
        var sheet = Picture(
            width: width, height: height, channels: 3,
            pixels: Array(
                repeatElement([background.0, background.1, background.2], count: width * height).joined()))
        for (index, cell) in cells.enumerated() {
            let left = gap + (index % columns) * (cellSize + gap)
            let top = gap + (index / columns) * (cellHeight + gap)
            if let picture = cell.picture?.fitted(to: cellSize, enlarging: true) {
                let x = left + (cellSize - picture.width) / 2
                let y = top + (cellSize - picture.height) / 2
                for row in 0..<picture.height {
                    for column in 0..<picture.width {
                        let colour = picture.rgb(column, row)
                        let at = ((y + row) * width + x + column) * 3
                        sheet.pixels[at] = colour.0
                        sheet.pixels[at + 1] = colour.1
                        sheet.pixels[at + 2] = colour.2
                    }
                }
            } else {
                for step in 0..<cellSize {
                    for (x, y) in [(left + step, top + step), (left + cellSize - 1 - step, top + step)] {
                        let at = (y * width + x) * 3
                        sheet.pixels[at] = 140
                        sheet.pixels[at + 1] = 48
                        sheet.pixels[at + 2] = 48
                    }
                }
            }
            if labelled {
                let text = BitmapFont.fitted(cell.label, width: cellSize)
                let textWidth = text.count * BitmapFont.advance - 1
                BitmapFont.draw(
                    text, into: &sheet, x: left + max(0, (cellSize - textWidth) / 2), y: top + cellSize + 2,
                    colour: (225, 225, 225))
            }
        }
        return sheet
    }
}

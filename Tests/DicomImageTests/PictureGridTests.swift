import Foundation
import TestSupport
import Testing

@testable import DicomImage

/// Contact sheets: the grid's geometry, each picture in its cell, names under them, crossed-out
/// cells for files that could not be shown, and the 5×7 font.
@Suite struct PictureGridTests {
    /// A picture of one colour.
    static func plain(_ width: Int, _ height: Int, grey: UInt8) -> Picture {
        Picture(width: width, height: height, channels: 1, pixels: Array(repeating: grey, count: width * height))
    }

    @Test func fiftyPicturesMakeAGridOfEightBySeven() throws {
        #expect(PictureGrid.columns(for: 50) == 8)
        #expect(PictureGrid.columns(for: 1) == 1)
        #expect(PictureGrid.columns(for: 4) == 2)
        #expect(PictureGrid.columns(for: 5) == 3)
        let cells = (0..<50).map { PictureGrid.Cell(picture: Self.plain(10, 20, grey: UInt8($0 * 5)), label: "f\($0)") }
        let sheet = PictureGrid.compose(cells, cellSize: 32, columns: 8, labelled: true)
        #expect(sheet.channels == 3)
        #expect(sheet.width == 8 * (32 + 4) + 4)
        #expect(sheet.height == 7 * (32 + PictureGrid.labelHeight + 4) + 4)
        // Each picture fills its cell's height (enlarged, shape kept: 16×32), centred; the
        // middle of cell n has its grey.
        for index in [0, 7, 8, 49] {
            let x = 4 + (index % 8) * 36 + 16
            let y = 4 + (index / 8) * (32 + PictureGrid.labelHeight + 4) + 16
            #expect(sheet.rgb(x, y) == (UInt8(index * 5), UInt8(index * 5), UInt8(index * 5)), "cell \(index)")
            // Left of the 16-pixel-wide picture: background.
            #expect(sheet.rgb(x - 12, y) == PictureGrid.background, "cell \(index)")
        }
        // The last row holds two pictures: the rest of it is background.
        #expect(sheet.rgb(4 + 2 * 36 + 16, 4 + 6 * (32 + PictureGrid.labelHeight + 4) + 16) == PictureGrid.background)
    }

    @Test func namesAreDrawnUnderTheirPicturesAndCrossedOutCellsMarked() throws {
        let cells = [
            PictureGrid.Cell(picture: Self.plain(8, 8, grey: 0), label: "a.dcm"),
            PictureGrid.Cell(picture: nil, label: "broken.dcm"),
        ]
        let sheet = PictureGrid.compose(cells, cellSize: 64, columns: 2, labelled: true)
        func lit(_ left: Int, _ top: Int, _ width: Int, _ height: Int) -> Int {
            var count = 0
            for y in top..<(top + height) {
                for x in left..<(left + width) where sheet.rgb(x, y) == (225, 225, 225) { count += 1 }
            }
            return count
        }
        // "a.dcm" and "broken.dcm" in the strips under the cells, nothing lit in the cells.
        #expect(lit(4, 4 + 64, 64, PictureGrid.labelHeight) > 20)
        #expect(lit(4 + 68, 4 + 64, 64, PictureGrid.labelHeight) > lit(4, 4 + 64, 64, PictureGrid.labelHeight))
        #expect(lit(4, 4, 64, 64) == 0)
        // The second cell's diagonals.
        #expect(sheet.rgb(4 + 68, 4) == (140, 48, 48))
        #expect(sheet.rgb(4 + 68 + 63, 4 + 63) == (140, 48, 48))
        #expect(sheet.rgb(4 + 68 + 63, 4) == (140, 48, 48))
        // Unlabelled: no strips.
        #expect(PictureGrid.compose(cells, cellSize: 64, columns: 2, labelled: false, gap: 1).height == 66)
    }

    @Test func theFontDrawsEveryPrintableCharacterAndFitsLongNames() throws {
        // Every glyph from `!` to `~` lights something; space lights nothing; others are `?`.
        for code in 0x21...0x7E {
            let character = Character(Unicode.Scalar(UInt8(code)))
            #expect(BitmapFont.rows(of: character).count == 7)
            #expect(BitmapFont.rows(of: character).contains { $0 != 0 }, "\(character)")
            #expect(BitmapFont.rows(of: character).allSatisfy { $0 < 0x20 }, "\(character)")
        }
        #expect(BitmapFont.rows(of: " ").allSatisfy { $0 == 0 })
        #expect(BitmapFont.rows(of: "é") == BitmapFont.rows(of: "?"))
        // 64 pixels hold 10 characters: both ends of a long name.
        #expect(BitmapFont.fitted("MR_small_jpeg_ls_lossless.dcm", width: 64) == "MR_sm~.dcm")
        #expect(BitmapFont.fitted("a.dcm", width: 64) == "a.dcm")
        // Drawing past the picture's edges is clipped, never a crash.
        var picture = Picture(width: 4, height: 4, channels: 3, pixels: Array(repeating: 0, count: 48))
        BitmapFont.draw("WWW", into: &picture, x: -3, y: -2, colour: (1, 2, 3))
        #expect(picture.pixels.contains(1))
    }
}

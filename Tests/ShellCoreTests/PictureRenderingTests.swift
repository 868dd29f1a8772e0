import DQL
import DicomImage
import Foundation
import Testing

@testable import ShellCore

/// Pictures as the shell draws them: made to fit the screen in every protocol, and an empty
/// contact sheet drawn as no picture at all.
@Suite struct PictureRenderingTests {
    static let picture = Picture(width: 800, height: 600, channels: 1, pixels: Array(repeating: 90, count: 800 * 600))

    /// The width and height a kitty or iTerm2 sequence's PNG holds.
    static func pngSize(_ drawn: String) throws -> (width: Int, height: Int) {
        let payload: String
        if drawn.hasPrefix("\u{1B}_G") {
            payload = drawn.components(separatedBy: "\u{1B}\\").filter { !$0.isEmpty && $0 != "\n" }.map {
                $0.split(separator: ";", maxSplits: 1).last.map(String.init) ?? ""
            }.joined()
        } else {
            payload = String(try #require(drawn.split(separator: ":", maxSplits: 1).last).dropLast(2))
        }
        let png = [UInt8](try #require(Data(base64Encoded: payload)))
        func number(_ at: Int) -> Int { (0..<4).reduce(0) { $0 << 8 | Int(png[at + $1]) } }
        return (number(16), number(20))
    }

    @Test func aPictureLargerThanTheScreenIsMadeToFitIt() throws {
        for graphics in [TerminalGraphics.kitty, .iterm] {
            var style = OutputStyle()
            style.graphics = graphics
            style.terminalWidth = 40
            style.terminalHeight = 23
            style.cellWidth = 10
            style.cellHeight = 20
            // 400 pixels across, 20 lines of 20 pixels down: the width decides (400 / 800).
            let size = try Self.pngSize(ResultRenderer.drawn(Self.picture, style: style))
            #expect(size == (400, 300), "\(graphics): \(size)")
            // 10 lines of 20 pixels: the height decides (200 / 600).
            style.terminalHeight = 13
            let shorter = try Self.pngSize(ResultRenderer.drawn(Self.picture, style: style))
            #expect(shorter.width == 266 && (198...200).contains(shorter.height), "\(graphics): \(shorter)")
            style.terminalHeight = 23
            // A picture that fits is sent as it is.
            style.terminalWidth = 200
            style.terminalHeight = 100
            #expect(try Self.pngSize(ResultRenderer.drawn(Self.picture, style: style)) == (800, 600))
        }
        var sixel = OutputStyle()
        sixel.graphics = .sixel
        sixel.terminalWidth = 40
        sixel.terminalHeight = 23
        #expect(ResultRenderer.drawn(Self.picture, style: sixel).contains("\"1;1;320;240"))
    }

    @Test func anEmptyContactSheetIsNoPicture() {
        var style = OutputStyle()
        style.graphics = .kitty
        style.terminalWidth = 80
        let rendered = ResultRenderer.contactSheet(
            ContactSheet(cells: [], problems: [], total: 0, cellSize: nil, file: nil, columns: nil), style: style)
        #expect(rendered.data.isEmpty)
        #expect(rendered.notes == ["0 of 0 files"])
    }
}

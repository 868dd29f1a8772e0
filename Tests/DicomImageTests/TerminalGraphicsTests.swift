import Foundation
import Testing

@testable import DicomImage

/// Pictures in terminals with graphics: which protocol a terminal gets, and the escape
/// sequences of kitty's graphics protocol and iTerm2's inline images.
@Suite struct TerminalGraphicsTests {
    @Test func theProtocolFollowsTheTerminal() {
        #expect(TerminalGraphics.detect(["TERM": "xterm-256color"]) == .blocks)
        #expect(TerminalGraphics.detect(["TERM": "xterm-kitty"]) == .kitty)
        #expect(TerminalGraphics.detect(["TERM": "xterm-ghostty"]) == .kitty)
        #expect(TerminalGraphics.detect(["TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"]) == .kitty)
        #expect(TerminalGraphics.detect(["TERM_PROGRAM": "iTerm.app"]) == .iterm)
        #expect(TerminalGraphics.detect(["TERM_PROGRAM": "WezTerm"]) == .iterm)
        #expect(TerminalGraphics.detect(["TERM": "foot"]) == .sixel)
        #expect(TerminalGraphics.detect(["TERM": "xterm-256color", "WT_SESSION": "1"]) == .sixel)
        #expect(TerminalGraphics.detect(["TERM": "xterm", "DQL_GRAPHICS": "sixel"]) == .sixel)
        // tmux and screen pass neither on: half blocks.
        #expect(TerminalGraphics.detect(["TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"]) == .blocks)
        #expect(TerminalGraphics.detect(["TERM": "screen-256color", "TERM_PROGRAM": "iTerm.app"]) == .blocks)
        #expect(TerminalGraphics.detect(["TERM": "tmux-256color", "LC_TERMINAL": "iTerm2"]) == .blocks)
        #expect(TerminalGraphics.detect(["TERM": "xterm-kitty", "STY": "1234.pts-0.host"]) == .blocks)
        // The user decides over all of that.
        #expect(TerminalGraphics.detect(["TERM": "xterm-kitty", "DQL_GRAPHICS": "blocks"]) == .blocks)
        #expect(TerminalGraphics.detect(["TERM": "xterm", "DQL_GRAPHICS": "ITERM"]) == .iterm)
        #expect(TerminalGraphics.detect(["TERM": "xterm", "DQL_GRAPHICS": "nonsense"]) == .blocks)
    }

    @Test func kittyGetsThePNGInChunksOf4096Characters() throws {
        var generator = SystemRandomNumberGenerator()
        let picture = Picture(
            width: 64, height: 64, channels: 3,
            pixels: (0..<(64 * 64 * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let png = try PNGEncoder.encode(picture)
        let drawn = TerminalPicture.kitty(png: png, columns: 40)
        #expect(drawn.hasSuffix("\u{1B}\\\n"))
        let sequences = drawn.dropLast().components(separatedBy: "\u{1B}\\").filter { !$0.isEmpty }
        let encodedLength = (png.count + 2) / 3 * 4
        #expect(encodedLength > 4096)
        #expect(sequences.count == (encodedLength + 4095) / 4096)
        #expect(sequences.first?.hasPrefix("\u{1B}_Gf=100,a=T,q=2,c=40,m=1;") == true)
        #expect(sequences.last?.hasPrefix("\u{1B}_Gm=0;") == true)
        let payload = sequences.map { $0.split(separator: ";", maxSplits: 1).last.map(String.init) ?? "" }
        #expect(payload.dropLast().allSatisfy { $0.count == 4096 })
        #expect(Data(base64Encoded: payload.joined()) == Data(png))
    }

    /// Sixel: DCS q, a palette of colour registers, the bands, ST.
    @Test func sixelIsOneDeviceControlString() throws {
        let picture = Picture(
            width: 20, height: 12, channels: 1, pixels: (0..<240).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let drawn = try #require(TerminalPicture.sixel(picture))
        #expect(drawn.hasPrefix("\u{1B}P"))
        #expect(drawn.contains("q\"1;1;20;12"))
        #expect(drawn.contains("#0;2;"))
        #expect(drawn.hasSuffix("\u{1B}\\\n"))
    }

    @Test func iTermGetsOneInlineImage() throws {
        let png = try PNGEncoder.encode(Picture(width: 2, height: 1, channels: 1, pixels: [0, 255]))
        let drawn = TerminalPicture.iterm(png: png)
        #expect(drawn.hasPrefix("\u{1B}]1337;File=inline=1;size=\(png.count);width=auto;preserveAspectRatio=1:"))
        #expect(drawn.hasSuffix("\u{07}\n"))
        let encoded = try #require(drawn.split(separator: ":", maxSplits: 1).last).dropLast(2)
        #expect(Data(base64Encoded: String(encoded)) == Data(png))
    }
}

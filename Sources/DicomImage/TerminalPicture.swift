import CSixel
import Foundation

/// A ``Picture`` drawn in a terminal with Unicode upper half blocks (▀): each character is two
/// pixels, the upper as the foreground colour and the lower as the background, in 24-bit
/// colour, which every current terminal emulator shows.
public enum TerminalPicture {
    /// The escape sequences and characters that draw `picture` in `columns` characters (rows
    /// follow from the aspect ratio), each line ending with the colours reset.
    /// `lines` caps the height (a picture taller than the screen would scroll away or go
    /// through the pager).
    public static func draw(_ picture: Picture, columns: Int, lines: Int = .max) -> String {
        let scale = max(
            1, Double(picture.width) / Double(max(1, columns)), Double(picture.height) / (2 * Double(max(1, lines))))
        let width = max(1, Int(Double(picture.width) / scale))
        let height = max(1, Int((Double(picture.height) / scale).rounded()))
        var text = ""
        text.reserveCapacity(width * (height / 2 + 1) * 40)
        var y = 0
        while y < height {
            for x in 0..<width {
                let sourceX = min(picture.width - 1, Int(Double(x) * scale))
                let top = picture.rgb(sourceX, min(picture.height - 1, Int(Double(y) * scale)))
                if y + 1 < height {
                    let bottom = picture.rgb(sourceX, min(picture.height - 1, Int(Double(y + 1) * scale)))
                    text += "\u{1B}[38;2;\(top.0);\(top.1);\(top.2)m\u{1B}[48;2;\(bottom.0);\(bottom.1);\(bottom.2)m▀"
                } else {
                    text += "\u{1B}[38;2;\(top.0);\(top.1);\(top.2)m\u{1B}[49m▀"
                }
            }
            text += "\u{1B}[0m\n"
            y += 2
        }
        return text
    }
}

/// How a terminal shows pictures: real pixels through kitty's graphics protocol (kitty,
/// Ghostty), iTerm2's inline images (iTerm2, WezTerm) or sixel (foot, mlterm, contour, Windows
/// Terminal), else half blocks in 24-bit colour, which every current terminal shows.
public enum TerminalGraphics: String, Sendable, Equatable, CaseIterable {
    case blocks, kitty, iterm, sixel

    /// What the terminal has, from its environment; `DQL_GRAPHICS=blocks|kitty|iterm|sixel`
    /// decides instead (xterm shows sixel only when started as a VT340, which its environment
    /// does not tell). Inside tmux or screen, which pass no protocol on unasked, half blocks.
    public static func detect(_ environment: [String: String]) -> TerminalGraphics {
        if let chosen = environment["DQL_GRAPHICS"].flatMap({ TerminalGraphics(rawValue: $0.lowercased()) }) {
            return chosen
        }
        let multiplexed =
            environment["TMUX"] != nil || environment["STY"] != nil
            || ["screen", "tmux"].contains { environment["TERM"]?.hasPrefix($0) == true }
        if multiplexed { return .blocks }
        let term = environment["TERM"] ?? ""
        if term == "xterm-kitty" || term == "xterm-ghostty" || environment["KITTY_WINDOW_ID"] != nil {
            return .kitty
        }
        if environment["TERM_PROGRAM"] == "iTerm.app" || environment["LC_TERMINAL"] == "iTerm2"
            || environment["TERM_PROGRAM"] == "WezTerm"
        {
            return .iterm
        }
        if ["foot", "foot-extra", "mlterm", "contour", "yaft-256color"].contains(term)
            || environment["WT_SESSION"] != nil
        {
            return .sixel
        }
        return .blocks
    }
}

extension TerminalPicture {
    /// `png` shown by kitty's graphics protocol: the PNG in base64, 4096 characters an escape
    /// sequence, scaled to `columns` character cells when given; then a new line.
    public static func kitty(png: [UInt8], columns: Int? = nil) -> String {
        let encoded = Array(base64(png).utf8)
        var text = ""
        var start = 0
        repeat {
            let end = min(encoded.count, start + 4096)
            let more = end < encoded.count ? 1 : 0
            let keys = start == 0 ? "f=100,a=T,q=2\(columns.map { ",c=\($0)" } ?? ""),m=\(more)" : "m=\(more)"
            text += "\u{1B}_G\(keys);" + String(decoding: encoded[start..<end], as: UTF8.self) + "\u{1B}\\"
            start = end
        } while start < encoded.count
        return text + "\n"
    }

    /// `png` shown as an iTerm2 inline image, `columns` character cells wide when given (else
    /// at its own size); then a new line.
    public static func iterm(png: [UInt8], columns: Int? = nil) -> String {
        let width = columns.map(String.init) ?? "auto"
        return "\u{1B}]1337;File=inline=1;size=\(png.count);width=\(width);preserveAspectRatio=1:\(base64(png))\u{07}\n"
    }

    /// `picture` as sixel, quantised to 256 colours by libsixel; then a new line. nil when
    /// libsixel fails.
    public static func sixel(_ picture: Picture) -> String? {
        let rgb =
            picture.channels == 3 ? picture.pixels : picture.pixels.flatMap { [$0, $0, $0] }
        var text: UnsafeMutablePointer<CChar>?
        var length = 0
        let status = rgb.withUnsafeBufferPointer {
            dql_sixel_encode($0.baseAddress, Int32(picture.width), Int32(picture.height), &text, &length)
        }
        guard status == 0, let text else { return nil }
        defer { free(text) }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self) + "\n"
    }

    /// Standard base64 (RFC 4648, padded).
    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}

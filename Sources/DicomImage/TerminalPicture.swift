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

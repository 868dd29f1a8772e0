/// An aligned text table in the psql style, or its expanded form (one line per column), with
/// widths measured in terminal columns so accented and CJK names line up too.
struct TextTable {
    var columns: [String]
    var rows: [[String]]
    /// Columns whose values align right (numbers).
    var rightAligned: Set<Int> = []

    /// ` a | b ` rows under a header and a rule.
    func render(bold: Bool) -> String {
        let widths = widths(fitting: rows)
        return header(widths: widths, bold: bold) + body(rows, widths: widths)
    }

    /// Column widths wide enough for the header, `rows`, and at least `minimum`.
    func widths(fitting rows: [[String]], minimum: [Int] = []) -> [Int] {
        var widths = columns.map(displayWidth)
        for (index, width) in minimum.enumerated() where index < widths.count {
            widths[index] = max(widths[index], width)
        }
        for row in rows {
            for (index, value) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], displayWidth(value))
            }
        }
        return widths
    }

    /// Terminal columns a line takes with these widths: ` a | b `.
    static func lineWidth(_ widths: [Int]) -> Int {
        widths.reduce(0, +) + 3 * max(0, widths.count - 1) + 1
    }

    /// The header line and the rule under it.
    func header(widths: [Int], bold: Bool) -> String {
        line(columns, widths: widths, header: true, bold: bold)
            + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "\n"
    }

    /// Data lines for `rows`.
    func body(_ rows: [[String]], widths: [Int]) -> String {
        rows.map { line($0, widths: widths, header: false, bold: false) }.joined()
    }

    private func line(_ values: [String], widths: [Int], header: Bool, bold: Bool) -> String {
        var cells: [String] = []
        for (index, width) in widths.enumerated() {
            let value = index < values.count ? values[index] : ""
            let padding = String(repeating: " ", count: max(0, width - displayWidth(value)))
            var cell = header || !rightAligned.contains(index) ? value + padding : padding + value
            if header && bold { cell = "\u{1B}[1m" + cell + "\u{1B}[0m" }
            cells.append(cell)
        }
        return (" " + cells.joined(separator: " | ")).trimmingTrailingSpaces() + "\n"
    }

    /// `-[ RECORD n ]-` blocks with `column | value` lines; numbered from `firstNumber`.
    func renderExpanded(bold: Bool, firstNumber: Int = 1) -> String {
        let nameWidth = columns.map(displayWidth).max() ?? 0
        var output = ""
        for (number, row) in rows.enumerated() {
            let title = "-[ RECORD \(number + firstNumber) ]"
            output += (bold ? "\u{1B}[1m" + title + "\u{1B}[0m" : title) + String(repeating: "-", count: 8) + "\n"
            for (index, name) in columns.enumerated() {
                let value = index < row.count ? row[index] : ""
                let padding = String(repeating: " ", count: nameWidth - displayWidth(name))
                output += (name + padding + " | " + value).trimmingTrailingSpaces() + "\n"
            }
        }
        return output
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// Terminal columns a string takes: wide East Asian characters count two, combining marks and
/// control characters none.
func displayWidth(_ text: String) -> Int {
    var width = 0
    for scalar in text.unicodeScalars {
        let value = scalar.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { continue }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: continue
        default: break
        }
        let wide =
            (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value)
            || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value)
            || (0xFE30...0xFE4F).contains(value) || (0xFF00...0xFF60).contains(value)
            || (0xFFE0...0xFFE6).contains(value) || (0x1F300...0x1F64F).contains(value)
            || (0x20000...0x3FFFD).contains(value)
        width += wide ? 2 : 1
    }
    return width
}

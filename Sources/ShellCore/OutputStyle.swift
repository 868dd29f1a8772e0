import DQL
import DicomImage

/// How results are printed: the format, expanded rows, and whether colour is allowed.
struct OutputStyle: Equatable {
    var format: OutputFormat = .table
    var expanded = ExpandedMode.off
    var color = false
    /// Columns of the terminal the results go to; nil when they go to a file or a pipe.
    var terminalWidth: Int?
    /// Lines of the terminal, when results go to one.
    var terminalHeight: Int?
    /// How that terminal shows pictures.
    var graphics = TerminalGraphics.blocks
    /// Pixels of one character cell of that terminal, as it says (else a common 8 × 16).
    var cellWidth = 8
    var cellHeight = 16

    /// Whether a table `width` columns wide is shown expanded (one line per column).
    func expands(tableWidth width: Int) -> Bool {
        switch expanded {
        case .on: true
        case .off: false
        case .auto: terminalWidth.map { width > $0 } ?? false
        }
    }
}

/// `\x on|off|auto`: tables as rows, as one line per column, or expanded only when wider than
/// the terminal.
enum ExpandedMode: String, CaseIterable, Equatable {
    case off, on, auto
}

/// A statement's printed form: data for stdout and notes (summaries that are not data, such
/// as "3 of 12 files" next to CSV rows) for stderr.
struct RenderedResult: Equatable {
    var data = ""
    var notes: [String] = []
}

import DQL

/// How results are printed: the format, expanded rows, and whether colour is allowed.
struct OutputStyle: Equatable {
    var format: OutputFormat = .table
    var expanded = false
    var color = false
}

/// A statement's printed form: data for stdout and notes (summaries that are not data, such
/// as "3 of 12 files" next to CSV rows) for stderr.
struct RenderedResult: Equatable {
    var data = ""
    var notes: [String] = []
}

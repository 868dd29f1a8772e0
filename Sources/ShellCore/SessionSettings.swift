import DQL

/// Everything a session is set to, in one value: how results look, what is reported, whether
/// deletes are confirmed, and the settings statements run with. It outlives connections, so
/// `\connect` keeps it whole.
struct SessionSettings: Equatable {
    var style = OutputStyle()
    var timing = false
    /// Keep going after a failed statement in a script (the REPL always does).
    var continueOnError = false
    /// Ask before a delete in an interactive session (`--yes` or `set confirm off` skip it).
    var confirm = true
    var showProgress = true
    /// When results on a terminal go through the pager.
    var pager = PagerMode.auto
    /// Chunk size, connections, window and timeout.
    var execution = ExecutionSettings()

    /// The settings with a statement's `set` applied.
    func with(_ setting: Setting) -> SessionSettings {
        var copy = self
        switch setting {
        case .format(let format): copy.style.format = format
        case .timing(let on): copy.timing = on
        case .confirm(let on): copy.confirm = on
        case .chunkSize, .connections, .window, .timeout, .replicas: copy.execution = execution.with(setting)
        }
        return copy
    }

    /// What a setting is now, for the line the shell prints after `set`.
    static func describe(_ setting: Setting) -> String {
        switch setting {
        case .chunkSize(let size): "chunk is \(formatSize(size))"
        case .connections(let count): "connections is \(count)"
        case .window(let count): "window is \(count)"
        case .timeout(let milliseconds): "timeout is \(milliseconds) ms"
        case .replicas(let count): "replicas is \(count)"
        case .format(let format): "format is \(format.rawValue)"
        case .timing(let on): "timing is \(on ? "on" : "off")"
        case .confirm(let on): "confirm is \(on ? "on" : "off")"
        }
    }
}

/// The session settings (`set NAME VALUE`) and the per-statement options that share them
/// (`load … chunk 1MB connections 4`): one table with each setting's values and limits, read
/// by the parser, the executor, completion and help.
public enum SettingName: String, CaseIterable, Sendable {
    case chunk, connections, window, timeout, replicas, format, timing, confirm

    /// The setting a word names, ignoring case and accepting the older spellings.
    public init?(word: String) {
        let lowered = word.lowercased()
        if let name = SettingName(rawValue: lowered) {
            self = name
        } else if let name = Self.allCases.first(where: { $0.definition.aliases.contains(lowered) }) {
            self = name
        } else {
            return nil
        }
    }

    public var definition: SettingDefinition {
        switch self {
        case .chunk:
            SettingDefinition(
                value: .size(ExecutionSettings.chunkSizes), aliases: ["chunksize"],
                summary: "chunk size for new files")
        case .connections:
            SettingDefinition(
                value: .count(ExecutionSettings.connectionCounts), summary: "connections a load or fetch uses at once")
        case .window:
            SettingDefinition(
                value: .count(ExecutionSettings.windows), summary: "chunk commands in flight per connection")
        case .timeout:
            SettingDefinition(
                value: .milliseconds(ExecutionSettings.timeouts),
                summary: "the server's time limit for a query, and a load's for its writes to reach the disks")
        case .replicas:
            SettingDefinition(
                value: .count(ExecutionSettings.replicaCounts),
                summary: "replicas a load waits for to have its writes (WAITAOF/WAIT), besides the server's own disk")
        case .format:
            SettingDefinition(
                value: .choice(OutputFormat.allCases.map(\.rawValue)), summary: "how results are printed")
        case .timing:
            SettingDefinition(value: .onOff, summary: "print each statement's time and its phases")
        case .confirm:
            SettingDefinition(
                value: .onOff, summary: "ask before a delete in an interactive session (scripts never ask)")
        }
    }
}

/// What a setting takes, and its limits.
public struct SettingDefinition: Sendable {
    public enum Value: Sendable {
        /// Bytes, written as a size (`512KB`) or a whole number.
        case size(ClosedRange<Int>)
        case count(ClosedRange<Int>)
        case milliseconds(ClosedRange<Int>)
        case choice([String])
        case onOff
    }

    public var value: Value
    /// Other names the setting answers to.
    public var aliases: [String] = []
    public var summary: String

    /// How the value is written, for help: `SIZE (4KiB to 16MiB)`.
    public var valueSyntax: String {
        switch value {
        case .size(let range): "SIZE (\(formatSize(range.lowerBound)) to \(formatSize(range.upperBound)))"
        case .count(let range): "N (\(range.lowerBound) to \(range.upperBound))"
        case .milliseconds(let range): "MS (\(range.lowerBound) to \(range.upperBound))"
        case .choice(let choices): choices.joined(separator: "|")
        case .onOff: "on|off"
        }
    }

    /// The allowed values in words, for messages: "a size from 4KiB to 16MiB".
    public var allowed: String {
        switch value {
        case .size(let range): "a size from \(formatSize(range.lowerBound)) to \(formatSize(range.upperBound))"
        case .count(let range): "a whole number from \(range.lowerBound) to \(range.upperBound)"
        case .milliseconds(let range):
            "a whole number of milliseconds from \(range.lowerBound) to \(range.upperBound)"
        case .choice(let choices): "one of " + choices.joined(separator: ", ")
        case .onOff: "on or off"
        }
    }
}

/// The settings a statement runs with: chunk size, connections, window, timeout. One value,
/// so it can be kept when the shell reconnects.
public struct ExecutionSettings: Sendable, Equatable {
    public var chunkSize = 512 * 1024
    public var connections = 8
    public var window = 8
    public var timeoutMilliseconds = 10_000
    /// Replicas of each master a load waits for (0: the master's own append-only file only).
    public var replicas = 0
    /// What a fetch does where a different file has a name it writes, unless the statement
    /// says (`dql --overwrite`, `--rename`).
    public var existingFiles = ExistingFiles.refuse

    public init() {}

    /// 4 KiB (below it a file becomes thousands of keys) to 16 MiB (a fetch holds a few
    /// chunks per connection in memory).
    public static let chunkSizes = 4 << 10...16 << 20
    public static let connectionCounts = 1...64
    public static let windows = 1...64
    /// Up to a minute: the connection waits a little longer than that for any reply.
    public static let timeouts = 1...60_000
    public static let replicaCounts = 0...16

    /// The settings with one changed. Only the execution settings change here; `format`,
    /// `timing` and `confirm` are the shell's.
    public func with(_ setting: Setting) -> ExecutionSettings {
        var copy = self
        switch setting {
        case .chunkSize(let size): copy.chunkSize = size
        case .connections(let count): copy.connections = count
        case .window(let count): copy.window = count
        case .timeout(let milliseconds): copy.timeoutMilliseconds = milliseconds
        case .replicas(let count): copy.replicas = count
        case .format, .timing, .confirm: break
        }
        return copy
    }
}

/// `512KiB`, `16MiB`, `4KiB`: sizes as DQL takes them (powers of 1024), labelled so.
public func formatSize(_ bytes: Int) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes >= 1 << shift && bytes % (1 << shift) == 0
    {
        return "\(bytes >> shift)\(unit)"
    }
    return "\(bytes)B"
}

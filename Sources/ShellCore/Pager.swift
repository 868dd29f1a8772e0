import DQL

#if canImport(Glibc)
    import Glibc
#endif

/// When results on a terminal go through the pager (`\pager`, `--no-pager`).
enum PagerMode: String, CaseIterable, Equatable {
    /// Only results longer than the screen (the default, as psql does).
    case auto
    /// Every result on a terminal.
    case on
    /// Never.
    case off
}

/// One statement's results on a terminal, held back until they are longer than the screen and
/// then sent through the pager (`$DQL_PAGER`, `$PAGER`, or `less -FRSX`), which reads them as
/// they come: a 20,000-row `find` streams into it page by page. Short results are written to
/// the terminal as they are. Never used when stdout is not a terminal.
final class PagedOutput {
    private let command: String
    private let screenRows: Int
    private let screenColumns: Int
    private let always: Bool
    private var held = ""
    private var lines = 0
    private var child: ChildProcess?
    /// What the pager was given, while it is small enough to show again if the pager fails
    /// (a command that is not there, `false`): results are never lost without a word.
    private var sent = ""
    private var sentAll = true
    static let keptForFailure = 4 << 20
    /// Set when the pager could not be started or failed: what happened to the results.
    private(set) var failure: String?

    init(command: String, screenRows: Int, screenColumns: Int, always: Bool) {
        self.command = command
        self.screenRows = screenRows
        self.screenColumns = max(1, screenColumns)
        self.always = always
    }

    /// The pager command from the environment: `DQL_PAGER`, else `PAGER`, else `less -FRSX`
    /// (quit if one screen, keep colours, chop long lines, leave the screen as it was) where
    /// `less` is installed. An empty value means no pager, as in psql.
    static func command(environment: [String: String]) -> String? {
        guard let command = environment["DQL_PAGER"] ?? environment["PAGER"] else {
            let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            return path.contains { access("\($0)/less", X_OK) == 0 } ? "less -FRSX" : nil
        }
        return command.trimmingCharacters(in: .whitespaces).isEmpty ? nil : command
    }

    /// Whether the pager was started (the user has seen the results in it).
    var started: Bool { child != nil }

    func write(_ text: String) {
        guard !text.isEmpty else { return }
        if let child {
            keep(text)
            child.input?.write(text)
            return
        }
        if failure != nil { return OutputTarget.standardOutput.write(text) }
        held += text
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            lines += max(1, (displayWidth(String(line)) + screenColumns - 1) / screenColumns)
        }
        // Results certainly too long go to the pager as they come (a long `find` streams into
        // it); ones that may just not fit are decided whole at the end, so a pager that quits
        // when they fit one screen (`less -F`) sees all of them at once.
        if always || lines >= 2 * screenRows { start() }
    }

    /// Writes what is held (through the pager if it is longer than the screen, less the
    /// prompt's line), or ends the pager's input and waits for the user to leave it.
    func finish() {
        if child == nil && failure == nil && lines >= screenRows - 1 { start() }
        if let child {
            // A pager that ended before it was given all (not there, `false`) did not show
            // them; one that read to the end and then failed did.
            let endedEarly =
                child.hasEnded || child.input?.isBroken == true || (child.input?.unreadBytes ?? 0) > 0
            let status = child.finish()
            if status != 0 {
                if sentAll && endedEarly {
                    OutputTarget.standardOutput.write(sent)
                    failure = "\(command) ended with status \(status); the results are shown without it"
                } else if endedEarly {
                    failure = "\(command) ended with status \(status); results it did not show are lost"
                } else {
                    failure = "\(command) ended with status \(status)"
                }
            }
            sent = ""
        } else if !held.isEmpty {
            OutputTarget.standardOutput.write(held)
        }
        held = ""
    }

    private func keep(_ text: String) {
        guard sentAll else { return }
        if sent.utf8.count + text.utf8.count > Self.keptForFailure {
            sentAll = false
            sent = ""
        } else {
            sent += text
        }
    }

    private func start() {
        do {
            let child = try ChildProcess(command: command, pipeInput: true)
            keep(held)
            child.input?.write(held)
            self.child = child
            held = ""
        } catch {
            failure = "\(error)"
            OutputTarget.standardOutput.write(held)
            held = ""
        }
    }
}

import ArgumentParser
import DQL
import Foundation
import RedisIO

/// The `dql` command line: a REPL on a terminal, statements from `-c` and `-f`, or a script
/// piped on stdin; plus the `dump`, `ping` and `server` subcommands.
public struct DQLCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dql",
        abstract: "A query shell for DICOM images stored in Redis.",
        discussion: """
            With no -c or -f, dql reads statements from stdin: interactively with line editing, history \
            and Tab completion on a terminal, as a script otherwise. -c and -f may be repeated and mixed; \
            they run in the order given.

            Exit status: 0 success; 1 a statement failed; 64 bad command line; 69 server unreachable, \
            credentials refused, or modules missing; 130 interrupted (Ctrl-C).
            """,
        version: "dql \(DQLVersion.current)",
        subcommands: [
            DumpCommand.self, PingCommand.self, ServerCommand.self, SpeedTestCommand.self, AclCommand.self,
            ServeCommand.self,
        ]
    )

    // Unconditional: a statement may begin with "-" (a `-- comment`), and must not be taken
    // for an option.
    @Option(
        name: [.customShort("c"), .customLong("command")], parsing: .unconditionalSingleValue,
        help: "Run a statement (repeatable).")
    var commands: [String] = []

    @Option(
        name: [.customShort("f"), .customLong("file")], help: "Run a .dql script; - is stdin (repeatable).",
        completion: .file(extensions: ["dql"]))
    var files: [String] = []

    @Option(
        name: [.customShort("v"), .customLong("set"), .customLong("variable")],
        help: ArgumentHelp(
            "Set a variable for :NAME and :'NAME' in statements (repeatable).", valueName: "NAME=VALUE"))
    var variables: [String] = []

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Print each statement's time and its phases to stderr.")
    var timing = false

    @Option(name: .long, help: "Result format: table, csv, json or ndjson.")
    var format: OutputFormat = .table

    @Flag(name: [.customShort("x"), .customLong("expanded")], help: "One line per column in tables.")
    var expanded = false

    @Flag(name: .long, help: "Never send results through the pager ($DQL_PAGER, $PAGER or less).")
    var noPager = false

    @Flag(name: .long, help: "No colour, even on a terminal (NO_COLOR does the same).")
    var noColor = false

    @Flag(name: .long, help: "Keep running a script after a failed statement (the exit status still reports it).")
    var continueOnError = false

    @Flag(
        name: .long,
        help:
            "A fetch replaces a different file of the same name in its directory (a statement can say overwrite or rename itself)."
    )
    var overwrite = false

    @Flag(name: .long, help: "A fetch writes beside a different file of the same name, as NAME_2.dcm.")
    var rename = false

    @Flag(name: [.customShort("y"), .customLong("yes")], help: "Do not ask before a delete in an interactive session.")
    var yes = false

    @OptionGroup var prefixOption: PrefixOption

    public init() {}

    public func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: RedisConfiguration
        do {
            configuration = try connection.configuration()
        } catch let error as RedisError {
            printError("dql: \(error)")
            throw ExitCode(ExitCodes.usage)
        }
        var settings = SessionSettings()
        settings.style = OutputStyle(
            format: format, expanded: expanded ? .on : .off, color: !noColor && Terminal.colorAllowed())
        settings.timing = timing
        settings.continueOnError = continueOnError
        settings.confirm = !yes
        if noPager { settings.pager = .off }
        // Arguments that are not UTF-8 reach Swift with U+FFFD in place of their bytes: a
        // statement must not run with a value other than the one typed.
        if let bad = commands.first(where: { $0.unicodeScalars.contains("\u{FFFD}") }) {
            printError("dql: -c \(visible(excerpt(bad))): the statement is not valid UTF-8")
            throw ExitCode(ExitCodes.usage)
        }
        if overwrite && rename {
            printError("dql: --overwrite and --rename cannot both be given")
            throw ExitCode(ExitCodes.usage)
        }
        if overwrite { settings.execution.existingFiles = .overwrite }
        if rename { settings.execution.existingFiles = .rename }
        var variables = Variables()
        for assignment in self.variables {
            guard let (name, value) = Variables.assignment(assignment) else {
                printError(
                    "dql: -v \(visible(assignment)): expected NAME=VALUE, NAME a letter or _ then letters, digits and _"
                )
                throw ExitCode(ExitCodes.usage)
            }
            // Arguments that are not UTF-8 reach Swift with U+FFFD in place of their bytes.
            guard !value.unicodeScalars.contains("\u{FFFD}") else {
                printError("dql: -v \(name): the value is not valid UTF-8")
                throw ExitCode(ExitCodes.usage)
            }
            variables[name] = value
        }
        let prefix: String
        switch prefixOption.resolved(environment: environment) {
        case .success(let value): prefix = value
        case .failure(let error):
            printError("dql: \(error.message)")
            throw ExitCode(ExitCodes.usage)
        }
        // The session parses and runs statements: a stack with room to spare for the deepest
        // condition the parser allows.
        let actions = Self.orderedActions(arguments: CommandLine.arguments, commands: commands, files: files)
        let status = try await DedicatedThreads.detach(name: "dql.session", stackSize: 8 << 20) {
            [configuration, settings, variables] in
            let session = Session(configuration: configuration, prefix: prefix, settings: settings)
            session.variables = variables
            return Self.runSession(session, actions: actions, environment: environment)
        }
        if status != ExitCodes.success { throw ExitCode(status) }
    }

    /// Runs the session on a thread of its own (it blocks on the terminal and on Redis).
    static func runSession(_ session: Session, actions: [Action], environment: [String: String]) -> Int32 {
        Interrupt.install()
        if !actions.isEmpty {
            for action in actions {
                switch action {
                case .command(let text):
                    var lines = ScriptLines(text: text)
                    if session.run(lines: &lines, name: nil, interactive: false) == .stop {
                        return session.exitStatus
                    }
                case .file(let path):
                    var lines: ScriptLines
                    do {
                        lines = try ScriptLines(path: path)
                    } catch {
                        printError("dql: \(error)")
                        return ExitCodes.usage
                    }
                    if session.run(lines: &lines, name: path == "-" ? "<stdin>" : path, interactive: false) == .stop {
                        return session.exitStatus
                    }
                }
            }
            return session.exitStatus
        }
        if Terminal.stdinIsTerminal {
            return runInteractive(session, environment: environment)
        }
        var lines = ScriptLines.standardInput()
        _ = session.run(lines: &lines, name: "<stdin>", interactive: false)
        return session.exitStatus
    }

    private static func runInteractive(_ session: Session, environment: [String: String]) -> Int32 {
        do {
            _ = try session.connectedExecutor()
        } catch {
            printError("dql: \(error)")
            return session.code(for: error)
        }
        printError(
            "dql \(DQLVersion.current) on \(session.configuration.url). Type \\help for statements, \\? for meta-commands, \\q to quit."
        )
        let historySize = environment["DQL_HISTSIZE"].flatMap(Int.init) ?? 1000
        var editor = LineEditor(
            historyPath: LineEditor.defaultHistoryPath(environment: environment), historySize: historySize,
            completer: Completer(tagValues: { session.tagValues(of: $0) }))
        _ = session.run(lines: &editor, name: nil, interactive: true)
        return Interrupt.endsSession ? Interrupt.exitCode : ExitCodes.success
    }

    enum Action: Equatable, Sendable {
        case command(String)
        case file(String)
    }

    /// `-c` and `-f` in the order they were given (argument parsing keeps each list in order,
    /// but not how the two interleave).
    static func orderedActions(arguments: [String], commands: [String], files: [String]) -> [Action] {
        var kinds: [Bool] = []  // true: command
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { break }
            if ["-c", "--command"].contains(argument) || argument.hasPrefix("--command=")
                || (argument.hasPrefix("-c") && !argument.hasPrefix("--"))
            {
                kinds.append(true)
                if !argument.contains("=") && argument.count <= 2 || argument == "--command" { index += 1 }
            } else if ["-f", "--file"].contains(argument) || argument.hasPrefix("--file=")
                || (argument.hasPrefix("-f") && !argument.hasPrefix("--"))
            {
                kinds.append(false)
                if !argument.contains("=") && argument.count <= 2 || argument == "--file" { index += 1 }
            } else if ["--url", "--format", "--prefix", "--connect-timeout", "-v", "--set", "--variable"].contains(
                argument)
            {
                index += 1
            }
            index += 1
        }
        guard kinds.filter({ $0 }).count == commands.count, kinds.filter({ !$0 }).count == files.count else {
            return commands.map(Action.command) + files.map(Action.file)
        }
        var commandIterator = commands.makeIterator()
        var fileIterator = files.makeIterator()
        return kinds.compactMap {
            $0 ? commandIterator.next().map(Action.command) : fileIterator.next().map(Action.file)
        }
    }
}

extension OutputFormat: ExpressibleByArgument {}

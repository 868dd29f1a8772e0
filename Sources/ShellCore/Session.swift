import DQL
import DicomCore
import DicomImage
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// One `dql` session: the connection, the settings, where results go, and the loop that runs
/// units of input from any source (the REPL, `-c`, `-f`, `\i`, piped stdin) the same way.
/// Every failure is reported through ``DQLError/rendered(source:file:firstLine:)``: at its
/// place in a script, relative to what was typed in the REPL.
final class Session {
    var settings: SessionSettings
    private(set) var configuration: RedisConfiguration
    let prefix: String

    /// The exit status so far: 0, or the code of the last failure.
    private(set) var exitStatus: Int32 = ExitCodes.success
    private var executor: Executor?
    private var output: OutputTarget = .standardOutput
    private var includeDepth = 0
    /// Tag values per field, for completion; emptied when data changes.
    private var tagValueCache: [String: [String]] = [:]
    /// `\set` and `-v` variables, replaced in statements as `:NAME` and `:'NAME'`.
    var variables = Variables()
    private let environment: [String: String]
    /// The pager of the statement running now, when its results go through one.
    private var activePager: PagedOutput?
    /// The command `\o |COMMAND` writes to.
    private var outputCommand: ChildProcess?
    /// The last statement text run, as written (`\g`, `\e`, `\watch` run it again).
    private(set) var lastStatement: (text: String, line: Int, byte: Int)?
    /// While `\watch` reruns a statement: no pager.
    private var watching = false
    /// Failures reported so far (`\watch` stops at one).
    private var failures = 0
    /// The statement text running now with variables replaced, and as it was written.
    private var located: (interpolation: Interpolation, written: String)?

    init(
        configuration: RedisConfiguration, prefix: String, settings: SessionSettings,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.configuration = configuration
        self.prefix = prefix
        self.settings = settings
        self.environment = environment
    }

    deinit {
        executor?.client.close()
        closeOutput()
    }

    /// What the loop should do after a unit.
    enum Flow {
        case proceed
        /// `\q`, or a script that stops at its first error.
        case stop
    }

    /// Where a unit came from, for diagnostics.
    struct Origin {
        /// The file name shown before positions (a script); nil for the REPL and `-c`, whose
        /// positions are relative to the text itself.
        var name: String?
        var interactive: Bool
        /// Text saved by `\e`: it stops at its first failure, and so does every `\e` that ran
        /// it (an edit that runs `\e` twice must not go on 2^16 times past the limit).
        var edited = false
    }

    // MARK: Running input

    /// Runs every unit from `lines`. Returns `.stop` when the session should end.
    func run(lines source: inout some LineSource, name: String?, interactive: Bool, edited: Bool = false) -> Flow {
        let origin = Origin(name: name, interactive: interactive, edited: edited)
        var reader = StatementReader(holdsCompleteStatements: !interactive) { [unowned self] text in
            (try? variables.interpolate(text, strict: false)) ?? text
        }
        while true {
            // A held statement runs as soon as no further line is there to continue it.
            if reader.isHolding && !source.hasLineReady, let unit = reader.finish() {
                if run(unit, origin: origin) == .stop { return .stop }
            }
            let prompt = reader.isContinuing ? continuationPrompt : prompt
            switch source.readLine(prompt: prompt, pending: reader.pendingText) {
            case .end:
                if !interactive && Interrupt.isPending {
                    return failed(Interrupt.exitCode, "dql: interrupted", origin: origin)
                }
                guard let unit = reader.finish() else { return .proceed }
                source.remember(unit)
                return run(unit, origin: origin)
            case .failed(let reason):
                // A statement read before the line is not run: the line might have gone on
                // with it (a condition split over lines never runs half-read).
                let pending = reader.pendingText.isEmpty ? "" : "; the statement before it was not run"
                return failed(
                    ExitCodes.statement, "dql: \(name ?? "input"): \(reason)\(pending)",
                    origin: Origin(name: name, interactive: false))
            case .interrupted:
                reader.discard()
                if !interactive || Interrupt.endsSession {
                    return failed(
                        Interrupt.exitCode, "dql: interrupted", origin: Origin(name: name, interactive: false))
                }
                Interrupt.clear()
            case .line(let line):
                for unit in reader.feed(line) {
                    source.remember(unit)
                    if run(unit, origin: origin) == .stop { return .stop }
                    if Interrupt.endsSession { return .stop }
                }
            }
        }
    }

    /// Runs one unit; on failure, reports it and says whether to go on.
    func run(_ unit: InputUnit, origin: Origin) -> Flow {
        switch unit.kind {
        case .meta(let wholeLine):
            // The meta-command is the line from its `\` on (a statement may come before `\g`).
            let written = String(String.UnicodeScalarView(wholeLine.unicodeScalars.dropFirst(unit.metaColumn - 1)))
            // Variables in arguments too (`\o :file`); one that is not set stays as written
            // there, as colons in URLs and times must. Errors point into the line as written
            // (`\o :file`, not the file name it became).
            let interpolation =
                (try? variables.interpolation(of: written, strict: false)) ?? Interpolation(text: written)
            let line = interpolation.text
            do {
                return try runMeta(MetaCommand.parse(line), unit: unit, origin: origin)
            } catch let error as MetaCommandError {
                let column = interpolation.writtenColumn(error.column, in: written) + unit.metaColumn - 1
                let offset = wholeLine.unicodeScalars.prefix(column - 1).reduce(0) { $0 + $1.utf8.count }
                let location = SourceLocation(line: 1, column: column, offset: offset)
                let diagnostic = DQLError(.metaCommand(error.message), at: SourceRange(location, location))
                return report(
                    diagnostic, text: RedisURL.maskingPasswords(in: wholeLine), unit: unit, origin: origin,
                    code: ExitCodes.statement)
            } catch {
                // A meta-command that ran into trouble (a file it cannot read, a server that
                // refuses): at its line, like a statement; a connection problem keeps its code.
                let start = SourceLocation(line: 1, column: 1, offset: 0)
                let end = SourceLocation(
                    line: 1, column: wholeLine.unicodeScalars.count + 1, offset: wholeLine.utf8.count)
                let diagnostic = DQLError(.metaCommand("\(error)"), at: SourceRange(start, end))
                let code = (error as? RedisError).map(exitCode(for:)) ?? ExitCodes.statement
                // The line is shown with any password in it masked (`\connect redis://:pw@…`).
                return report(
                    diagnostic, text: RedisURL.maskingPasswords(in: wholeLine), unit: unit, origin: origin, code: code)
            }
        case .statements(let written):
            let interpolation: Interpolation
            do {
                interpolation = try variables.interpolation(of: written, strict: true)
            } catch {
                let range = SourceRange(
                    SourceLocation(byte: error.bytes.lowerBound, in: written),
                    SourceLocation(byte: error.bytes.upperBound, in: written))
                return report(
                    DQLError(.undefinedVariable(error.name), at: range), text: written, unit: unit, origin: origin,
                    code: ExitCodes.statement)
            }
            lastStatement = (written, unit.firstLine, unit.firstByte)
            let text = interpolation.text
            // Diagnostics about the expanded text point at what was written.
            let outer = located
            if !interpolation.replacements.isEmpty { located = (interpolation, written) }
            defer { located = outer }
            let clock = ContinuousClock()
            let parseStart = clock.now
            let (statements, syntaxError) = Parser.parseUntilError(text)
            var parseTime = clock.now - parseStart
            for parsed in statements {
                let flow = execute(parsed, text: text, unit: unit, origin: origin, parseTime: parseTime)
                parseTime = .zero
                if flow == .stop { return .stop }
            }
            if let syntaxError {
                return report(syntaxError, text: text, unit: unit, origin: origin, code: ExitCodes.statement)
            }
            return .proceed
        }
    }

    private func execute(
        _ parsed: ParsedStatement, text: String, unit: InputUnit, origin: Origin, parseTime: Duration
    ) -> Flow {
        if Interrupt.endsSession { return .stop }
        let clock = ContinuousClock()
        let start = clock.now
        Interrupt.clear()
        // A picture goes to the terminal itself: a pager would show its escape sequences.
        if !Self.drawsPicture(parsed.statement) { startPager() }
        defer { finishPager() }
        let style = statementStyle
        let stream = RowStream(style: style) { [self] in emit($0) }
        let confirmDeletes = origin.interactive && settings.confirm
        let context = StatementContext(
            isCancelled: { Interrupt.isPending }, rows: stream,
            confirm: { confirmation in confirmDeletes ? Self.ask(confirmation) : true }, note: { printError($0) })
        context.profile.add(parseTime, to: .compile)
        // A picture is drawn only on a terminal: into a pipe or a file it would be escape
        // sequences nobody asked for. Refused before any work is done.
        if Self.drawsPicture(parsed.statement), style.terminalWidth == nil {
            finishPager()
            let diagnostic = DQLError(
                .statementFailed(
                    "preview draws in a terminal, and the output here is not one; add `to FILE.png` to write a picture"),
                at: parsed.range)
            return report(diagnostic, text: text, unit: unit, origin: origin, code: ExitCodes.statement)
        }
        let result: StatementResult
        do {
            let executor = try connectedExecutor()
            executor.settings = settings.execution
            let bar = ProgressBar.start(
                for: context.activity,
                enabled: settings.showProgress && (Self.movesFiles(parsed.statement) || parsed.statement == .migrate))
            defer { bar?.stop() }
            result = try executor.execute(parsed.statement, context: context)
            settings.execution = executor.settings
        } catch {
            finishPager()
            // Ctrl-C stopped a transfer between chunks, or a wait on the server.
            let cancelled =
                (error as? ChunkTransferError) == .cancelled || (error as? RedisError)?.kind == .cancelled
            if cancelled { Interrupt.clear() }
            // A fetch that stopped part way keeps the files it finished: say how many.
            let done = context.activity.snapshot
            if Self.movesFiles(parsed.statement), !Self.isLoad(parsed.statement), done.filesTotal > 1 {
                printError(
                    "fetched \(done.filesDone) of \(plural(done.filesTotal, "file")) before the statement stopped; each of those is whole and verified"
                )
            }
            if settings.timing {
                printError(TimingReport.line(total: clock.now - start, profile: context.profile.profile))
            }
            let waited = (error as? RedisError).map { " (\($0))" } ?? ""
            let diagnostic =
                cancelled
                ? DQLError(
                    .statementFailed("cancelled\(waited); \(Self.leftAfterCancel(parsed.statement))"), at: parsed.range)
                : Self.diagnostic(
                    for: executor.map { Self.namingFailedMasters(error, $0.client) } ?? error, at: parsed.range)
            return report(
                diagnostic, text: text, unit: unit, origin: origin,
                code: cancelled ? Interrupt.exitCode : code(for: error))
        }
        apply(result)
        var notes: [String]
        if case .rows(let found) = result, found.streamed {
            notes = stream.finish(found)
        } else {
            let rendered = ResultRenderer.render(result, style: style)
            emit(rendered.data)
            notes = rendered.notes
        }
        // The user has left the pager before anything more is printed under the results.
        finishPager()
        for note in notes { printError(note) }
        if settings.timing {
            printError(TimingReport.line(total: clock.now - start, profile: context.profile.profile))
        }
        if let failure = output.takeFailure() {
            let diagnostic = DQLError(
                .statementFailed("cannot write the results to \(output.name): \(failure)"), at: parsed.range)
            return self.report(diagnostic, text: text, unit: unit, origin: origin, code: ExitCodes.statement)
        }
        guard case .loaded(let report) = result else { return .proceed }
        switch report.interruption {
        case .cancelled:
            Interrupt.clear()
            let diagnostic = DQLError(
                .statementFailed("load cancelled; the files in progress were rolled back"), at: parsed.range)
            return self.report(diagnostic, text: text, unit: unit, origin: origin, code: Interrupt.exitCode)
        case .connection(let error):
            // A commit can reach the server and its answer not come back: the summary's
            // counts are then short of what was stored.
            let lost =
                error.isConnectionFailure
                ? "; files in progress may have been stored before the connection was lost: load again to"
                    + " finish and count them (`vacuum` removes what was left half-written)" : ""
            let diagnostic = DQLError(.statementFailed("load stopped: \(error)\(lost)"), at: parsed.range)
            return self.report(diagnostic, text: text, unit: unit, origin: origin, code: code(for: error))
        case .suspended(let seconds):
            let diagnostic = DQLError(
                .statementFailed("load stopped: \(LoadLeaseError.suspended(seconds: seconds))"), at: parsed.range)
            return self.report(diagnostic, text: text, unit: unit, origin: origin, code: ExitCodes.statement)
        case nil:
            if let error = report.durabilityError {
                let diagnostic = DQLError(
                    .statementFailed(
                        "the files are loaded, but the server could not say whether they are on disk: \(error)"),
                    at: parsed.range)
                return self.report(diagnostic, text: text, unit: unit, origin: origin, code: code(for: error))
            }
            if let durability = report.durability, case let missing = durability.unconfirmed(replicas: report.replicas),
                !missing.isEmpty
            {
                let what = missing.map { master in
                    master.appendOnly && !master.onDisk
                        ? "\(master.endpoint) did not confirm them on its disk"
                        : "\(master.endpoint) had \(master.replicas) of \(report.replicas) replicas acknowledge them"
                }
                let diagnostic = DQLError(
                    .statementFailed(
                        "the files are loaded, but not confirmed durable in time: \(what.joined(separator: "; "))"),
                    at: parsed.range)
                return self.report(diagnostic, text: text, unit: unit, origin: origin, code: ExitCodes.connection)
            }
            guard report.failed > 0 else { return .proceed }
            let diagnostic = DQLError(
                .statementFailed("\(plural(report.failed, "file")) could not be loaded (named above)"),
                at: parsed.range)
            return self.report(diagnostic, text: text, unit: unit, origin: origin, code: ExitCodes.statement)
        }
    }

    /// What a statement stopped by Ctrl-C leaves behind, as the user should hear it.
    static func leftAfterCancel(_ statement: Statement) -> String {
        switch statement {
        case .index(let reference):
            "\(reference.field.name) stays out of use until `index \(reference.field.name)` runs to the end"
        case .unindex(let reference):
            "\(reference.field.name) is no longer indexed; `unindex \(reference.field.name)` again removes the values left in some files"
        case .migrate:
            "the store stays readable as it is, part moved; `migrate` again goes on where this one stopped (statements that change the store are refused until then)"
        default: "nothing partial was kept"
        }
    }

    /// A cluster's "CLUSTERDOWN" answer, which any master gives once one has failed, with the
    /// masters the cluster counts as failed.
    static func namingFailedMasters(_ error: Error, _ client: RedisClient) -> Error {
        guard let error = error as? RedisError, error.serverErrorCode == "CLUSTERDOWN" else { return error }
        let failed = client.failedMasters()
        guard !failed.isEmpty else { return error }
        return RedisError(
            error.kind, endpoint: error.endpoint,
            "\(error.message) (the cluster counts \(failed.count == 1 ? "master" : "masters") \(failed.joined(separator: ", ")) as failed)"
        )
    }

    /// Any failure of a statement as a diagnostic: DQL's own keep their place, executor checks
    /// point at what they are about (or the statement), anything else (the server, the disk)
    /// is shown at the statement.
    static func diagnostic(for error: Error, at range: SourceRange) -> DQLError {
        switch error {
        case let error as DQLError: error
        case let error as ExecutionError: DQLError(error.kind, at: error.range ?? range)
        default: DQLError(.statementFailed("\(error)"), at: range)
        }
    }

    /// Asks on the terminal before data goes; anything but yes is no.
    static func ask(_ confirmation: IrreversibleAction) -> Bool {
        switch confirmation {
        case .delete(let files):
            let answer = Terminal.ask("delete \(plural(files, "file"))? [y/N] ")
            // Ctrl-C at the question is a no, and is not left to drop the next line typed.
            if !Interrupt.endsSession { Interrupt.clear() }
            return ["y", "yes"].contains(answer?.trimmingCharacters(in: .whitespaces).lowercased() ?? "")
        }
    }

    static func isLoad(_ statement: Statement) -> Bool {
        if case .load = statement { true } else { false }
    }

    /// Whether the statement draws a picture in the terminal (`preview` or `find … preview`
    /// without `to FILE.png`).
    static func drawsPicture(_ statement: Statement) -> Bool {
        switch statement {
        case .preview(let preview): preview.file == nil
        case .find(let find): find.contactSheet.map { $0.file == nil } ?? false
        default: false
        }
    }

    static func movesFiles(_ statement: Statement) -> Bool {
        switch statement {
        case .load, .fetch: true
        case .find(let find): find.fetchDirectory != nil
        default: false
        }
    }

    /// Settings a statement changed, and caches it invalidated.
    private func apply(_ result: StatementResult) {
        switch result {
        case .settingChanged(let setting):
            settings = settings.with(setting)
            printError(SessionSettings.describe(setting))
        case .loaded, .deleted:
            tagValueCache.removeAll()
        default: break
        }
    }

    // MARK: Meta-commands

    private func runMeta(_ command: MetaCommand, unit: InputUnit, origin: Origin) throws -> Flow {
        let interactive = origin.interactive
        switch command {
        case .timing(let on):
            settings.timing = on ?? !settings.timing
            printError("timing is \(settings.timing ? "on" : "off")")
        case .format(let format):
            if let format { settings.style.format = format }
            printError("format is \(settings.style.format.rawValue)")
        case .expanded(let mode):
            settings.style.expanded = mode ?? (settings.style.expanded == .off ? .on : .off)
            printError("expanded display is \(settings.style.expanded.rawValue)")
        case .pager(let mode):
            if let mode { settings.pager = mode }
            let command = PagedOutput.command(environment: environment)
            printError(
                "pager is \(settings.pager.rawValue)" + (command.map { " (\($0))" } ?? " (PAGER is empty: none)"))
        case .setVariable(let name, let value):
            variables[name] = value
        case .unsetVariable(let name):
            variables[name] = nil
        case .listVariables:
            paged {
                emit(variables.sortedNames.map { "\($0) = \(StringLiteral.quoted(variables[$0] ?? ""))\n" }.joined())
            }
        case .echo(let text):
            let standardOutput = OutputTarget.standardOutput
            standardOutput.write((standardOutput.isTerminal ? visible(text, keepingLines: true) : text) + "\n")
        case .go(let target):
            let given = unit.statement.map { (text: $0, line: unit.statementLine, byte: unit.statementByte) }
            guard let statement = given ?? lastStatement else {
                throw SessionError("\\g: there is no statement to run yet")
            }
            let text = statement.text
            // A statement that does not parse is reported where it is, and no file is created
            // or emptied for it.
            let runs = Parser.parseUntilError((try? variables.interpolate(text, strict: true)) ?? ":").error == nil
            return try runRedirected(to: runs ? target : nil) {
                run(
                    InputUnit(kind: .statements(text), firstLine: statement.line, firstByte: statement.byte),
                    origin: origin)
            }
        case .edit:
            return try edit(unit.statement ?? lastStatement?.text ?? "", origin: origin)
        case .watch(let seconds, let count):
            return try watch(every: seconds, count: count, origin: origin)
        case .include(let path):
            guard includeDepth < Self.maximumNesting else {
                throw SessionError(
                    "\\i nested more than \(Self.maximumNesting) deep (does \(path) include itself?)")
            }
            var file = try ScriptLines(path: path)
            includeDepth += 1
            defer { includeDepth -= 1 }
            let saved = settings.continueOnError
            let flow = run(lines: &file, name: path, interactive: false)
            settings.continueOnError = saved
            if flow == .stop && !interactive { return .stop }
        case .output(let target):
            closeOutput()
            if let target {
                (output, outputCommand) = try open(target)
                printError("results go to \(target)")
            } else {
                printError("results go to stdout")
            }
        case .connect(let text):
            var next = configuration
            if let text { next.url = try RedisURL(parsing: text) }
            let previous = executor
            let previousConfiguration = configuration
            configuration = next
            executor = nil
            let connected: Executor
            do {
                connected = try connectedExecutor()
            } catch {
                // Like psql: a failed \connect keeps the session on the server it had.
                configuration = previousConfiguration
                executor = previous
                throw error
            }
            tagValueCache.removeAll()
            previous?.client.close()
            let shards = connected.client.isCluster ? " (Redis Cluster, \(connected.client.shards.count) masters)" : ""
            printError("connected to \(next.url)\(shards)")
        case .help(let topic):
            let text = try HelpText.text(for: topic)
            paged { emit(text) }
        case .list:
            paged { emit(HelpText.metaCommands) }
        case .quit:
            return .stop
        }
        return .proceed
    }

    // MARK: Output

    /// A file (`\o FILE`, `\g FILE`) or a command's stdin (`|COMMAND`) for results.
    private func open(_ target: String) throws -> (OutputTarget, ChildProcess?) {
        if target.hasPrefix("|") {
            let child = try ChildProcess(
                command: String(target.dropFirst()).trimmingCharacters(in: .whitespaces), pipeInput: true)
            guard let input = child.input else { throw SessionError("cannot write to \(target)") }
            return (input, child)
        }
        guard let expanded = PathExpansion.expand(target) else {
            throw SessionError("cannot write \(target): no such user")
        }
        return (try OutputTarget.create(expanded), nil)
    }

    /// Back to stdout: a file closed, a command's input ended and the command waited for.
    private func closeOutput() {
        output.close()
        output = .standardOutput
        if let command = outputCommand { reportFailure(of: command) }
        outputCommand = nil
    }

    /// Waits for a command results went to, and says so if it failed (it may have lost them):
    /// a failure, as the exit status says.
    private func reportFailure(of command: ChildProcess) {
        let status = command.finish()
        guard status != 0 else { return }
        printError("dql: \(command.name) ended with status \(status); it may not have taken all the results")
        exitStatus = ExitCodes.statement
    }

    /// Runs `body` with results sent to `target` (when given), then back where they went.
    private func runRedirected(to target: String?, _ body: () -> Flow) throws -> Flow {
        guard let target else { return body() }
        let (redirected, command) = try open(target)
        let saved = output
        output = redirected
        defer {
            redirected.close()
            if let command { reportFailure(of: command) }
            output = saved
        }
        return body()
    }

    /// How this statement's results look: colour only where they reach a terminal (never in
    /// a file `\o` or `\g` writes), and the width `\x auto` measures against.
    private var statementStyle: OutputStyle {
        var style = settings.style
        let onTerminal = activePager != nil || output.isTerminal
        style.color = settings.style.color && onTerminal
        let size = onTerminal ? Terminal.size(of: STDOUT_FILENO) : nil
        style.terminalWidth = size?.columns
        style.terminalHeight = size?.rows
        style.graphics = TerminalGraphics.detect(environment)
        if onTerminal, let cell = Terminal.cellPixels(of: STDOUT_FILENO) {
            style.cellWidth = cell.width
            style.cellHeight = cell.height
        }
        return style
    }

    /// Sends what the next statement writes to stdout through the pager, when stdout is a
    /// terminal and the pager is on (never while `\watch` runs).
    private func startPager() {
        guard settings.pager != .off, !watching, output === OutputTarget.standardOutput, output.isTerminal,
            let command = PagedOutput.command(environment: environment)
        else { return }
        // A terminal that does not say its size (a bare pseudo-terminal) counts as 24 × 80.
        let size = Terminal.size(of: STDOUT_FILENO) ?? (24, 80)
        activePager = PagedOutput(
            command: command, screenRows: size.rows, screenColumns: size.columns, always: settings.pager == .on)
    }

    /// Ends the pager's input and waits for the user to leave it. A Ctrl-C pressed in the
    /// pager was the pager's, not a request to stop anything here.
    private func finishPager() {
        guard let pager = activePager else { return }
        activePager = nil
        pager.finish()
        if pager.started { Interrupt.clear() }
        if let failure = pager.failure {
            printError("dql: pager: \(failure); \\pager off or --no-pager turns it off")
        }
    }

    /// Text that is not a statement's result (`\help`, `\set`) through the pager like one.
    private func paged(_ body: () -> Void) {
        startPager()
        body()
        finishPager()
    }

    // MARK: Editing and watching

    /// `\e`: the text in `$VISUAL` or `$EDITOR` (`vi` if neither is set); what the user saves
    /// is run as if typed. Nothing is run when the editor fails or the file was not saved.
    private func edit(_ text: String, origin: Origin) throws -> Flow {
        // What is saved runs like a script: one that runs `\e` again nests, as `\i` does.
        guard includeDepth < Self.maximumNesting else {
            throw SessionError("\\e nested more than \(Self.maximumNesting) deep (does the edited text run \\e?)")
        }
        let editor =
            [environment["VISUAL"], environment["EDITOR"]].compactMap { $0 }.first {
                !$0.trimmingCharacters(in: .whitespaces).isEmpty
            } ?? "vi"
        var template = Array(PathText.join(NSTemporaryDirectory(), "dql-edit-XXXXXX.dql").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemps($0, 4) } ?? -1
        }
        guard descriptor >= 0 else { throw SessionError("\\e: cannot make a temporary file: \(systemMessage(errno))") }
        let path = String(cString: template)
        defer { unlink(path) }
        let file = OutputTarget(pipe: descriptor, command: "")
        file.write(text.isEmpty || text.hasSuffix("\n") ? text : text + "\n")
        file.close()
        let before = modificationTime(of: path)
        let status = try ChildProcess(command: editor + " " + Self.shellQuoted(path), pipeInput: false).finish()
        Interrupt.clear()
        guard status == 0 else {
            throw SessionError("\\e: the editor (\(editor)) ended with status \(status); nothing was run")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw SessionError("\\e: the editor left no file at \(path); nothing was run")
        }
        guard let edited = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SessionError("\\e: what the editor saved (\(path)) is not UTF-8 text; nothing was run")
        }
        guard modificationTime(of: path) != before || edited != text + "\n" else {
            printError("\\e: not saved; nothing was run")
            return .proceed
        }
        guard !edited.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            printError("\\e: empty; nothing was run")
            return .proceed
        }
        // What runs is shown, as psql does.
        printError(edited.hasSuffix("\n") ? String(edited.dropLast()) : edited)
        var lines = ScriptLines(text: edited)
        includeDepth += 1
        defer { includeDepth -= 1 }
        let flow = run(lines: &lines, name: nil, interactive: origin.interactive, edited: true)
        // The outermost edit ends there: a failure in the edited text (or a limit reached
        // deep inside it) stops the chain, not the session at a prompt.
        if origin.edited || flow == .proceed || Interrupt.endsSession { return flow }
        return origin.interactive || settings.continueOnError ? .proceed : .stop
    }

    /// Seconds and nanoseconds of the last change to `path`.
    private func modificationTime(of path: String) -> [Int]? {
        var status = stat()
        return stat(path, &status) == 0 ? [status.st_mtim.tv_sec, status.st_mtim.tv_nsec] : nil
    }

    /// `'…'` for /bin/sh.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `\watch`: the last statement again every `seconds`, under a line with the time, until
    /// `count` runs, a failure, or Ctrl-C (which ends the watch, not the session, at a prompt).
    private func watch(every seconds: Double, count: Int?, origin: Origin) throws -> Flow {
        guard let statement = lastStatement else {
            throw SessionError("\\watch: there is no statement to run yet; run one first")
        }
        watching = true
        defer { watching = false }
        let interval = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE MMM d HH:mm:ss yyyy"
        var runs = 0
        while true {
            runs += 1
            emit("\(formatter.string(from: Date())) (every \(interval)s)\n\n")
            let failuresBefore = failures
            let flow = run(
                InputUnit(kind: .statements(statement.text), firstLine: statement.line, firstByte: statement.byte),
                origin: origin)
            if flow == .stop || failures > failuresBefore { return flow }
            if let count, runs >= count { return .proceed }
            guard Interrupt.sleep(.milliseconds(Int(seconds * 1000))) else {
                if !origin.interactive || Interrupt.endsSession {
                    return failed(Interrupt.exitCode, "dql: interrupted", origin: origin)
                }
                Interrupt.clear()
                return .proceed
            }
            emit("\n")
        }
    }

    // MARK: Connection

    /// The executor, connecting (and checking the server) on first use.
    func connectedExecutor() throws -> Executor {
        if let executor { return executor }
        if configuration.url.database != 0 {
            throw SessionError(
                "\(configuration.url): dql needs database 0; RediSearch indexes only database 0, and the URL selects database \(configuration.url.database)",
                exitCode: ExitCodes.usage)
        }
        let check = try ServerCheck.run(configuration)
        if !check.missingModules.isEmpty {
            throw SessionError(
                "\(configuration.url) lacks module(s) \(check.missingModules.joined(separator: ", ")); dql needs RediSearch (search) and RedisJSON (ReJSON)",
                exitCode: ExitCodes.connection)
        }
        // A cluster is found out here: the client then routes every key to its shard.
        let executor = Executor(
            client: try RedisClient(configuration, connectionsPerServer: 64), layout: StorageLayout(prefix: prefix))
        // For tests of interrupted loads; the default suits real use.
        if let seconds = ProcessInfo.processInfo.environment["DQL_LOAD_LEASE_SECONDS"].flatMap(Int.init), seconds > 0 {
            executor.leaseSeconds = seconds
        }
        self.executor = executor
        return executor
    }

    /// How deep `\i` and `\e` may nest (a script that includes itself stops here).
    static let maximumNesting = 16

    var prompt: String { "dql \(configuration.url.endpoint)> " }
    var continuationPrompt: String {
        String(repeating: " ", count: max(0, prompt.count - 5)) + "...> "
    }

    /// Tag values of `field` from the index, for Tab completion; cached until data changes.
    /// As stored, not from FT.TAGVALS: the tags are not CASESENSITIVE, so FT.TAGVALS gives them
    /// lower-cased, and people expect `CT`, not `ct`.
    func tagValues(of field: Field) -> [String] {
        if let cached = tagValueCache[field.name] { return cached }
        guard let executor = try? connectedExecutor() else { return [] }
        let values = (try? executor.storedValues(of: field, mostCommonFirst: false, max: 10_000)) ?? []
        tagValueCache[field.name] = values
        return values
    }

    /// Writes results. CSV reaches a terminal with control characters shown, as the table
    /// does (JSON escapes them itself), its records ending in plain newlines; to a file or a
    /// pipe every format is written exactly (CSV with CRLF, as RFC 4180 says).
    private func emit(_ text: String) {
        var shown = text
        if (activePager != nil || output.isTerminal) && settings.style.format == .csv {
            shown = visible(text.replacingOccurrences(of: "\r\n", with: "\n"), keepingLines: true)
        }
        if let activePager { activePager.write(shown) } else { output.write(shown) }
    }

    // MARK: Failures

    /// Prints a diagnostic about `text` (the unit's text) and records the failure. In a
    /// script the position is the file's; in the REPL and `-c`, the text's own.
    private func report(_ diagnostic: DQLError, text: String, unit: InputUnit, origin: Origin, code: Int32) -> Flow {
        var diagnostic = diagnostic
        var text = text
        if let located, text == located.interpolation.text {
            diagnostic = located.interpolation.locate(diagnostic, in: located.written)
            text = located.written
        }
        let rendered: String
        if let name = origin.name {
            rendered = diagnostic.shifted(lines: unit.firstLine - 1, bytes: unit.firstByte)
                .rendered(source: text, file: name, firstLine: unit.firstLine)
        } else {
            rendered = diagnostic.rendered(source: text)
        }
        return failed(code, String(rendered.dropLast()), origin: origin)
    }

    /// Records a failure: prints `message` and says whether the input should go on.
    private func failed(_ code: Int32, _ message: String, origin: Origin) -> Flow {
        failures += 1
        printError(message)
        exitStatus = code
        if Interrupt.endsSession || origin.edited { return .stop }
        if origin.interactive || (settings.continueOnError && code != Interrupt.exitCode) { return .proceed }
        return .stop
    }

    func code(for error: Error) -> Int32 {
        switch error {
        case let error as SessionError: error.exitCode
        case let error as RedisError: exitCode(for: error)
        default: ExitCodes.statement
        }
    }
}

/// A problem the session itself reports (a file it cannot open, a server without modules).
struct SessionError: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32

    init(_ description: String, exitCode: Int32 = ExitCodes.statement) {
        self.description = description
        self.exitCode = exitCode
    }
}

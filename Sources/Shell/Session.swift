import DQL
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// One `dql` session: the connection, the settings, where results go, and the loop that runs
/// units of input from any source (the REPL, `-c`, `-f`, `\i`, piped stdin) the same way.
final class Session {
    var style: OutputStyle
    var timing: Bool
    /// Keep going after a failed statement in a script (the REPL always does).
    var continueOnError: Bool
    var showProgress: Bool
    private(set) var configuration: RedisConfiguration
    let prefix: String

    /// The exit status so far: 0, or the code of the last failure.
    private(set) var exitStatus: Int32 = ExitCodes.success
    private var executor: Executor?
    private var output: FileHandle = .standardOutput
    private var outputPath: String?
    private var includeDepth = 0
    /// Tag values per field, for completion; emptied when data changes.
    private var tagValueCache: [String: [String]] = [:]

    init(
        configuration: RedisConfiguration, prefix: String, style: OutputStyle, timing: Bool, continueOnError: Bool,
        showProgress: Bool
    ) {
        self.configuration = configuration
        self.prefix = prefix
        self.style = style
        self.timing = timing
        self.continueOnError = continueOnError
        self.showProgress = showProgress
    }

    deinit { executor?.client.close() }

    /// What the loop should do after a unit.
    enum Flow {
        case proceed
        /// `\q`, or a script that stops at its first error.
        case stop
    }

    // MARK: Running input

    /// Runs every unit from `lines`. `name` is the file name used in diagnostics (nil for the
    /// REPL and `-c`). Returns `.stop` when the session should end.
    func run(lines source: inout some LineSource, name: String?, interactive: Bool) -> Flow {
        var reader = StatementReader()
        while true {
            let prompt = reader.isContinuing ? continuationPrompt : prompt
            switch source.readLine(prompt: prompt, pending: reader.pendingText) {
            case .end:
                guard let unit = reader.finish() else { return .proceed }
                if run(unit, name: name, interactive: interactive) == .stop { return .stop }
                return .proceed
            case .interrupted:
                reader.discard()
                Interrupt.clear()
                if !interactive { return failed(ExitCodes.interrupted, "dql: interrupted", interactive: false) }
            case .line(let line):
                guard let unit = reader.feed(line) else { continue }
                source.remember(unit)
                if run(unit, name: name, interactive: interactive) == .stop { return .stop }
            }
        }
    }

    /// Runs one unit; on failure, reports it and says whether to go on.
    func run(_ unit: InputUnit, name: String?, interactive: Bool) -> Flow {
        switch unit.kind {
        case .meta(let line):
            do {
                return try runMeta(MetaCommand.parse(line), interactive: interactive)
            } catch let error as MetaCommandError {
                let place = (name.map { "\($0):" } ?? "") + "\(unit.firstLine):\(error.column): "
                return failed(ExitCodes.statement, place + "error: " + error.message, interactive: interactive)
            } catch {
                return failed(code(for: error), "dql: \(describe(error))", interactive: interactive)
            }
        case .statements(let text):
            let clock = ContinuousClock()
            let parseStart = clock.now
            let (statements, syntaxError) = Parser.parseUntilError(text)
            var parseTime = clock.now - parseStart
            for parsed in statements {
                let flow = execute(
                    parsed, text: text, unit: unit, name: name, parseTime: parseTime, interactive: interactive)
                parseTime = .zero
                if flow == .stop { return .stop }
            }
            if let syntaxError {
                let shifted = syntaxError.shifted(lines: unit.firstLine - 1, bytes: unit.firstByte)
                let rendered = shifted.rendered(source: text, file: name, firstLine: unit.firstLine)
                return failed(ExitCodes.statement, String(rendered.dropLast()), interactive: interactive)
            }
            return .proceed
        }
    }

    private func execute(
        _ parsed: ParsedStatement, text: String, unit: InputUnit, name: String?, parseTime: Duration,
        interactive: Bool
    ) -> Flow {
        let clock = ContinuousClock()
        let start = clock.now
        Interrupt.clear()
        let context = StatementContext(isCancelled: { Interrupt.isPending })
        context.profile.add(parseTime, to: .compile)
        let result: StatementResult
        do {
            let executor = try connectedExecutor()
            let bar = ProgressBar.start(
                for: context.activity, enabled: showProgress && Self.movesFiles(parsed.statement))
            defer { bar?.stop() }
            result = try executor.execute(parsed.statement, context: context)
        } catch {
            let place = self.place(of: parsed, in: unit, name: name)
            let cancelled = isCancellation(error)
            let message = cancelled ? "cancelled; nothing partial was kept" : describe(error)
            if cancelled { Interrupt.clear() }
            if timing { printError(TimingReport.line(total: clock.now - start, profile: context.profile.profile)) }
            let code = cancelled ? ExitCodes.interrupted : code(for: error)
            return failed(code, place + "error: " + message, interactive: interactive)
        }
        apply(result)
        let rendered = ResultRenderer.render(result, style: style)
        write(rendered.data)
        for note in rendered.notes { printError(note) }
        if timing { printError(TimingReport.line(total: clock.now - start, profile: context.profile.profile)) }
        if case .loaded(let report) = result, let interruption = report.interruption {
            let place = self.place(of: parsed, in: unit, name: name)
            switch interruption {
            case .cancelled:
                Interrupt.clear()
                return failed(
                    ExitCodes.interrupted, place + "error: load cancelled; the file in progress was rolled back",
                    interactive: interactive)
            case .connection(let error):
                return failed(code(for: error), place + "error: load stopped: \(error)", interactive: interactive)
            }
        }
        return .proceed
    }

    /// `file:line:column: ` of a statement in a script; nothing for `-c` text and the REPL,
    /// where the statement is the one just typed.
    private func place(of parsed: ParsedStatement, in unit: InputUnit, name: String?) -> String {
        guard let name else { return "" }
        return "\(name):\(parsed.range.start.line + unit.firstLine - 1):\(parsed.range.start.column): "
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
        case .settingChanged(.format(let format)):
            style.format = format
            printError("format is \(format.rawValue)")
        case .settingChanged(.timing(let on)):
            timing = on
            printError("timing is \(on ? "on" : "off")")
        case .settingChanged(let setting):
            printError("\(setting) set")
        case .loaded, .deleted:
            tagValueCache.removeAll()
        default: break
        }
    }

    // MARK: Meta-commands

    private func runMeta(_ command: MetaCommand, interactive: Bool) throws -> Flow {
        switch command {
        case .timing(let on):
            timing = on ?? !timing
            printError("timing is \(timing ? "on" : "off")")
        case .format(let format):
            if let format { style.format = format }
            printError("format is \(style.format.rawValue)")
        case .expanded(let on):
            style.expanded = on ?? !style.expanded
            printError("expanded display is \(style.expanded ? "on" : "off")")
        case .include(let path):
            guard includeDepth < 16 else {
                throw SessionError("\\i nested more than 16 deep (does \(path) include itself?)")
            }
            guard var file = try ScriptLines(path: path) else {
                throw SessionError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            includeDepth += 1
            defer { includeDepth -= 1 }
            let saved = continueOnError
            let flow = run(lines: &file, name: path, interactive: false)
            continueOnError = saved
            if flow == .stop && !interactive { return .stop }
        case .output(let path):
            if output !== FileHandle.standardOutput { try? output.close() }
            output = .standardOutput
            outputPath = nil
            if let path {
                guard FileManager.default.createFile(atPath: path, contents: nil),
                    let handle = FileHandle(forWritingAtPath: path)
                else { throw SessionError("cannot write \(path): \(String(cString: strerror(errno)))") }
                output = handle
                outputPath = path
                printError("results go to \(path)")
            } else {
                printError("results go to stdout")
            }
        case .connect(let text):
            var url = configuration.url
            if let text { url = try RedisURL(parsing: text) }
            var next = configuration
            next.url = url
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
            if let previous {
                connected.chunkSize = previous.chunkSize
                connected.connections = previous.connections
                connected.compiler.timeoutMilliseconds = previous.compiler.timeoutMilliseconds
                previous.client.close()
            }
            let shards = connected.client.isCluster ? " (Redis Cluster, \(connected.client.shards.count) masters)" : ""
            printError("connected to \(url)\(shards)")
        case .help(let topic):
            write(try HelpText.text(for: topic))
        case .list:
            write(HelpText.metaCommands)
        case .quit:
            return .stop
        }
        return .proceed
    }

    // MARK: Connection

    /// The executor, connecting (and checking the server's modules) on first use.
    func connectedExecutor() throws -> Executor {
        if let executor { return executor }
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

    // MARK: Output and failures

    func write(_ text: String) {
        guard !text.isEmpty else { return }
        output.write(Data(text.utf8))
    }

    /// Records a failure: prints `message` and says whether the input should go on.
    private func failed(_ code: Int32, _ message: String, interactive: Bool) -> Flow {
        printError(message)
        exitStatus = code
        if interactive || (continueOnError && code != ExitCodes.interrupted) { return .proceed }
        return .stop
    }

    func code(for error: Error) -> Int32 {
        switch error {
        case let error as SessionError: error.exitCode
        case let error as RedisError: exitCode(for: error)
        default: ExitCodes.statement
        }
    }

    func isCancellation(_ error: Error) -> Bool {
        (error as? ChunkTransferError) == .cancelled
    }

    func describe(_ error: Error) -> String { "\(error)" }
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

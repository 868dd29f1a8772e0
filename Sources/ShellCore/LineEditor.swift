import CEditLine
import DQL
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The REPL's line source: libedit with a prompt, history kept in a per-user file (one entry
/// per statement, size-limited) and Tab completion.
struct LineEditor: LineSource {
    let historyPath: String?

    /// The completer libedit's C callback consults; set while the editor is in use (one per
    /// process, on the main thread).
    nonisolated(unsafe) static var completer: Completer?
    /// Earlier lines of the statement being typed, for completion context (set by readLine).
    nonisolated(unsafe) static var pendingText = ""

    init(historyPath: String?, historySize: Int, completer: Completer) {
        self.historyPath = historyPath
        // Without a locale, libedit drops every non-ASCII byte.
        if setlocale(LC_CTYPE, "") == nil || String(cString: setlocale(LC_CTYPE, nil)) == "C" {
            setlocale(LC_CTYPE, "C.UTF-8")
        }
        dql_rl_set_name("dql")
        dql_rl_set_catch_signals(0)
        // Before anything initialises libedit: its own reader retries a read that Ctrl-C
        // interrupted, so the line would not end until the next key.
        dql_rl_set_getc(lineEditorGetCharacter)
        Self.completer = completer
        dql_rl_set_completion(lineEditorComplete)
        using_history()
        stifle_history(Int32(clamping: historySize))
        if let historyPath {
            try? FileManager.default.createDirectory(
                atPath: PathText.parent(historyPath), withIntermediateDirectories: true)
            read_history(historyPath)
        }
    }

    mutating func readLine(prompt: String, pending: String) -> LineRead {
        Self.pendingText = pending.isEmpty ? "" : pending + "\n"
        guard let pointer = readline(prompt) else {
            if Interrupt.isPending {
                // SIGTERM or SIGHUP end the session; only Ctrl-C is echoed as one.
                OutputTarget.standardError.write(Interrupt.endsSession ? "\n" : "^C\n")
                return .interrupted
            }
            OutputTarget.standardError.write("\n")
            return .end
        }
        defer { free(pointer) }
        if Interrupt.isPending {
            // Ctrl-C arrived while the line was being edited but readline returned it anyway.
            OutputTarget.standardError.write("^C\n")
            return .interrupted
        }
        return .line(String(cString: pointer))
    }

    /// One history entry per unit: a multi-line statement becomes one line; a `\connect` with
    /// a password is not kept at all.
    mutating func remember(_ unit: InputUnit) {
        let text: String
        switch unit.kind {
        case .meta(let whole):
            let line = whole.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("\\c"), line.contains("@") { return }
            text = line
        case .statements(let statements):
            text = statements.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .joined(separator: " ")
        }
        guard !text.isEmpty else { return }
        add_history(text)
        if let historyPath {
            write_history(historyPath)
            chmod(historyPath, 0o600)
        }
    }

    /// The history file: `$DQL_HISTORY`, else `$XDG_STATE_HOME/dql/history`, else
    /// `~/.local/state/dql/history`.
    static func defaultHistoryPath(environment: [String: String]) -> String? {
        if let path = environment["DQL_HISTORY"] { return path.isEmpty ? nil : path }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/dql/history" }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.local/state/dql/history"
    }
}

/// libedit's completion callback: asks the ``Completer`` and hands back a malloc'd,
/// NULL-terminated array whose first entry is the longest common prefix of the candidates.
private func lineEditorComplete(
    _ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32
) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    guard let completer = LineEditor.completer, let text, let buffer = dql_rl_line_buffer() else { return nil }
    let word = String(cString: text)
    // libedit counts `start` in characters (its wide-character line), not bytes: a value with
    // `á` earlier in the line would otherwise cut the text before the word short.
    var before = ""
    before.unicodeScalars.append(contentsOf: String(cString: buffer).unicodeScalars.prefix(Int(max(0, start))))
    switch completer.complete(word: word, before: LineEditor.pendingText + before) {
    case .candidates(let candidates, let append):
        dql_rl_set_completion_over(1)
        // Set every time: libedit keeps the last one, which would follow the next completion.
        dql_rl_set_append_character(Int32(append?.asciiValue ?? 0))
        guard !candidates.isEmpty else { return nil }
        let common = candidates.dropFirst().reduce(candidates[0]) { prefix, candidate in
            String(zip(prefix, candidate).prefix { $0 == $1 }.map(\.0))
        }
        let count = candidates.count == 1 ? 1 : candidates.count + 1
        guard let array = calloc(count + 1, MemoryLayout<UnsafeMutablePointer<CChar>?>.stride) else { return nil }
        let matches = array.bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: count + 1)
        matches[0] = strdup(candidates.count == 1 ? candidates[0] : common)
        if candidates.count > 1 {
            for (index, candidate) in candidates.enumerated() { matches[index + 1] = strdup(candidate) }
        }
        matches[count] = nil
        return matches
    }
}

/// Reads one character for libedit: a whole UTF-8 sequence decoded to its scalar (libedit
/// takes the value as a wide character), or EOF when Ctrl-C interrupts the read or input ends.
func lineEditorGetCharacter(_ stream: UnsafeMutablePointer<FILE>?) -> Int32 {
    let descriptor = stream.map { fileno($0) } ?? STDIN_FILENO
    func byte() -> Int32? {
        var value: UInt8 = 0
        while true {
            guard Interrupt.waitForInput(on: descriptor) else { return nil }
            let count = read(descriptor, &value, 1)
            if count == 1 { return Int32(value) }
            if count < 0 && errno == EINTR && !Interrupt.isPending { continue }
            return nil
        }
    }
    guard let first = byte() else { return EOF }
    let length: Int
    switch first {
    case 0..<0x80: return first
    case 0xC0..<0xE0: length = 2
    case 0xE0..<0xF0: length = 3
    case 0xF0..<0xF8: length = 4
    default: return 0xFFFD
    }
    var scalar = first & (0xFF >> (length + 1))
    for _ in 1..<length {
        guard let next = byte() else { return EOF }
        guard next & 0xC0 == 0x80 else { return 0xFFFD }
        scalar = scalar << 6 | (next & 0x3F)
    }
    return scalar
}

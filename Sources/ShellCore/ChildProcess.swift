import CSystemCalls
import DQL
import DicomCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A command the shell runs for the user through `/bin/sh -c`: the pager, `\o |cmd`,
/// `\g |cmd` and the editor of `\e`. It gets the terminal (or a pipe from dql on its stdin),
/// no descriptors of dql's own (the Redis connections), no blocked signals and default
/// SIGPIPE/SIGINT handling, as if the user's shell had started it.
final class ChildProcess {
    let pid: pid_t
    /// The command, as `|command` (for messages).
    let name: String
    /// The writing end of its stdin, when it reads from dql.
    let input: OutputTarget?
    private var status: Int32?

    /// Starts `command`; `pipeInput` gives it a pipe on stdin that ``input`` writes to.
    init(command: String, pipeInput: Bool) throws {
        name = "|" + command
        var pipeEnds: [Int32] = [-1, -1]
        if pipeInput {
            guard pipe(&pipeEnds) == 0 else {
                throw SessionError("cannot run \(command): \(systemMessage(errno))")
            }
            // Neither end is inherited by another program (the child gets the reading end as
            // its stdin through dup2, which clears the flag on the copy).
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if pipeInput { posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0) }
        defer { if pipeInput { close(pipeEnds[0]) } }
        do {
            pid = try Self.spawn(["/bin/sh", "-c", command], actions: &actions)
        } catch {
            if pipeInput { close(pipeEnds[1]) }
            throw SessionError("cannot run \(command): \(error)")
        }
        input = pipeInput ? OutputTarget(pipe: pipeEnds[1], command: command) : nil
    }

    /// Starts `arguments` (a path, then its arguments) with `actions` for its descriptors and
    /// none of dql's own beyond them, as a process started afresh: no blocked signals (a
    /// worker thread's mask blocks SIGTERM), and the default action for those dql handles or
    /// ignores (SIGPIPE, SIGINT, SIGQUIT, SIGTERM). The one way dql starts a program.
    static func spawn(_ arguments: [String], actions: inout posix_spawn_file_actions_t) throws -> pid_t {
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGQUIT, SIGTERM] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw SpawnError(code: result) }
        return pid
    }

    /// Why posix_spawn failed.
    struct SpawnError: Error, CustomStringConvertible {
        var code: Int32
        var description: String { String(cString: strerror(code)).lowercased() }
    }

    /// A wait status as a shell gives it: the exit code, or 128 + the signal that ended it.
    private static func exitStatus(_ raw: Int32) -> Int32 {
        raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
    }

    /// Whether it has already ended (without waiting; its status is kept for ``finish()``).
    var hasEnded: Bool {
        if status != nil { return true }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return false }
        status = Self.exitStatus(raw)
        return true
    }

    /// Closes its stdin (if dql writes it) and waits for it to end; its exit status.
    @discardableResult
    func finish() -> Int32 {
        input?.close()
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let code = Self.exitStatus(raw)
        status = code
        return code
    }

    deinit { finish() }
}

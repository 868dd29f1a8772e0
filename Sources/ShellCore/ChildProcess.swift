import CSystem
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
    /// The writing end of its stdin, when it reads from dql.
    let input: OutputTarget?
    private var status: Int32?

    /// Starts `command`; `pipeInput` gives it a pipe on stdin that ``input`` writes to.
    init(command: String, pipeInput: Bool) throws {
        var pipeEnds: [Int32] = [-1, -1]
        if pipeInput {
            guard pipe(&pipeEnds) == 0 else {
                throw SessionError("cannot run \(command): \(systemMessage(errno))")
            }
            // dql's end is not inherited by this child or any later one.
            _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if pipeInput { posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0) }
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
        let words: [String] = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
        if pipeInput { close(pipeEnds[0]) }
        guard result == 0 else {
            if pipeInput { close(pipeEnds[1]) }
            throw SessionError("cannot run \(command): \(String(cString: strerror(result)).lowercased())")
        }
        self.pid = pid
        input = pipeInput ? OutputTarget(pipe: pipeEnds[1], command: command) : nil
    }

    /// Closes its stdin (if dql writes it) and waits for it to end; its exit status.
    @discardableResult
    func finish() -> Int32 {
        if let status { return status }
        input?.close()
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let code = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
        status = code
        return code
    }

    deinit { finish() }
}

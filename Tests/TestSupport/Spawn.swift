import CSystemCalls
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts a program with stdin, stdout and stderr on `terminal` (a path: a pseudo-terminal,
/// or /dev/null), every other inherited descriptor closed (a child that kept another test's
/// pipe open would hang that test), and no signals blocked (threads of the test runner block
/// some, and children inherit the mask). With `newSession`, the child leads a new session,
/// so a terminal it opens becomes its controlling terminal and Ctrl-C reaches it as SIGINT.
public func spawn(
    _ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
    terminal: String = "/dev/null", newSession: Bool = false
) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    // 0x80 is glibc's POSIX_SPAWN_SETSID, hidden from Swift behind _GNU_SOURCE.
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | (newSession ? 0x80 : 0)))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, terminal, O_RDWR, 0)
    posix_spawn_file_actions_adddup2(&actions, 0, 1)
    posix_spawn_file_actions_adddup2(&actions, 0, 2)
    posix_spawn_file_actions_addclosefrom_np(&actions, 3)
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { envp.forEach { free($0) } }
    var child: pid_t = 0
    let result = posix_spawn(&child, arguments[0], &actions, &attributes, argv, envp)
    guard result == 0 else {
        throw TestSetupError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
    }
    return child
}

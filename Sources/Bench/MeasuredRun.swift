import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One run of a program: its wall time and peak resident memory (VmHWM), with
/// stdout and stderr kept in files for error reports.
struct MeasuredRun {
    var seconds: Double
    /// Peak resident set size in bytes.
    var peakMemory: Int
    var stdout: String

    static func run(
        _ arguments: [String], environment: [String: String] = [:], in directory: String
    ) throws
        -> MeasuredRun
    {
        let out = directory + "/run.stdout"
        let err = directory + "/run.stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let start = ContinuousClock.now
        let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else {
            throw ValidationError("cannot run \(arguments[0]): \(String(cString: strerror(result)))")
        }
        // Peak memory from the child's own VmHWM, sampled until it exits: wait4's ru_maxrss
        // would count the parent's memory too (posix_spawn's child shares the parent's
        // address space until exec, and Linux carries that high-water mark across exec).
        var status: Int32 = 0
        var peak = 0
        while true {
            if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
            {
                peak = max(peak, kilobytes * 1024)
            }
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            if waited < 0 && errno != EINTR { break }
            usleep(2_000)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            throw ValidationError("\(arguments.joined(separator: " ")) failed (status \(status >> 8)): \(stderr)")
        }
        return MeasuredRun(seconds: elapsed, peakMemory: peak, stdout: stdout)
    }
}

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
        // Sampled with plain reads into a fixed buffer: this loop shares the machine with the
        // run it measures.
        var status: Int32 = 0
        var peak = 0
        let statusFile = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        defer { if statusFile >= 0 { close(statusFile) } }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if statusFile >= 0 {
                let count = buffer.withUnsafeMutableBytes { pread(statusFile, $0.baseAddress, $0.count, 0) }
                if count > 0, let kilobytes = Self.highWaterMark(in: buffer[..<count]) {
                    peak = max(peak, kilobytes * 1024)
                }
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

    /// The kilobytes on the `VmHWM:` line of a /proc status text.
    static func highWaterMark(in text: ArraySlice<UInt8>) -> Int? {
        let label = Array("VmHWM:".utf8)
        guard let start = text.indices.first(where: { text[$0...].starts(with: label) }) else { return nil }
        var value: Int?
        for byte in text[(start + label.count)...] {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                if value != nil { break }
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            value = (value ?? 0) * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

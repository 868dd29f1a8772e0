import Foundation
import RedisIO
import TestSupport
import Testing

/// `dql server`: the local Redis with its modules, persisted with AOF so stored files survive
/// a restart.
@Suite struct ServerCommandTests {
    @Test func startLoadStopStartAndTheDataIsStillThere() throws {
        let port = try freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-server-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: data) }
        var environment = ["DQL_PREFIX": "persist"]
        if let venv = ProcessInfo.processInfo.environment["DQL_TEST_VENV"] { environment["DQL_VENV"] = venv }
        let place = ["--port", String(port), "--data-dir", data.path]
        func server(_ action: String) throws -> ProcessResult {
            try DQLBinary.run(["server", action] + place, environment: environment)
        }
        defer { _ = try? server("stop") }
        let url = "redis://127.0.0.1:\(port)"

        let before = try server("status")
        #expect(before.status == 3 && before.stdout.hasPrefix("not running"))
        let started = try server("start")
        #expect(started.status == 0, "\(started.stderr)")
        #expect(started.stdout.contains("RediSearch and RedisJSON on \(url)"))
        #expect(try server("start").stdout.hasPrefix("already running"))
        #expect(try server("status").status == 0)

        // "Loaded" means on disk: the load waits once (WAITAOF) for its writes to reach the
        // append-only file, and does not say "not persisted".
        let admin = try RedisConnection(url: RedisURL(parsing: url))
        func waits() throws -> Int {
            let stats = try admin.call("INFO", "commandstats").string ?? ""
            guard
                let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_waitaof:") }),
                let calls = line.split(separator: ",").first?.split(separator: "=").last
            else { return 0 }
            return Int(calls) ?? 0
        }
        let waitsBefore = try waits()
        let file = try Corpus.path("pydicom/test_files/CT_small.dcm")
        let load = try DQLBinary.run(["--url", url, "-c", "load '\(file)'"], environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(!load.stderr.contains("not persisted"), "\(load.stderr)")
        #expect(try waits() == waitsBefore + 1)
        admin.close()

        let stopped = try server("stop")
        #expect(stopped.status == 0 && stopped.stdout.hasPrefix("stopped"))
        #expect(try server("status").status == 3)
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("appendonlydir").path))

        #expect(try server("start").status == 0)
        let count = try DQLBinary.run(
            ["--url", url, "--format", "csv", "-c", "count where name = 'CT_small.dcm'"], environment: environment)
        #expect(count.stdout == "count\r\n1\r\n", "\(count.stderr)")
    }
}

/// `dql server start --tls`: the bundled Redis has no TLS, so stunnel4 serves it, with a
/// certificate from a private CA made in the data directory; dql connects with that CA.
@Suite struct ServerTLSTests {
    @Test func startWithTLSServesRedissAndStopEndsIt() throws {
        let port = try freePort()
        let tlsPort = try freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-server-tls-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: data) }
        var environment = ["DQL_PREFIX": "tlsserver"]
        if let venv = ProcessInfo.processInfo.environment["DQL_TEST_VENV"] { environment["DQL_VENV"] = venv }
        let place = ["--port", String(port), "--data-dir", data.path]
        defer { _ = try? DQLBinary.run(["server", "stop"] + place, environment: environment) }

        let started = try DQLBinary.run(
            ["server", "start", "--tls", "--tls-port", String(tlsPort)] + place, environment: environment)
        #expect(started.status == 0, "\(started.stderr)")
        let ca = data.appendingPathComponent("tls/ca.pem").path
        #expect(
            started.stdout.contains(
                "TLS on rediss://127.0.0.1:\(tlsPort) through stunnel4 (this Redis build has no TLS of its own; the plain port \(port) stays open on 127.0.0.1 only): connect with --url rediss://127.0.0.1:\(tlsPort) --tls-ca \(ca)"
            ), "\(started.stdout)")

        let tls = ["--url", "rediss://127.0.0.1:\(tlsPort)", "--tls-ca", ca]
        let file = try Corpus.path("pydicom/test_files/CT_small.dcm")
        let used = try DQLBinary.run(
            tls + ["--format", "csv", "-c", "load '\(file)'", "-c", "count"], environment: environment)
        #expect(used.status == 0, "\(used.stderr)")
        #expect(used.stdout.hasSuffix("count\r\n1\r\n"), "\(used.stdout)")
        let untrusted = try DQLBinary.run(["--url", "rediss://127.0.0.1:\(tlsPort)", "ping"], environment: environment)
        #expect(untrusted.status == 69, "the private CA is not trusted unless named")

        let stopped = try DQLBinary.run(["server", "stop"] + place, environment: environment)
        #expect(
            stopped.stdout.hasPrefix("stopped the TLS terminator (stunnel)\nstopped the server"), "\(stopped.stdout)")
        let gone = try DQLBinary.run(tls + ["ping"], environment: environment)
        #expect(gone.status == 69)

        let wrong = try DQLBinary.run(["server", "start", "--tls-port", "7000"] + place, environment: environment)
        #expect(wrong.status == 64)
        #expect(wrong.stderr.contains("--tls-port, --server-cert and --server-key go with --tls"))

        // A certificate of one's own is what the TLS port shows (the test CA's, here).
        let own = try DQLBinary.run(
            [
                "server", "start", "--tls", "--tls-port", String(tlsPort), "--server-cert",
                try TestTLS.file("server.pem"),
                "--server-key", try TestTLS.file("server.key"),
            ] + place, environment: environment)
        #expect(own.status == 0, "\(own.stderr)")
        #expect(!own.stdout.contains("--tls-ca \(ca)"), "no private CA to name: \(own.stdout)")
        let testCA = try DQLBinary.run(
            ["--url", "rediss://127.0.0.1:\(tlsPort)", "--tls-ca", try TestTLS.file("ca.pem"), "ping"],
            environment: environment)
        #expect(testCA.status == 0, "\(testCA.stderr)")
        let privateCA = try DQLBinary.run(tls + ["ping"], environment: environment)
        #expect(privateCA.status == 69, "the generated certificate is not the one shown")
        let unusable = try DQLBinary.run(
            ["server", "start", "--tls", "--server-cert", "/dev/null", "--server-key", try TestTLS.file("server.key")]
                + place, environment: environment)
        #expect(unusable.status == 64)
        #expect(unusable.stderr.contains("--server-cert /dev/null: not a regular file"), "\(unusable.stderr)")
        let keyless = try DQLBinary.run(
            ["server", "start", "--tls", "--server-cert", try TestTLS.file("server.pem")] + place,
            environment: environment)
        #expect(keyless.status == 64)
        #expect(keyless.stderr.contains("--server-cert needs --server-key"), "\(keyless.stderr)")
        let mismatched = try DQLBinary.run(
            [
                "server", "start", "--tls", "--server-cert", try TestTLS.file("server.pem"), "--server-key",
                try TestTLS.file("client.key"),
            ] + place, environment: environment)
        #expect(mismatched.status == 64)
        #expect(mismatched.stderr.contains("client.key is not the key of"), "\(mismatched.stderr)")
    }
}

import Foundation
import RedisIO
import TestSupport
import Testing

/// `dql` over `rediss://`: every statement through the test server's TLS endpoint (stunnel,
/// test CA), and each refused certificate with its message and exit status 69.
@Suite struct TLSShellTests {
    @Test func everyStatementWorksOverTLS() throws {
        let fixture = try ShellFixture(overTLS: true)  // the corpus is loaded over TLS too
        let out = fixture.directory.appendingPathComponent("out").path
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 24, name: "big-tls.dcm")
        let loaded = try fixture.run(["-c", "load '\(big)' chunk 64KB"])
        #expect(loaded.status == 0, "\(loaded.stderr)")

        let result = try fixture.run([
            "--format", "csv", "-c", "count", "-c", "count by modality", "-c", "find name where modality = 'CT'",
            "-c", "show 'CT_small.dcm'", "-c", "explain find where modality = 'MR'", "-c", "stats",
            "-c", "find name where name in ('CT_small.dcm', 'big-tls.dcm') fetch to '\(out)'",
            "-c", "delete where name = 'rtplan.dcm'", "-c", "count",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let total = ShellFixture.corpusNames.count + 1
        #expect(result.stdout.hasPrefix("count\r\n\(total)\r\n"), "\(result.stdout)")
        #expect(result.stdout.contains("CT_small.dcm"))
        #expect(result.stdout.contains("FT.SEARCH"), "explain shows the compiled command")
        #expect(result.stdout.hasSuffix("count\r\n\(total - 1)\r\n"), "the delete went through: \(result.stdout)")
        for (name, original) in [
            ("CT_small.dcm", try Corpus.path("pydicom/test_files/CT_small.dcm")), ("big-tls.dcm", big),
        ] {
            let fetched = FileManager.default.contents(atPath: out + "/" + name)
            #expect(
                fetched != nil && fetched == FileManager.default.contents(atPath: original), "\(name) comes back whole")
        }
    }

    @Test func refusedCertificatesExitWith69AndSayWhy() throws {
        let fixture = try ShellFixture(load: false)
        let ca = try TestTLS.file("ca.pem")
        func refused(_ endpoint: TestTLS.Endpoint, _ extra: [String] = []) throws -> ProcessResult {
            try fixture.run(["--url", try TestTLS.url(endpoint).description, "--tls-ca", ca] + extra + ["ping"])
        }
        let cases: [(ProcessResult, String)] = [
            (try refused(.expired), "TLS: the server's certificate has expired"),
            (
                try refused(.otherCA),
                "TLS: the server's certificate is not signed by the CAs in \(ca) (unable to get local issuer certificate); --tls-ca names the CA to trust"
            ),
            (
                try refused(.main, ["--tls-server-name", "db.example.org"]),
                "TLS: the server's certificate is not for 'db.example.org' (hostname mismatch); --tls-server-name sets the name to expect"
            ),
            // TLS 1.3's alert, or a reset when the server closes first: both name the cause.
            (try refused(.clientCertificate), "client certificate"),
        ]
        for (result, message) in cases {
            #expect(result.status == 69, "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }

        let client = try refused(
            .clientCertificate,
            ["--tls-cert", try TestTLS.file("client.pem"), "--tls-key", try TestTLS.file("client.key")])
        #expect(client.status == 0, "\(client.stderr)")
        #expect(client.stdout.contains("rediss://127.0.0.1"), "ping names the TLS URL: \(client.stdout)")
        #expect(client.stdout.contains(" over TLSv1."), "and the protocol agreed: \(client.stdout)")
    }

    @Test func settingsComeFromFlagsOrTheEnvironmentAndAreChecked() throws {
        let fixture = try ShellFixture(load: false)
        let tlsURL = try TestTLS.url(.main).description
        let ca = try TestTLS.file("ca.pem")

        let fromEnvironment = try fixture.run(["--url", tlsURL, "ping"], environment: ["DQL_TLS_CA": ca])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")

        let insecure = try fixture.run(["--url", try TestTLS.url(.otherCA).description, "--tls-insecure", "ping"])
        #expect(insecure.status == 0, "\(insecure.stderr)")
        #expect(insecure.stderr.contains("warning: --tls-insecure: the server's certificate is not checked"))

        let plainToTLS = try fixture.run(["--url", "redis://127.0.0.1:\(try TestTLS.url(.main).port)", "ping"])
        #expect(plainToTLS.status == 69)
        #expect(plainToTLS.stderr.contains("; if the port speaks TLS, use rediss://"), "\(plainToTLS.stderr)")

        let plainURL = try fixture.run(["--url", fixture.url.description, "--tls-ca", ca, "ping"])
        #expect(plainURL.status == 64)
        #expect(
            plainURL.stderr
                == "dql: --tls-ca is for TLS connections, but the URL is \(fixture.url): use rediss:// to connect with TLS\n"
        )

        let missing = try fixture.run(["--url", tlsURL, "--tls-ca", "/nonexistent/ca.pem", "ping"])
        #expect(missing.status == 64)
        #expect(missing.stderr == "dql: --tls-ca /nonexistent/ca.pem: no such file\n")

        let fifo = fixture.directory.appendingPathComponent("ca.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let special = try fixture.run(["--url", tlsURL, "ping"], environment: ["DQL_TLS_CA": fifo])
        #expect(special.status == 64, "a FIFO would block the read forever")
        #expect(special.stderr == "dql: $DQL_TLS_CA \(fifo): not a regular file\n")
        let certificateAlone = try fixture.run(["--url", tlsURL, "--tls-cert", try TestTLS.file("client.pem"), "ping"])
        #expect(certificateAlone.status == 64)
        #expect(certificateAlone.stderr == "dql: --tls-cert needs --tls-key (the private key of the certificate)\n")

        let keyAlone = try fixture.run(["--url", tlsURL, "--tls-key", try TestTLS.file("client.key"), "ping"])
        #expect(keyAlone.status == 64)
        #expect(keyAlone.stderr == "dql: --tls-key needs --tls-cert (the certificate the key belongs to)\n")
    }

    /// A cluster over TLS: stunnel in front of each master of a scratch cluster, whose masters
    /// announce the TLS ports, so the slot map and redirects lead dql to TLS endpoints; chunks
    /// spread over all three masters through them.
    @Test func aClusterWorksOverTLS() throws {
        let cluster = try ScratchCluster()
        let tlsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-cluster-tls-\(UUID().uuidString.prefix(8))"
        ).path
        let script = repositoryRoot.appendingPathComponent("scripts/tls.sh").path
        _ = try runProcess(script, ["certs", tlsDirectory])
        defer {
            _ = try? runProcess(script, ["stop", "--dir", tlsDirectory])
            try? FileManager.default.removeItem(atPath: tlsDirectory)
        }
        let tlsPorts = try cluster.ports.map { _ in try freePort() }
        _ = try runProcess(
            script,
            ["start", "--dir", tlsDirectory]
                + zip(cluster.ports, tlsPorts).flatMap { ["--service", "m\($0):\($1):\($0)"] })
        for (port, tlsPort) in zip(cluster.ports, tlsPorts) {
            try RedisConnection(url: RedisURL(host: "127.0.0.1", port: port))
                .call("CONFIG", "SET", "cluster-announce-port", String(tlsPort))
        }
        // Wait until every node's slot map names the TLS ports.
        let deadline = Date().addingTimeInterval(20)
        func announced() throws -> Bool {
            try cluster.ports.allSatisfy { port in
                let slots = try RedisConnection(url: RedisURL(host: "127.0.0.1", port: port)).call("CLUSTER", "SLOTS")
                let text = "\(slots)"
                return tlsPorts.allSatisfy { text.contains(String($0)) }
                    && !cluster.ports.contains { text.contains(String($0)) }
            }
        }
        while try !announced() && Date() < deadline { usleep(100_000) }
        #expect(try announced(), "the masters announce their TLS ports")

        let fixture = try ShellFixture(load: false, url: cluster.url)
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 16, name: "big-cluster.dcm")
        let out = fixture.directory.appendingPathComponent("out").path
        let tls = ["--url", "rediss://127.0.0.1:\(tlsPorts[0])", "--tls-ca", tlsDirectory + "/ca.pem"]
        let small = try Corpus.path("pydicom/test_files/CT_small.dcm")
        let result = try fixture.run(
            tls + [
                "--format", "csv", "-c", "load '\(big)' chunk 64KB", "-c", "load '\(small)'", "-c", "count",
                "-c", "find name where name = 'big-cluster.dcm' fetch to '\(out)'",
                "-c", "delete where name = 'CT_small.dcm'", "-c", "count",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains("count\r\n2\r\n") && result.stdout.hasSuffix("count\r\n1\r\n"), "\(result.stdout)")
        #expect(
            FileManager.default.contents(atPath: out + "/big-cluster.dcm") == FileManager.default.contents(atPath: big))
        for port in cluster.ports {
            let keys = try RedisConnection(url: RedisURL(host: "127.0.0.1", port: port)).call("DBSIZE").integer ?? 0
            #expect(keys > 0, "chunks reached the master on \(port) through TLS")
        }
    }
}

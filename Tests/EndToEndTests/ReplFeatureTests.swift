import Foundation
import TestSupport
import Testing

/// The psql-grade parts of the shell on a real pseudo-terminal (40 rows, 200 columns): the
/// pager, `\x auto`, `\e`, `\watch`, Ctrl-R, completion that keeps lines intact, and what
/// `\o` and `\g` write.
@Suite(.serialized) struct ReplFeatureTests {
    /// The prompt, whole: `> ` alone also appears in results (`fields` lists `> >=`).
    static var prompt: String { (try? "\(TestRedis.url().endpoint)> ") ?? "> " }
    /// A pager that marks where it starts and ends, so the screen shows what went through it.
    static let markingPager = "printf 'PAGER-START\\n'; cat; printf 'PAGER-END\\n'"

    func start(
        _ fixture: ShellFixture, _ extra: [String: String] = [:], arguments: [String] = []
    ) throws
        -> PseudoTerminal
    {
        try ReplTests().start(fixture, extra, arguments: arguments)
    }

    func quit(_ terminal: PseudoTerminal) throws {
        terminal.send("\\q\r")
        #expect(try terminal.waitForExit() == 0)
    }

    @Test func longResultsGoThroughThePagerAndShortOnesDoNot() throws {
        let fixture = try ShellFixture()
        let terminal = try start(fixture, ["PAGER": Self.markingPager])
        terminal.send("count\r")
        let short = try terminal.expect(Self.prompt)
        #expect(short.contains("\(ShellFixture.corpusNames.count)") && !short.contains("PAGER-START"), "\(short)")
        // `show` of a CT is over a hundred lines: longer than the 40-row screen.
        terminal.send("show CT_small.dcm\r")
        try terminal.expect("PAGER-START")
        let paged = try terminal.expect("PAGER-END")
        #expect(paged.contains("headerLength") && paged.contains("[Full fidelity]"), "all of it, in the pager")
        try terminal.expect(Self.prompt)
        terminal.send("\\pager on\r")
        try terminal.expect("pager is on")
        try terminal.expect(Self.prompt)
        terminal.send("count\r")
        try terminal.expect("PAGER-START")
        try terminal.expect(Self.prompt)
        terminal.send("\\pager off\r")
        try terminal.expect("pager is off")
        try terminal.expect(Self.prompt)
        terminal.send("show CT_small.dcm\r")
        let unpaged = try terminal.expect(Self.prompt)
        #expect(unpaged.contains("[Full fidelity]") && !unpaged.contains("PAGER-START"))
        try quit(terminal)

        let flagged = try start(fixture, ["PAGER": Self.markingPager], arguments: ["--no-pager"])
        flagged.send("show CT_small.dcm\r")
        let screen = try flagged.expect(Self.prompt)
        #expect(screen.contains("[Full fidelity]") && !screen.contains("PAGER-START"))
        try quit(flagged)

        // Off a terminal, never.
        let piped = try fixture.run(["-c", "show CT_small.dcm"], environment: ["PAGER": Self.markingPager])
        #expect(piped.status == 0 && piped.stdout.contains("[Full fidelity]") && !piped.stdout.contains("PAGER-START"))
    }

    @Test func aPagerThatFailsLosesNothing() throws {
        let fixture = try ShellFixture()
        let terminal = try start(fixture, ["PAGER": "exit 5"])
        terminal.send("show CT_small.dcm\r")
        try terminal.expect("[Full fidelity]")
        try terminal.expect("pager: exit 5 ended with status 5; the results are shown without it")
        try terminal.expect(Self.prompt)
        try quit(terminal)
    }

    @Test func expandedAutoExpandsOnlyTablesWiderThanTheTerminal() throws {
        let fixture = try ShellFixture()
        let terminal = try start(fixture, ["PAGER": ""])
        terminal.send("\\x auto\r")
        try terminal.expect("expanded display is auto")
        try terminal.expect(Self.prompt)
        terminal.send("find * where name = 'CT_small.dcm'\r")
        let wide = try terminal.expect(Self.prompt)
        #expect(wide.contains("-[ RECORD 1 ]") && wide.contains("sopUid"), "\(wide)")
        terminal.send("find name where name = 'CT_small.dcm'\r")
        let narrow = try terminal.expect(Self.prompt)
        #expect(narrow.contains(" name") && narrow.contains("CT_small.dcm") && !narrow.contains("RECORD"), "\(narrow)")
        try quit(terminal)
    }

    @Test func editRunsWhatTheEditorSaves() throws {
        let fixture = try ShellFixture()
        let oracle = try ShellFixture.oracleValues("Modality").values
        // Edits the last statement (MR to CT), or completes one typed half-way.
        let editor = try fixture.script(
            "editor.sh",
            """
            #!/bin/sh
            if grep -q modality "$1"; then sed -i "s/'MR'/'CT'/" "$1"; else echo " modality = 'MR'" >> "$1"; fi

            """)
        chmod(editor, 0o755)
        let terminal = try start(fixture, ["EDITOR": editor, "VISUAL": ""])
        terminal.send("count where modality = 'MR'\r")
        try terminal.expect("\(oracle.filter { $0 == "MR" }.count)\r\n")
        try terminal.expect(Self.prompt)
        terminal.send("\\e\r")
        try terminal.expect("count where modality = 'CT'")
        try terminal.expect("\(oracle.filter { $0 == "CT" }.count)\r\n")
        try terminal.expect(Self.prompt)
        // A statement typed half-way is what \e edits.
        terminal.send("count where\r")
        try terminal.expect("...> ")
        terminal.send("\\e\r")
        try terminal.expect("modality = 'MR'")
        try terminal.expect("\(oracle.filter { $0 == "MR" }.count)\r\n")
        try terminal.expect(Self.prompt)
        try quit(terminal)

        let unsaved = try start(fixture, ["EDITOR": "true"])
        unsaved.send("count\r")
        try unsaved.expect(Self.prompt)
        unsaved.send("\\e\r")
        try unsaved.expect("\\e: not saved; nothing was run")
        try unsaved.expect(Self.prompt)
        try quit(unsaved)

        let failing = try start(fixture, ["EDITOR": "false"])
        failing.send("count\r")
        try failing.expect(Self.prompt)
        failing.send("\\e\r")
        try failing.expect("the editor (false) ended with status 1; nothing was run")
        try failing.expect(Self.prompt)
        try quit(failing)
    }

    @Test func watchRerunsTheLastStatementUntilCtrlC() throws {
        let fixture = try ShellFixture()
        let terminal = try start(fixture, ["PAGER": Self.markingPager])
        terminal.send("\\pager on\r")
        try terminal.expect("pager is on")
        try terminal.expect(Self.prompt)
        terminal.send("count\r")
        try terminal.expect("PAGER-END")
        try terminal.expect(Self.prompt)
        terminal.send("\\watch 0.2\r")
        try terminal.expect("(every 0.2s)")
        let between = try terminal.expect("(every 0.2s)")
        #expect(between.contains("\(ShellFixture.corpusNames.count)") && !between.contains("PAGER"), "no pager")
        try terminal.expect("(every 0.2s)")
        terminal.send("\u{3}")
        try terminal.expect(Self.prompt)
        // The session goes on.
        terminal.send("\\pager off\r")
        try terminal.expect("pager is off")
        try terminal.expect(Self.prompt)
        terminal.send("\\watch 0.1 2\r")
        let counted = try terminal.expect(Self.prompt)
        #expect(counted.components(separatedBy: "(every 0.1s)").count == 3, "two runs: \(counted)")
        try quit(terminal)
    }

    @Test func ctrlRFindsAnEarlierStatement() throws {
        let fixture = try ShellFixture()
        let mr = try ShellFixture.oracleValues("Modality").values.filter { $0 == "MR" }.count
        let terminal = try start(fixture)
        terminal.send("count where modality = 'MR'\r")
        try terminal.expect(Self.prompt)
        terminal.send("fields\r")
        try terminal.expect(Self.prompt)
        terminal.send("\u{12}")
        terminal.send("'MR")
        try terminal.expect("count where modality = 'MR'")
        terminal.send("\r")
        try terminal.expect("\(mr)\r\n")
        try terminal.expect(Self.prompt)
        terminal.send("\\?\r")
        try terminal.expect("Ctrl-R searches it")
        try quit(terminal)
    }

    /// A store of files whose values need care, and directories to complete.
    func completionFixture() throws -> (ShellFixture, URL) {
        let fixture = try ShellFixture(load: false)
        let scans = fixture.directory.appendingPathComponent("my scans/inner")
        try FileManager.default.createDirectory(at: scans, withIntermediateDirectories: true)
        try SmallDicom.write(
            [
                .init(0x0008, 0x0005, "CS", "ISO_IR 192"), .init(0x0008, 0x0060, "CS", "CT"),
                .init(0x0010, 0x0010, "PN", "o'Brien^Seán"),
            ],
            to: scans.appendingPathComponent("obrien.dcm").path)
        try FileManager.default.createDirectory(
            at: fixture.directory.appendingPathComponent("out"), withIntermediateDirectories: true)
        let loaded = try fixture.run(["-c", "load '\(scans.path)'"])
        guard loaded.status == 0 else { throw TestSetupError("load failed: \(loaded.stderr)") }
        return (fixture, fixture.directory)
    }

    @Test func completionKeepsEveryLineIntact() throws {
        let (fixture, directory) = try completionFixture()
        let terminal = try start(fixture)
        // A value with a quote is completed escaped; then a path completes with no stray quote.
        terminal.send("find name where patient = 'o\t")
        try terminal.expect("''Brien^Seán'")
        terminal.send(" fetch to \(directory.path)/ou\t")
        try terminal.expect("t/")
        terminal.send("\r")
        try terminal.expect("obrien.dcm")
        try terminal.expect("(1 file)")
        try terminal.expect(Self.prompt)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out/obrien.dcm").path))
        // A quoted path with a blank: directories go on, the file closes the quote.
        terminal.send("load '\(directory.path)/my sc\t")
        try terminal.expect("ans/")
        terminal.send("\t")
        try terminal.expect("inner/")
        terminal.send("\t")
        try terminal.expect("obrien.dcm'")
        terminal.send("\r")
        try terminal.expect("1 already stored")
        try terminal.expect(Self.prompt)
        // The keywords that may follow.
        terminal.send("count by sex o\t")
        try terminal.expect("rder by ")
        terminal.send("count\r")
        try terminal.expect(Self.prompt)
        terminal.send("find where modality = 'CT' \t\t")
        // libedit lists the candidates in columns, sorted: `and`, `fetch to`, `limit`, `or`, `order by`.
        let listed = try terminal.expect("order by").components(separatedBy: "\r\n").last ?? ""
        for keyword in ["and ", "fetch to ", "limit ", "or "] {
            #expect(listed.contains(keyword), "\(keyword) offered: \(listed)")
        }
        #expect(!listed.contains("modality"), "no field after a complete condition: \(listed)")
        terminal.send("\u{3}")
        try terminal.expect(Self.prompt)
        try quit(terminal)
    }

    @Test func outputFilesGetNoColour() throws {
        let fixture = try ShellFixture()
        let file = fixture.directory.appendingPathComponent("o.txt").path
        let again = fixture.directory.appendingPathComponent("g.txt").path
        let terminal = try start(fixture, ["NO_COLOR": "", "PAGER": ""])
        terminal.send("find name where name = 'CT_small.dcm'\r")
        let screen = try terminal.expect(Self.prompt)
        #expect(screen.contains("\u{1B}[1m"), "the terminal gets a bold header")
        terminal.send("\\o \(file)\r")
        try terminal.expect(Self.prompt)
        terminal.send("find name where name = 'CT_small.dcm'\r")
        try terminal.expect(Self.prompt)
        terminal.send("\\o\r")
        try terminal.expect(Self.prompt)
        terminal.send("\\g \(again)\r")
        try terminal.expect(Self.prompt)
        try quit(terminal)
        for path in [file, again] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains("CT_small.dcm") && !text.contains("\u{1B}"), "\(path): \(text.debugDescription)")
        }
    }
}

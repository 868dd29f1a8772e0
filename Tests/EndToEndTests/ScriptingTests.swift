import Crypto
import Foundation
import TestSupport
import Testing

/// Scripts as people write them: variables from the command line and `\set`, quoting of nasty
/// values, `\echo`, `\g`, fetches repeated into the same directory, and the output a program
/// reads (CSV per RFC 4180, names as fields are typed).
@Suite struct ScriptingTests {
    /// A patient name with quotes, a semicolon, a comment and a reference in it (a backslash
    /// would make it two DICOM values).
    static let nasty = "o'Brien \"x\" ; -- :other"
    /// A value with a backslash and a quote, for `\echo`.
    static let slashed = "back\\slash 'quoted'"

    /// A store with one file whose patient name needs every kind of care.
    func nastyFixture() throws -> ShellFixture {
        let fixture = try ShellFixture(load: false)
        let input = fixture.directory.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        try SmallDicom.write(
            [.init(0x0008, 0x0060, "CS", "CT"), .init(0x0010, 0x0010, "PN", Self.nasty)],
            to: input.appendingPathComponent("nasty.dcm").path)
        try SmallDicom.write(
            [.init(0x0008, 0x0060, "CS", "MR"), .init(0x0010, 0x0010, "PN", "Other^Person")],
            to: input.appendingPathComponent("other.dcm").path)
        let loaded = try fixture.run(["-c", "load '\(input.path)'"])
        guard loaded.status == 0 else { throw TestSetupError("load failed: \(loaded.stderr)") }
        return fixture
    }

    @Test func variablesFromTheCommandLineAreQuotedSafely() throws {
        let fixture = try nastyFixture()
        let report = try fixture.script(
            "report.dql",
            """
            \\echo patient: :'p' :'b'
            find name where patient = :'p'
            \\set modality MR
            count where modality = :'modality'
            \\unset modality
            count where modality = :'modality'
            """)
        let result = try fixture.run(
            ["-v", "p=\(Self.nasty)", "--set", "b=\(Self.slashed)", "--format", "csv", "-f", report])
        #expect(result.status == 1)
        // Quoted, the value comes back whole.
        #expect(
            result.stdout.hasPrefix("patient: \(Self.nasty) \(Self.slashed)\nname,id\r\nnasty.dcm,"), "\(result.stdout)"
        )
        #expect(result.stdout.contains("count\r\n1\r\n"))
        #expect(
            result.stderr
                == """
                \(report):6:24: error: undefined variable 'modality'
                    count where modality = :'modality'
                                           ^~~~~~~~~~~
                    help: set it with \\set modality VALUE, or dql -v modality=VALUE; \\set alone lists the variables

                """)
        // Raw interpolation puts text in as written (a number, a field list).
        let raw = try fixture.run(["-v", "columns=name, modality", "-v", "n=1", "-c", "find :columns limit :n"])
        #expect(raw.status == 0 && raw.stdout.contains(" name") && raw.stdout.contains("modality"), "\(raw.stderr)")
        let bad = try fixture.run(["-v", "1x=2", "-c", "count"])
        #expect(bad.status == 64 && bad.stderr.contains("expected NAME=VALUE"))
    }

    @Test func errorsInScriptsPointAtTheFileNotTheExpandedText() throws {
        let fixture = try ShellFixture(load: false)
        let script = try fixture.script(
            "s3.dql",
            """
            -- a comment
            count where modality = :'m' and protcol = 1
            """)
        let result = try fixture.run(["-v", "m=ABCDEFGHIJKLMNOPQRSTUVWXYZ", "-f", script])
        #expect(result.status == 1)
        #expect(
            result.stderr.hasPrefix(
                """
                \(script):2:33: error: unknown field 'protcol'
                    count where modality = :'m' and protcol = 1
                                                    ^~~~~~~
                """), "\(result.stderr)")
        let meta = try fixture.run(["-v", "f=x", "-c", "\\o :f :f"])
        #expect(meta.stderr.contains("1:7: error: \\o takes at most 1 argument"), "\(meta.stderr)")
        #expect(meta.stderr.contains("    \\o :f :f\n"), "the line as written: \(meta.stderr)")
        // Indentation and a statement before `\g` count in the column, and the line is shown whole.
        let indented = try fixture.script(
            "indented.dql",
            """
            count
              \\o :f :f
            find name limit 1 \\g a b
            """)
        let placed = try fixture.run(["-v", "f=x", "--continue-on-error", "-f", indented])
        #expect(placed.stderr.contains("\(indented):2:9: error: \\o takes at most 1 argument"), "\(placed.stderr)")
        #expect(placed.stderr.contains("      \\o :f :f\n"), "\(placed.stderr)")
        #expect(placed.stderr.contains("\(indented):3:24: error: \\g takes at most 1 argument"), "\(placed.stderr)")
        #expect(placed.stderr.contains("    find name limit 1 \\g a b\n"), "\(placed.stderr)")
        let invalid = try ProcessResult.run(
            "/bin/bash", ["-c", "\"$0\" -v $'m=\\xff\\xfe' -c count", DQLBinary.path],
            environment: ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 })
        #expect(
            invalid.status == 64 && invalid.stderr.contains("-v m: the value is not valid UTF-8"), "\(invalid.stderr)")
        // In a script: where, and nothing run with U+FFFD in place of the bytes.
        let badScript = fixture.directory.appendingPathComponent("bad.dql").path
        try Data("count\ncount where patient = 'ab".utf8 + [0xFF] + Data("c'\n".utf8)).write(
            to: URL(fileURLWithPath: badScript))
        let notUTF8 = try fixture.run(["-f", badScript])
        #expect(notUTF8.status == 1 && notUTF8.stdout.isEmpty, "\(notUTF8.stdout)")
        #expect(
            notUTF8.stderr.contains(
                "\(badScript): line 2, column 26 (byte 31) is not valid UTF-8; the statement before it was not run"),
            "\(notUTF8.stderr)")
        let invalidStatement = try ProcessResult.run(
            "/bin/bash", ["-c", "\"$0\" -c $'count where patient = \\'\\xff\\''", DQLBinary.path],
            environment: ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 })
        #expect(
            invalidStatement.status == 64 && invalidStatement.stderr.contains("the statement is not valid UTF-8"),
            "\(invalidStatement.stderr)")
    }

    @Test func anEditThatRunsEditAgainStops() throws {
        let fixture = try ShellFixture()
        // Twice per level: the limit must end the whole chain, not just one branch of it.
        let editor = try fixture.script("again.sh", "#!/bin/sh\nprintf '\\\\e\\n\\\\e\\n' > \"$1\"\n")
        chmod(editor, 0o755)
        let result = try fixture.run(["-c", "count", "-c", "\\e"], environment: ["EDITOR": editor, "VISUAL": ""])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("\\e nested more than 16 deep (does the edited text run \\e?)"), "\(result.stderr)")
        #expect(result.stderr.components(separatedBy: "nested more than").count == 2, "one failure ends the chain")
        let left = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter {
            $0.hasPrefix("dql-edit-")
        }
        #expect(left.isEmpty, "no edit file left: \(left)")
    }

    @Test func gRunsTheStatementBeforeItIntoAFileOrACommand() throws {
        let fixture = try ShellFixture()
        let file = fixture.directory.appendingPathComponent("names.csv").path
        let upper = fixture.directory.appendingPathComponent("upper.txt").path
        let script = try fixture.script(
            "g.dql",
            """
            find name where name = 'CT_small.dcm'
            \\g \(file)
            \\g |tr a-z A-Z > \(upper)
            """)
        let result = try fixture.run(["--format", "csv", "-f", script])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "the statement before \\g runs once, into the file")
        #expect(try String(contentsOfFile: file, encoding: .utf8).hasPrefix("name,id\r\nCT_small.dcm,"))
        #expect(try String(contentsOfFile: upper, encoding: .utf8).hasPrefix("NAME,ID\r\nCT_SMALL.DCM,"))
        let none = try fixture.run(["-c", "\\g"])
        #expect(none.status == 1 && none.stderr.contains("\\g: there is no statement to run yet"))
        // On the statement's own line, as in psql.
        let inline = fixture.directory.appendingPathComponent("inline.csv").path
        let sameLine = try fixture.run(["--format", "csv", "-c", "find name where name = CT_small.dcm \\g \(inline)"])
        #expect(sameLine.status == 0 && sameLine.stdout.isEmpty, "\(sameLine.stderr)")
        #expect(try String(contentsOfFile: inline, encoding: .utf8).hasPrefix("name,id\r\nCT_small.dcm,"))
        // A statement that does not parse touches no file.
        let untouched = fixture.directory.appendingPathComponent("untouched.txt").path
        try "keep".write(toFile: untouched, atomically: true, encoding: .utf8)
        let broken = try fixture.run(["-c", "count where protcol = 1", "-c", "\\g \(untouched)"])
        #expect(broken.status == 1 && broken.stderr.contains("unknown field 'protcol'"))
        #expect(try String(contentsOfFile: untouched, encoding: .utf8) == "keep")
        // A command that fails is reported.
        let failing = try fixture.run(["-c", "count", "-c", "\\g |exit 3"])
        #expect(failing.stderr.contains("dql: |exit 3 ended with status 3"), "\(failing.stderr)")
        #expect(failing.status == 1, "and the exit status says so")
    }

    @Test func aRepeatedFetchRefusesADifferentFileOfTheSameName() throws {
        let fixture = try ShellFixture()
        let out = fixture.directory.appendingPathComponent("out")
        let fetch = "find where modality = 'CT' fetch to '\(out.path)'"
        let first = try fixture.run(["-c", fetch])
        #expect(first.status == 0, "\(first.stderr)")
        let ct = out.appendingPathComponent("CT_small.dcm").path
        let original = try Data(contentsOf: URL(fileURLWithPath: ct))
        try Data("someone else's file".utf8).write(to: URL(fileURLWithPath: ct))
        let refused = try fixture.run(["-c", fetch])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains(
                "\(out.path) already has a different file named CT_small.dcm; nothing was fetched. Add overwrite to replace it, or rename to write beside it (NAME_2.dcm)"
            ), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty, "no row shown for a file not fetched")
        #expect(try String(contentsOfFile: ct, encoding: .utf8) == "someone else's file", "left alone")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("CT_small_2.dcm").path))

        let renamed = try fixture.run(["-c", fetch + " rename"])
        #expect(
            renamed.status == 0 && renamed.stderr.contains("already there with the same bytes"), "\(renamed.stderr)")
        #expect(try Data(contentsOf: out.appendingPathComponent("CT_small_2.dcm")) == original)
        let overwritten = try fixture.run(["--overwrite", "-c", "fetch 'CT_small.dcm' to '\(out.path)'"])
        #expect(overwritten.status == 0, "\(overwritten.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: ct)) == original)
        let again = try fixture.run(["--format", "json", "-c", fetch])
        #expect(again.status == 0 && !again.stdout.contains("\"alreadyThere\":false"), "\(again.stdout)")
        #expect(try fixture.run(["--overwrite", "--rename", "-c", "count"]).status == 64)

        // What is in the way is named for what it is.
        let odd = fixture.directory.appendingPathComponent("odd")
        try FileManager.default.createDirectory(
            at: odd.appendingPathComponent("CT_small.dcm"), withIntermediateDirectories: true)
        let directoryInTheWay = try fixture.run(["-c", "fetch CT_small.dcm to '\(odd.path)'"])
        #expect(
            directoryInTheWay.stderr.contains(
                "already has a directory named CT_small.dcm; nothing was fetched. Add rename to write beside it"),
            "\(directoryInTheWay.stderr)")
        let overwriteDirectory = try fixture.run(["-c", "fetch CT_small.dcm to '\(odd.path)' overwrite"])
        #expect(overwriteDirectory.status == 1 && overwriteDirectory.stderr.contains("it is a directory"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: odd.path) == ["CT_small.dcm"], "nothing written")
    }

    @Test func aLayoutFilesFetchesByTheirAttributes() throws {
        let fixture = try ShellFixture()
        let out = fixture.directory.appendingPathComponent("by-patient")
        let statement = "find fetch to '\(out.path)' as '{modality}/{patientId}/{name}'"
        let first = try fixture.run(["-c", statement])
        #expect(first.status == 0, "\(first.stderr)")
        let ct = out.appendingPathComponent("CT/1CT1/CT_small.dcm")
        #expect(
            try Data(contentsOf: ct)
                == Data(contentsOf: URL(fileURLWithPath: try Corpus.path("pydicom/test_files/CT_small.dcm"))))
        let again = try fixture.run(["-c", statement])
        #expect(
            again.stderr.contains("\(ShellFixture.corpusNames.count) already there with the same bytes"),
            "\(again.stderr)")

        // Files that share a name but not a size: side by side, and all recognised again
        // (the index of names in use was once kept per name only, so the second size was
        // taken for a different file and the repeat refused).
        let flat = fixture.directory.appendingPathComponent("flat")
        let byModality = "find fetch to '\(flat.path)' as '{modality}.dcm'"
        #expect(try fixture.run(["-c", byModality]).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: flat.path).sorted()
        #expect(names.contains("CT.dcm") && names.contains("CT_2.dcm") && names.contains("MR_2.dcm"), "\(names)")
        let repeated = try fixture.run(["-c", byModality])
        #expect(repeated.status == 0, "\(repeated.stderr)")
        #expect(repeated.stderr.contains("\(ShellFixture.corpusNames.count) already there with the same bytes"))

        // Several files under one name never replace each other, overwrite or not, however
        // often the fetch runs (the first in result order has the name, the others go beside).
        let one = fixture.directory.appendingPathComponent("one")
        let allInOne = "find fetch to '\(one.path)' as 'x.dcm' overwrite"
        #expect(try fixture.run(["-c", allInOne]).status == 0)
        let digests = { () throws -> [String] in
            try FileManager.default.contentsOfDirectory(atPath: one.path).sorted().map {
                SHA256.hash(data: try Data(contentsOf: one.appendingPathComponent($0))).map {
                    String(format: "%02x", $0)
                }.joined()
            }
        }
        let firstDigests = try digests()
        #expect(Set(firstDigests).count == ShellFixture.corpusNames.count, "every file once: \(firstDigests)")
        let rerun = try fixture.run(["-c", allInOne])
        #expect(
            rerun.stderr.contains("\(ShellFixture.corpusNames.count) already there with the same bytes"),
            "\(rerun.stderr)")
        #expect(try digests() == firstDigests, "nothing replaced, nothing added")
        // A different file under the shared name is named once.
        try Data("junk".utf8).write(to: one.appendingPathComponent("x.dcm"))
        let refused = try fixture.run(["-c", "find fetch to '\(one.path)' as 'x.dcm'"])
        #expect(refused.stderr.contains("already has a different file named x.dcm;"), "\(refused.stderr)")

        let wrong = try fixture.run(["-c", "fetch CT_small.dcm to '\(out.path)' as '{patiendId}/x.dcm'"])
        #expect(wrong.status == 1)
        #expect(
            wrong.stderr.contains("error: unknown field 'patiendId'")
                && wrong.stderr.contains("did you mean 'patientId'?"))
    }

    @Test func whatProgramsAndPeopleReadIsConsistent() throws {
        let fixture = try ShellFixture()
        let csv = try fixture.run(["--format", "csv", "-c", "find name, size where name = CT_small.dcm"])
        #expect(csv.status == 0, "\(csv.stderr)")
        let sha = "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6"
        #expect(csv.stdout == "name,size,id\r\nCT_small.dcm,39206,\(sha)\r\n")
        let shown = try fixture.run(["-c", "show CT_small.dcm"])
        #expect(
            parseTable(shown.stdout).rows.contains { $0.first == "date" && $0.last == "2004-01-19" }, "as find shows it"
        )
        let attributes = parseTable(shown.stdout).rows.map { $0.first ?? "" }
        for name in ["patient", "date", "year", "sop", "id"] { #expect(attributes.contains(name), "\(name)") }
        for stored in ["patientName", "studyDate", "sopClassName", "sha256"] { #expect(!attributes.contains(stored)) }
        #expect(attributes.contains("[Full fidelity]") && attributes.contains("Private Creator"))
        let fields = try fixture.run(["--format", "csv", "-c", "fields"])
        let rows = parseCSV(fields.stdout)
        #expect(rows.first == ["field", "type", "operators", "description", "common values"])
        #expect(rows.first { $0.first == "patient" }?[2] == "= != in like contains is missing")
        #expect(rows.first { $0.first == "sex" }?[2] == "= != in like is missing")
        #expect(rows.first { $0.first == "size" }?[2] == "= != < <= > >= between in is missing")
        let stats = try fixture.run(["-c", "stats"])
        #expect(stats.stdout.contains(" KiB") && !stats.stdout.contains(" kB") && !stats.stdout.contains(" MB"))
        let bare = try fixture.run(["-c", "find name where name = CT_small%dcm"])
        #expect(bare.stderr.contains("help: a value with % in it goes in quotes: '…'"), "\(bare.stderr)")
    }
}

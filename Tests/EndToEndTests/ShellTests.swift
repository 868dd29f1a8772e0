import Foundation
import TestSupport
import Testing

/// `dql` reading `-c`, `-f` and stdin, printing each format, and exiting with the documented
/// codes, against the real server.
@Suite(.serialized) struct ShellTests {
    static let query = "find name, modality, size order by name"

    /// What the loaded files should give for `query`, from the oracle and the files' sizes.
    static func expectedRows() throws -> [[String]] {
        let modalities = try ShellFixture.oracleValues("Modality")
        return try ShellFixture.corpusNames.map { name -> [String] in
            let base = (name as NSString).lastPathComponent
            let size = try FileManager.default.attributesOfItem(atPath: try Corpus.path(name))[.size] as? Int ?? -1
            return [base, modalities[base] ?? "", String(size)]
        }.sorted { $0[0] < $1[0] }
    }

    @Test func everyFormatParsesBackToTheSameRows() throws {
        let fixture = try ShellFixture()
        let expected = try Self.expectedRows()

        let json = try fixture.run(["--format", "json", "-c", Self.query])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try jsonObject(json.stdout)
        let rows = try #require(object["rows"] as? [[String: Any]])
        #expect(
            rows.map {
                [$0["name"] as? String ?? "?", $0["modality"] as? String ?? "", String($0["size"] as? Int ?? -1)]
            }
                == expected)
        #expect(rows.allSatisfy { ($0["id"] as? String)?.count == 64 })
        #expect(object["total"] as? Int == expected.count)

        let ndjson = try fixture.run(["--format", "ndjson", "-c", Self.query])
        let lines = ndjson.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == expected.count)
        let parsed = try lines.map(jsonObject)
        #expect(parsed.map { $0["name"] as? String ?? "?" } == expected.map { $0[0] })
        #expect(ndjson.stderr.isEmpty)

        let csv = try fixture.run(["--format", "csv", "-c", Self.query])
        // Every row carries its id, last.
        let csvRows = parseCSV(csv.stdout)
        #expect(csvRows.map { Array($0.dropLast()) } == [["name", "modality", "size"]] + expected)
        #expect(csvRows.first?.last == "id" && csvRows.dropFirst().allSatisfy { $0.last?.count == 64 })

        let table = try fixture.run(["-c", Self.query])
        let parsedTable = parseTable(table.stdout)
        #expect(parsedTable.header == ["name", "modality", "size"])
        #expect(parsedTable.rows == expected)
        #expect(parsedTable.footer == "(\(expected.count) files)")
        #expect(!table.stdout.contains("\u{1B}"), "no colour when stdout is not a terminal")
    }

    @Test func aLimitSaysNOfMInEveryFormat() throws {
        let fixture = try ShellFixture()
        let total = ShellFixture.corpusNames.count
        let table = try fixture.run(["-c", "find name order by name limit 2"])
        #expect(parseTable(table.stdout).rows.count == 2)
        #expect(table.stdout.hasSuffix("(2 of \(total) files)\n"))
        let json = try jsonObject(try fixture.run(["--format", "json", "-c", "find name limit 2"]).stdout)
        #expect(json["returned"] as? Int == 2 && json["total"] as? Int == total)
        let csv = try fixture.run(["--format", "csv", "-c", "find name limit 2"])
        #expect(parseCSV(csv.stdout).count == 3)
        #expect(csv.stderr == "2 of \(total) files\n", "the note goes to stderr, never into the data")
        let groups = try jsonObject(
            try fixture.run(["--format", "json", "-c", "count by name order by name limit 1"]).stdout)
        #expect(groups["returned"] as? Int == 1 && groups["total"] as? Int == total)
    }

    @Test func countByModalityMatchesTheOracle() throws {
        let fixture = try ShellFixture()
        var expected: [String: Int] = [:]
        for (_, modality) in try ShellFixture.oracleValues("Modality") { expected[modality, default: 0] += 1 }
        let result = try fixture.run(["--format", "json", "-c", "count by modality"])
        let groups = try #require(try jsonObject(result.stdout)["groups"] as? [[String: Any]])
        var found: [String: Int] = [:]
        for group in groups { found[group["modality"] as? String ?? "", default: 0] += group["count"] as? Int ?? 0 }
        #expect(found == expected)
        let counts = groups.map { $0["count"] as? Int ?? 0 }
        #expect(counts == counts.sorted(by: >), "largest first")
    }

    @Test func scriptErrorsPointAtFileLineAndColumnAndStopTheScript() throws {
        let fixture = try ShellFixture()
        let script = try fixture.script(
            "bad.dql",
            """
            -- a comment
            count

            find where modality = 'CT' and fnord = 1
            count by modality
            """)
        let result = try fixture.run(["-f", script])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("\(script):4:32: error: unknown field 'fnord'\n"))
        #expect(result.stderr.contains("    find where modality = 'CT' and fnord = 1\n"))
        #expect(result.stderr.contains("\n" + String(repeating: " ", count: 4 + 31) + "^~~~~\n"))
        #expect(parseTable(result.stdout).header == ["count"], "the statement before the error ran")
        #expect(!result.stdout.contains("modality"), "nothing after the error ran")

        let going = try fixture.run(["--continue-on-error", "-f", script])
        #expect(going.status == 1, "the failure still shows in the exit status")
        #expect(going.stdout.contains(" modality "), "the statement after the error ran")
    }

    @Test func aScriptPipedOnStdinBehavesExactlyLikeDashF() throws {
        let fixture = try ShellFixture()
        let text = "count\nfind name where\n  modality = 'MR' order by name\nshow 'nothing-here.dcm'\ncount\n"
        let path = try fixture.script("s.dql", text)
        let viaFile = try fixture.run(["-f", path])
        let viaPipe = try fixture.run([], input: text)
        let viaDash = try fixture.run(["-f", "-"], input: text)
        #expect(viaFile.status == 1)
        #expect(viaPipe.status == viaFile.status && viaDash.status == viaFile.status)
        #expect(viaPipe.stdout == viaFile.stdout && viaDash.stdout == viaFile.stdout)
        let diagnostic = """
            :4:6: error: no file named 'nothing-here.dcm'
                show 'nothing-here.dcm'
                     ^~~~~~~~~~~~~~~~~~
                help: `find name where name like 'not*'` lists the names that start the same way

            """
        #expect(viaFile.stderr == path + diagnostic)
        #expect(viaPipe.stderr == "<stdin>" + diagnostic)
        #expect(viaDash.stderr == viaPipe.stderr)
    }

    @Test func multiLineStatementsAndSeveralPerLine() throws {
        let fixture = try ShellFixture()
        let result = try fixture.run(
            ["--format", "csv"],
            input: "find name where (\n  modality = 'MR' or\n  modality = 'CT'\n) order by name; count\n")
        #expect(result.status == 0, "\(result.stderr)")
        let modalities = try ShellFixture.oracleValues("Modality")
        let expected = modalities.filter { $0.value == "MR" || $0.value == "CT" }.keys.sorted()
        #expect(parseCSV(result.stdout).map(\.first) == ["name"] + expected + ["count", "\(modalities.count)"])
    }

    @Test func commandsAndFilesRunInTheOrderGiven() throws {
        let fixture = try ShellFixture()
        let script = try fixture.script("one.dql", "count where modality = 'MR'\n")
        let result = try fixture.run([
            "--format", "csv", "-c", "count", "-f", script, "-c", "count where modality = 'zz'",
        ])
        let mr = try ShellFixture.oracleValues("Modality").values.filter { $0 == "MR" }.count
        #expect(result.stdout == "count\r\n\(ShellFixture.corpusNames.count)\r\ncount\r\n\(mr)\r\ncount\r\n0\r\n")
    }

    @Test func exitCodesAreDocumentedOnes() throws {
        let fixture = try ShellFixture(load: false)
        let empty = try fixture.run(["-c", "count"])
        #expect(empty.status == 1, "no dql data under the prefix is a failed statement")
        #expect(try fixture.run(["-c", "count where fnord = 1"]).status == 1)
        let usage = try fixture.run(["--format", "xml", "-c", "count"])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("xml"))
        let port = try freePort()
        let unreachable = try fixture.run(["--url", "redis://127.0.0.1:\(port)", "-c", "count"])
        #expect(unreachable.status == 69)
        #expect(unreachable.stderr.contains("127.0.0.1:\(port)"))
        let badURL = try fixture.run(["--url", "redis://u:hunter2@host:notaport", "-c", "count"])
        #expect(badURL.status == 64)
        #expect(!badURL.stderr.contains("hunter2"))
        let missing = try fixture.run(["-f", fixture.directory.appendingPathComponent("nope.dql").path])
        #expect(missing.status == 64)
        let help = try fixture.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("69"))
    }

    @Test func timingGoesToStderrWithPhasesAndDataStaysClean() throws {
        let fixture = try ShellFixture()
        let out = fixture.directory.appendingPathComponent("out").path
        let result = try fixture.run([
            "--timing", "--format", "csv", "-c", "count", "-c", "fetch 'CT_small.dcm' to '\(out)'",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let timings = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Time: ") }
        #expect(timings.count == 2)
        #expect(timings.last?.contains("parse and compile") == true)
        #expect(timings.last?.contains("server query") == true)
        #expect(timings.last?.contains("transfer") == true && timings.last?.contains("/s") == true)
        #expect(timings.last?.contains("disk write") == true && timings.last?.contains("checksum") == true)
        #expect(!result.stdout.contains("Time:"))
        #expect(parseCSV(result.stdout).first == ["count"])
    }

    @Test func metaCommandsInScripts() throws {
        let fixture = try ShellFixture()
        let output = fixture.directory.appendingPathComponent("result.json").path
        let included = try fixture.script("inner.dql", "count where modality = 'MR'\n")
        let script = try fixture.script(
            "meta.dql",
            "\\format json\n\\o '\(output)'\ncount\n\\o\n\\i '\(included)'\n\\x on\n\\format table\nfind name, modality where name = 'CT_small.dcm'\n\\fnord\n"
        )
        let result = try fixture.run(["-f", script])
        #expect(result.status == 1)
        #expect(
            try String(contentsOfFile: output, encoding: .utf8) == "{\"count\":\(ShellFixture.corpusNames.count)}\n")
        let mr = try ShellFixture.oracleValues("Modality").values.filter { $0 == "MR" }.count
        #expect(result.stdout.hasPrefix("{\"count\":\(mr)}\n"))
        #expect(result.stdout.contains("-[ RECORD 1 ]"))
        #expect(result.stdout.contains("name     | CT_small.dcm\nmodality | CT\n"))
        #expect(result.stderr.contains("\(script):9:1: error: unknown meta-command '\\fnord'"))
    }

    @Test func helpNeedsNoServer() throws {
        let fixture = try ShellFixture(load: false)
        let port = try freePort()
        let result = try fixture.run(["--url", "redis://127.0.0.1:\(port)", "-c", "\\help find", "-c", "\\?"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("find [patients|studies|series|instances] [* | FIELD, …]"))
        #expect(result.stdout.contains("\\timing"))
    }

    @Test func showListsTheHeaderAndJSONIsTheStoredDocument() throws {
        let fixture = try ShellFixture()
        let table = try fixture.run(["-c", "show 'CT_small.dcm'"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("PatientName"))
        #expect(table.stdout.contains("(0010,0010)"))
        let json = try jsonObject(try fixture.run(["--format", "json", "-c", "show 'CT_small.dcm'"]).stdout)
        #expect(json["name"] as? String == "CT_small.dcm")
        #expect((json["dicom"] as? [String: Any])?["00100010"] != nil)
    }

    @Test func benchMeasuresEveryCellVerifiesAndCleansUp() throws {
        let fixture = try ShellFixture(load: false)
        let result = try fixture.run(["bench", "--size", "4MB", "--chunk", "64KB,256KB", "--connections", "1,4"])
        #expect(result.status == 0, "\(result.stderr)")
        let table = parseTable(result.stdout)
        #expect(table.header == ["chunk", "load MiB/s", "fetch, 1 conn. MiB/s", "fetch, 4 conn. MiB/s"])
        #expect(table.rows.map(\.first) == ["64 KiB", "256 KiB"])
        #expect(table.rows.allSatisfy { $0.dropFirst().allSatisfy { (Double($0) ?? 0) > 0 } })
        #expect(result.stderr.components(separatedBy: "(verified)").count == 5)
        let connection = try TestRedis.connection()
        #expect(try connection.keys(matching: "dql-bench:*").isEmpty, "the test object is gone")
    }
}

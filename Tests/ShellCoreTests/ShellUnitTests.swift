import DQL
import Foundation
import Testing

@testable import ShellCore

/// The shell's pieces, in-process: rendering, settings, the command line, completion and help,
/// all reading DQL's one table of keywords and settings.
@Suite struct ShellUnitTests {
    static let found: FoundRows = {
        var rows = FoundRows(columns: ["name", "size", "date"])
        for index in 0..<5 {
            rows.ids.append(String(repeating: "\(index)", count: 64))
            rows.rows.append(["f\(index).dcm", String(1000 * index), index == 2 ? nil : "2019-03-0\(index + 1)"])
        }
        rows.total = 9
        rows.returned = 5
        return rows
    }()

    /// Rows streamed in pages print exactly as the same rows collected.
    @Test(arguments: OutputFormat.allCases) func streamedRowsPrintAsCollectedRows(format: OutputFormat) throws {
        for expanded in [false, true] {
            let style = OutputStyle(format: format, expanded: expanded ? .on : .off, color: false)
            let collected = ResultRenderer.render(.rows(Self.found), style: style)
            var text = ""
            let stream = RowStream(style: style) { text += $0 }
            stream.begin(columns: Self.found.columns, total: Self.found.total, level: .instances)
            stream.page(ids: Array(Self.found.ids[0..<2]), rows: Array(Self.found.rows[0..<2]))
            stream.page(ids: [], rows: [])
            stream.page(ids: Array(Self.found.ids[2...]), rows: Array(Self.found.rows[2...]))
            var streamed = Self.found
            streamed.rows = []
            streamed.ids = []
            streamed.streamed = true
            let notes = stream.finish(streamed)
            #expect(text == collected.data, "\(format) expanded \(expanded)")
            #expect(notes == collected.notes)
        }
    }

    @Test func jsonRowsAreOneValidObjectWithTheTotals() throws {
        let rendered = ResultRenderer.render(.rows(Self.found), style: OutputStyle(format: .json))
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(rendered.data.utf8)) as? [String: Any])
        #expect((object["rows"] as? [[String: Any]])?.count == 5)
        #expect(object["returned"] as? Int == 5 && object["total"] as? Int == 9)
        let empty = ResultRenderer.render(.rows(FoundRows(columns: ["name"])), style: OutputStyle(format: .json))
        #expect(empty.data == "{\"rows\":[],\"returned\":0,\"total\":0}\n")
        let table = ResultRenderer.render(.rows(FoundRows(columns: ["name"])), style: OutputStyle())
        #expect(table.data == " name\n------\n(0 files)\n")
    }

    /// A file name is one value even with a backslash in it (`--format json` gave
    /// `"name":["back","slash.dcm"]`); a DICOM attribute's values are a list.
    @Test(arguments: [OutputFormat.json, .ndjson]) func aNameWithABackslashIsOneValue(format: OutputFormat) throws {
        var rows = FoundRows(columns: ["name", "modality"])
        rows.ids = [String(repeating: "a", count: 64)]
        rows.rows = [["back\\slash.dcm", "CT\\MR"]]
        rows.total = 1
        rows.returned = 1
        let rendered = ResultRenderer.render(.rows(rows), style: OutputStyle(format: format))
        let line = try #require(rendered.data.split(separator: "\n").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let row = try #require(format == .json ? (object["rows"] as? [[String: Any]])?.first : object)
        #expect(row["name"] as? String == "back\\slash.dcm")
        #expect(row["modality"] as? [String] == ["CT", "MR"])
    }

    @Test func settingsChangeInOneValue() {
        var settings = SessionSettings()
        settings = settings.with(.chunkSize(1 << 20)).with(.timing(true)).with(.format(.csv)).with(.confirm(false))
        settings = settings.with(.connections(4)).with(.window(2)).with(.timeout(500))
        #expect(settings.execution.chunkSize == 1 << 20 && settings.execution.connections == 4)
        #expect(settings.execution.window == 2 && settings.execution.timeoutMilliseconds == 500)
        #expect(settings.timing && settings.style.format == .csv && !settings.confirm)
        #expect(SessionSettings.describe(.chunkSize(1 << 20)) == "chunk is 1MiB")
        #expect(SessionSettings.describe(.timeout(500)) == "timeout is 500 ms")
    }

    @Test func theCommandLineParsesInProcess() throws {
        let command = try DQLCommand.parse(["-c", "count", "--yes", "--format", "csv", "-f", "a.dql", "--timing"])
        #expect(command.commands == ["count"] && command.files == ["a.dql"])
        #expect(command.yes && command.timing && command.format == .csv)
        #expect(throws: (any Error).self) { try DQLCommand.parse(["--format", "xml"]) }
        #expect(
            DQLCommand.orderedActions(
                arguments: ["dql", "-f", "a.dql", "-c", "count", "--url", "redis://x", "-f", "b.dql"],
                commands: ["count"], files: ["a.dql", "b.dql"]) == [.file("a.dql"), .command("count"), .file("b.dql")])
    }

    @Test func completionAndHelpReadTheKeywordTable() throws {
        let completer = Completer(tagValues: { _ in [] })
        #expect(
            completer.complete(word: "", before: "") == .candidates(Keyword.statements.map(\.rawValue), append: " "))
        #expect(completer.complete(word: "co", before: "") == .candidates(["count"], append: " "))
        guard case .candidates(let inside, _) = completer.complete(word: "wi", before: "load ./x ") else {
            Issue.record("no candidates")
            return
        }
        #expect(inside == ["window"])
        // Dictionary keywords where an attribute fits, once something is typed; level columns.
        #expect(
            completer.complete(word: "SliceThick", before: "find where ")
                == .candidates(["SliceThickness"], append: " "))
        guard case .candidates(let acquisition, _) = completer.complete(word: "acquisitiond", before: "find name, ")
        else {
            Issue.record("no candidates")
            return
        }
        #expect(acquisition.contains("AcquisitionDate") && acquisition.contains("AcquisitionDateTime"))
        #expect(
            completer.complete(word: "numberOfI", before: "find studies order by ")
                == .candidates(["numberOfInstances"], append: " "))
        #expect(completer.complete(word: "Slice", before: "find studies order by ") == .candidates([], append: " "))
        #expect(
            completer.complete(word: "stu", before: "find ")
                == .candidates(["study", "studyUid", "studies"], append: " "))
        let overview = try HelpText.text(for: nil)
        for keyword in Keyword.statements { #expect(overview.contains("  \(keyword.rawValue) ")) }
        #expect(try HelpText.text(for: "set").contains("chunk SIZE (4KiB to 16MiB)"))
        #expect(throws: SessionError.self) { try HelpText.text(for: "fnd") }
        #expect((try? HelpText.text(for: "fnd")) == nil)
        do {
            _ = try HelpText.text(for: "fnd")
        } catch {
            #expect("\(error)".hasPrefix("no help for 'fnd'; did you mean 'find'?"))
        }
    }

    @Test func metaCommandsSayWhatIsWrongAndWhere() throws {
        #expect(try MetaCommand.parse("\\timing on") == .timing(true))
        #expect(throws: MetaCommandError("expected on or off, found 'maybe'", column: 9)) {
            try MetaCommand.parse("\\timing maybe")
        }
        #expect(
            throws: MetaCommandError(
                "unknown meta-command '\\tming'; did you mean '\\timing'? (\\? lists them)", column: 1)
        ) {
            try MetaCommand.parse("\\tming")
        }
        let long = "\\" + String(repeating: "z", count: 100_000)
        #expect(throws: MetaCommandError.self) { try MetaCommand.parse(long) }
    }
}

import DQL
import Foundation
import Testing

@testable import ShellCore

/// Variables, meta-commands and completion, in-process (the same features on a terminal are
/// in the end-to-end REPL tests).
@Suite struct ShellFeatureTests {
    // MARK: Variables

    static let nasty = "o'Brien \\ \"x\" ; -- :other\nline\ttab"

    @Test func interpolationQuotesAnyValueAsOneDQLString() throws {
        var variables = Variables()
        variables["v"] = Self.nasty
        variables["n"] = "512"
        let text = try variables.interpolate("find where patient = :'v' and rows = :n", strict: true)
        #expect(text == "find where patient = 'o''Brien \\\\ \"x\" ; -- :other\\nline\\ttab' and rows = 512")
        // The quoted value reads back exactly as the one string it was.
        let tokens = try Lexer.tokenize(text)
        #expect(tokens.contains { $0.kind == .string(Self.nasty) })
    }

    @Test func nothingInsideQuotesCommentsOrWordsIsAReference() throws {
        var variables = Variables()
        variables["x"] = "VALUE"
        #expect(try variables.interpolate("':x' \":x\" -- :x", strict: true) == "':x' \":x\" -- :x")
        #expect(try variables.interpolate("load C:/x host:x ./a:x", strict: true) == "load C:/x host:x ./a:x")
        #expect(try variables.interpolate("(:x,:x)", strict: true) == "(VALUE,VALUE)")
        // Not a name: left alone.
        #expect(try variables.interpolate(": :1 :'' :'x", strict: true) == ": :1 :'' :'x")
    }

    @Test func anUndefinedVariableIsAnErrorWithItsPlaceInStatements() {
        let variables = Variables()
        #expect(throws: Variables.Undefined(name: "patient", bytes: 21..<29)) {
            try variables.interpolate("find where patient = :patient", strict: true)
        }
        #expect(throws: Variables.Undefined(name: "p", bytes: 24..<28)) {
            try variables.interpolate("find where patient = é :'p'", strict: true)
        }
        #expect((try? variables.interpolate("\\connect redis://u:pw@h", strict: false)) == "\\connect redis://u:pw@h")
    }

    @Test func commandLineAssignments() {
        #expect(Variables.assignment("patient=SP0001")! == ("patient", "SP0001"))
        #expect(Variables.assignment("a=b=c")! == ("a", "b=c"))
        #expect(Variables.assignment("x=")! == ("x", ""))
        #expect(Variables.assignment("1x=2") == nil)
        #expect(Variables.assignment("novalue") == nil)
        #expect(Variables.assignment("=v") == nil)
    }

    @Test func theReaderSeesVariablesWhenItDecidesAStatementGoesOn() {
        var variables = Variables()
        variables["p"] = "SP0001"
        var reader = StatementReader(holdsCompleteStatements: true) {
            (try? variables.interpolate($0, strict: false)) ?? $0
        }
        #expect(reader.feed("find where patientId = :'p'").isEmpty)
        #expect(reader.feed("  and year = 2019").isEmpty)
        #expect(reader.finish()?.kind == .statements("find where patientId = :'p'\n  and year = 2019"))
    }

    @Test func gAndETakeTheStatementBeingTyped() {
        var reader = StatementReader(holdsCompleteStatements: true)
        #expect(reader.feed("find name").isEmpty)
        let units = reader.feed("\\g out.csv")
        #expect(units == [InputUnit(kind: .meta("\\g out.csv"), statement: "find name", firstLine: 2, firstByte: 10)])
        #expect(reader.finish() == nil)
        // Other meta-commands let the held statement run first.
        #expect(reader.feed("count").isEmpty)
        #expect(reader.feed("\\timing").map(\.kind) == [.statements("count"), .meta("\\timing")])
        // Inside a string a backslash line is text.
        var open = StatementReader()
        #expect(open.feed("find where name = 'a").isEmpty)
        #expect(open.feed("\\g").count == 1)
        #expect(open.finish() == nil)
    }

    // MARK: Meta-commands

    @Test func metaCommandsParse() throws {
        #expect(try MetaCommand.parse("\\set name  a  'b c'") == .setVariable(name: "name", value: "a b c"))
        #expect(try MetaCommand.parse("\\set") == .listVariables)
        #expect(try MetaCommand.parse("\\set x 'it''s \\\\ \\n'") == .setVariable(name: "x", value: "it's \\ \n"))
        #expect(try MetaCommand.parse("\\unset x") == .unsetVariable("x"))
        #expect(try MetaCommand.parse("\\echo hello   world") == .echo("hello world"))
        #expect(try MetaCommand.parse("\\x auto") == .expanded(.auto))
        #expect(try MetaCommand.parse("\\x") == .expanded(nil))
        #expect(try MetaCommand.parse("\\pager off") == .pager(.off))
        #expect(try MetaCommand.parse("\\g") == .go(nil))
        #expect(try MetaCommand.parse("\\g out.csv") == .go("out.csv"))
        #expect(try MetaCommand.parse("\\g | grep -c 'x y'") == .go("| grep -c 'x y'"))
        #expect(try MetaCommand.parse("\\o |wc -l") == .output("|wc -l"))
        #expect(try MetaCommand.parse("\\e") == .edit)
        #expect(try MetaCommand.parse("\\watch") == .watch(seconds: 2, count: nil))
        #expect(try MetaCommand.parse("\\watch 0.5 3") == .watch(seconds: 0.5, count: 3))
        #expect(try MetaCommand.parse("\\watch c=2 i=1") == .watch(seconds: 1, count: 2))
    }

    @Test func badMetaCommandsSayWhatAndWhere() {
        func message(_ line: String) -> String {
            do {
                _ = try MetaCommand.parse(line)
                return "parsed"
            } catch {
                return "\(error.column): \(error.message)"
            }
        }
        #expect(message("\\x sideways") == "4: expected off, on or auto, found 'sideways'")
        #expect(message("\\pager maybe") == "8: expected auto, on or off, found 'maybe'")
        #expect(message("\\watch 0") == "8: \\watch: the interval is a number of seconds from 0.1 to 86400, found '0'")
        #expect(message("\\watch 1 1e9") == "10: \\watch: the count is a whole number from 1 to 1000000, found '1e9'")
        #expect(
            message("\\watch nan") == "8: \\watch: the interval is a number of seconds from 0.1 to 86400, found 'nan'")
        #expect(message("\\watch x=1") == "8: \\watch takes SECONDS and COUNT (or i=SECONDS c=COUNT), found 'x=1'")
        #expect(message("\\set 1x y") == "6: '1x' cannot be a variable name: a letter or _, then letters, digits and _")
        #expect(message("\\unset") == "1: \\unset needs a name")
        #expect(message("\\o |  ") == "4: \\o | needs a command after the bar")
        #expect(message("\\e file") == "4: \\e takes no arguments")
        #expect(message("\\set u 'unterminated") == "8: unterminated quoted string")
    }

    // MARK: Completion

    static let values: [String: [String]] = [
        "patient": ["o'Brien^Seán", "Other^Person", "back\\slash"], "modality": ["CT", "MR"], "sex": ["F", "M"],
    ]

    func completer(directory: String = "/") -> Completer {
        Completer(tagValues: { Self.values[$0.name] ?? [] }, currentDirectory: { directory })
    }

    @Test func valuesAreEscapedForTheirQuotes() {
        let completer = completer()
        #expect(
            completer.complete(word: "o", before: "find where patient = '")
                == .candidates(["o''Brien^Seán", "Other^Person"], append: "'"))
        // After `''` typed (libedit's word starts after the last quote).
        #expect(
            completer.complete(word: "B", before: "find where patient = 'o''")
                == .candidates(["Brien^Seán"], append: "'"))
        #expect(
            completer.complete(word: "b", before: "find where patient = \"")
                == .candidates(["back\\\\slash"], append: "\""))
        #expect(
            completer.complete(word: "C", before: "find where modality = 'MR' and sex in ('F', 'M') or modality = '")
                == .candidates(["CT"], append: "'"))
    }

    @Test func valuesNamesAndFilesWhereTheyGo() throws {
        let completer = completer()
        #expect(completer.complete(word: "C", before: "find where modality = ") == .candidates(["'CT"], append: "'"))
        #expect(completer.complete(word: "", before: "find where size > ") == .candidates([], append: nil))
        #expect(
            completer.complete(word: "o", before: "count where patient = ")
                == .candidates(["'o''Brien^Seán", "'Other^Person"], append: "'"))
        guard case .candidates(let open, _) = completer.complete(word: "", before: "find where (") else { return }
        #expect(open.contains("modality"), "a condition, not a value, after (")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dql-complete-meta-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root.appendingPathComponent("report.dql").path, contents: Data())
        FileManager.default.createFile(atPath: root.appendingPathComponent("back\\slash.dcm").path, contents: Data())
        let inRoot = Completer(tagValues: { _ in [] }, currentDirectory: { root.path })
        for meta in ["\\i ", "\\o ", "\\g "] {
            #expect(inRoot.complete(word: "rep", before: meta) == .candidates(["report.dql"], append: " "), "\(meta)")
        }
        #expect(inRoot.complete(word: "ba", before: "load ") == .candidates(["'back\\\\slash.dcm"], append: "'"))
    }

    @Test func afterACompleteConditionTheKeywordsThatCanFollow() {
        let completer = completer()
        guard case .candidates(let next, _) = completer.complete(word: "", before: "find where modality = 'CT' ")
        else { return }
        #expect(Set(next) == ["and", "or", "order by", "limit", "fetch to"])
        #expect(completer.complete(word: "o", before: "count by sex ") == .candidates(["order by"], append: " "))
        guard case .candidates(let fields, _) = completer.complete(word: "", before: "find where ") else { return }
        #expect(fields.contains("modality") && fields.contains("not") && !fields.contains("and"))
        #expect(completer.complete(word: "mo", before: "find name where ") == .candidates(["modality"], append: " "))
    }

    @Test func pathsGoOnIntoDirectoriesQuotedOrNot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dql-complete-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("my scans/inner"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("scans"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root.appendingPathComponent("scans/it's.dcm").path, contents: Data())
        FileManager.default.createFile(atPath: root.appendingPathComponent("scans/a.dcm").path, contents: Data())
        let completer = completer(directory: root.path)
        #expect(completer.complete(word: "sc", before: "load ") == .candidates(["scans/"], append: nil))
        // Unquoted, a name with a quote would end the path: every candidate opens a quote.
        #expect(
            completer.complete(word: "scans/", before: "load ")
                == .candidates(["'scans/a.dcm", "'scans/it''s.dcm"], append: nil))
        #expect(completer.complete(word: "scans/a", before: "load ") == .candidates(["scans/a.dcm"], append: " "))
        #expect(completer.complete(word: "my", before: "load '") == .candidates(["my scans/"], append: nil))
        #expect(completer.complete(word: "sc", before: "load 'my ") == .candidates(["scans/"], append: nil))
        #expect(completer.complete(word: "i", before: "load 'my scans/") == .candidates(["inner/"], append: nil))
        #expect(completer.complete(word: "scans/i", before: "load '") == .candidates(["scans/it''s.dcm"], append: "'"))
        #expect(
            completer.complete(word: "\(root.path)/s", before: "find fetch to ")
                == .candidates(["\(root.path)/scans/"], append: nil))
        // Unquoted, names that need quotes are offered quoted, escaped, on one line.
        #expect(completer.complete(word: "my", before: "load ") == .candidates(["'my scans/"], append: nil))
        FileManager.default.createFile(atPath: root.appendingPathComponent("new\nline.dcm").path, contents: Data())
        #expect(completer.complete(word: "ne", before: "load ") == .candidates(["'new\\nline.dcm"], append: "'"))
        #expect(completer.complete(word: "new\\nl", before: "load '") == .candidates(["new\\nline.dcm"], append: "'"))
    }

    @Test func gAfterAStatementOnTheSameLineTakesIt() {
        var reader = StatementReader()
        #expect(
            reader.feed("find name where name = 'a \\g b' \\g out.csv") == [
                InputUnit(
                    kind: .meta("find name where name = 'a \\g b' \\g out.csv"),
                    statement: "find name where name = 'a \\g b'", metaColumn: 33, firstLine: 1, firstByte: 0)
            ])
        #expect(reader.feed("count -- a comment \\g").map(\.kind) == [.statements("count -- a comment \\g")])
        #expect(StatementReader.trailingMetaCommand(in: "count \\timing") == nil, "only \\g and \\e take a statement")
        #expect(StatementReader.trailingMetaCommand(in: "find where patientId = PX-1 \\g x")?.meta == "\\g x")
        #expect(Completer.currentStatement("count; -- a; comment\nfind") == " -- a; comment\nfind")
    }

    @Test func errorsAfterInterpolationPointAtWhatWasWritten() throws {
        var variables = Variables()
        variables["m"] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        let written = "count where modality = :'m' and protcol = 1"
        let interpolation = try variables.interpolation(of: written, strict: true)
        guard let error = Parser.parseUntilError(interpolation.text).error else {
            Issue.record("no error")
            return
        }
        let located = interpolation.locate(error, in: written)
        #expect(located.range.start.column == 33 && located.range.end.column == 40, "\(located.range)")
        // An error inside a value points at its reference.
        variables["v"] = "CT\nbadword"
        let raw = try variables.interpolation(of: "count where modality = :v", strict: true)
        guard let inside = Parser.parseUntilError(raw.text).error else {
            Issue.record("no error")
            return
        }
        let at = raw.locate(inside, in: "count where modality = :v")
        #expect(at.range.start.line == 1 && at.range.start.column == 24, "\(at.range)")
        #expect(raw.writtenColumn(25, in: "count where modality = :v") == 24)
    }
}

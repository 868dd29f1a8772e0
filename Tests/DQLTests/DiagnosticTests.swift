import Testing

@testable import DQL

/// Every error DQL can report about a statement, with ⟦ ⟧ around the text the diagnostic must
/// point at, its catalogue identifier and its whole message.
@Suite struct DiagnosticTests {
    /// Strips the markers, compiles, and returns the error with the marked range.
    static func diagnose(_ marked: String) -> (error: DQLError?, expected: SourceRange?) {
        var source = ""
        var start: DQL.SourceLocation?
        var end: DQL.SourceLocation?
        var location = DQL.SourceLocation.start
        for scalar in marked.unicodeScalars {
            if scalar == "⟦" {
                start = location
                continue
            }
            if scalar == "⟧" {
                end = location
                continue
            }
            source.unicodeScalars.append(scalar)
            location.offset += scalar.utf8.count
            if scalar == "\n" {
                location.line += 1
                location.column = 1
            } else {
                location.column += 1
            }
        }
        let expected = start.flatMap { start in end.map { SourceRange(start, $0) } }
        do {
            for statement in try Parser.parse(source) { _ = try Compiler().compile(statement.statement) }
            return (nil, expected)
        } catch {
            return (error, expected)
        }
    }

    @Test(
        arguments: [
            // Lexer
            ("find where name = ⟦`⟧x`", "DQL101", "unexpected character '`'"),
            ("find where name = ⟦\u{1}⟧", "DQL101", "unexpected character U+0001"),
            ("find where name = ⟦'abc⟧", "DQL102", "unterminated string"),
            ("find where name = 'a⟦\\q⟧'", "DQL103", "unknown escape '\\q'"),
            ("find where name = 'a⟦\\u12⟧'", "DQL104", "invalid unicode escape '\\u12'"),
            ("find where name = 'a⟦\\u{}⟧'", "DQL104", "invalid unicode escape '\\u{}'"),
            ("find where name = 'a⟦\\u{1234567⟧'", "DQL104", "invalid unicode escape '\\u{1234567'"),
            ("find where name = 'a⟦\\UD800DC00⟧'", "DQL104", "invalid unicode escape '\\UD800DC00'"),
            ("find where name = 'a⟦\\0⟧b'", "DQL105", "a value cannot contain a NUL character"),
            ("find where name = 'a⟦\\u0000⟧b'", "DQL105", "a value cannot contain a NUL character"),
            ("find where name = 'a⟦\u{0}⟧b'", "DQL105", "a value cannot contain a NUL character"),
            ("find where date = ⟦2019-02-30⟧", "DQL106", "invalid date '2019-02-30'"),
            ("find where rows = ⟦1.2.3.⟧", "DQL107", "invalid number '1.2.3.'"),
            // A bare UID is a word: a number field says it is not a number.
            ("find where rows = ⟦1.2.3⟧", "DQL309", "'rows' is a number; '1.2.3' is not"),
            ("find where size > ⟦1e400⟧", "DQL108", "number '1e400' is out of range"),
            ("find where rows in (⟦1e400⟧, 2)", "DQL108", "number '1e400' is out of range"),
            ("load ./x chunk ⟦1.5QB⟧", "DQL109", "unknown size unit 'QB'"),
            ("load ./x chunk ⟦64QB⟧", "DQL207", "chunk must be a size from 4KiB to 16MiB, not '64QB'"),
            ("find where size > ⟦1e-400⟧", "DQL108", "number '1e-400' is out of range"),
            ("load ./x chunk ⟦1.3B⟧", "DQL110", "size '1.3B' is not a whole number of bytes"),
            ("load ./x chunk ⟦9e20GB⟧", "DQL111", "size '9e20GB' is too large"),
            // Parser
            ("⟦fnd⟧ where name = 'x'", "DQL201", "expected a statement, found 'fnd'"),
            ("⟦where⟧ name = 'x'", "DQL201", "expected a statement, found 'where'"),
            ("count ⟦name⟧", "DQL202", "expected end of statement, found 'name'"),
            ("find where (name = 'x'⟦⟧", "DQL204", "expected ')' to close the '(' at 1:12, found end of input"),
            ("explain ⟦explain⟧ count", "DQL205", "explain takes a statement other than explain"),
            ("set ⟦chunks⟧ = 1MB", "DQL206", "unknown setting 'chunks'"),
            ("set format = ⟦xml⟧", "DQL207", "format must be one of table, csv, json, ndjson, not 'xml'"),
            ("set timing = ⟦maybe⟧", "DQL207", "timing must be on or off, not 'maybe'"),
            ("set chunk = ⟦1⟧", "DQL207", "chunk must be a size from 4KiB to 16MiB, not '1'"),
            ("set chunk ⟦64GB⟧", "DQL207", "chunk must be a size from 4KiB to 16MiB, not '64GB'"),
            ("set connections ⟦65⟧", "DQL207", "connections must be a whole number from 1 to 64, not '65'"),
            ("set window ⟦0⟧", "DQL207", "window must be a whole number from 1 to 64, not '0'"),
            (
                "set timeout ⟦0⟧", "DQL207",
                "timeout must be a whole number of milliseconds from 1 to 60000, not '0'"
            ),
            (
                "load ./x connections ⟦9223372036854775807⟧", "DQL207",
                "connections must be a whole number from 1 to 64, not '9223372036854775807'"
            ),
            ("load ./x chunk ⟦big⟧", "DQL207", "chunk must be a size from 4KiB to 16MiB, not 'big'"),
            ("find limit ⟦ten⟧", "DQL207", "limit must be a whole number from 0 to 1000000000, not 'ten'"),
            ("find limit ⟦-1⟧", "DQL207", "limit must be a whole number from 0 to 1000000000, not '-1'"),
            (
                "find limit 1 offset ⟦9223372036854775807⟧", "DQL207",
                "offset must be a whole number from 0 to 1000000000, not '9223372036854775807'"
            ),
            ("find where ⟦protcol⟧ = '194'", "DQL208", "unknown field 'protcol'"),
            ("find ⟦wher⟧ modality = 'CT'", "DQL209", "unexpected word 'wher'"),
            ("count ⟦wher⟧ modality = 'CT'", "DQL202", "expected end of statement, found 'wher'"),
            ("find where name ⟦lik⟧ 'x*'", "DQL209", "unexpected word 'lik'"),
            ("fetch x.dcm ⟦into⟧ ./out", "DQL209", "unexpected word 'into'"),
            ("find ⟦offset⟧ 5", "DQL210", "offset needs a limit before it"),
            ("find studies where modality = 'CT' ⟦preview⟧", "DQL219", "a contact sheet shows files, not studies"),
            ("find limit 5 preview size ⟦4096⟧", "DQL207", "size must be a whole number from 16 to 512, not '4096'"),
            (
                "find limit ⟦0⟧ preview", "DQL207",
                "limit must be a whole number from 1 to 100 for a contact sheet, not '0'"
            ),
            (
                "preview x.dcm window 40⟦/0⟧", "DQL207",
                "the window's width must be a number of at least 1, not '0'"
            ),
            (
                "preview x.dcm window ⟦nan⟧/400", "DQL207",
                "window must be CENTER/WIDTH such as 40/400, or a preset: lung, mediastinum, abdomen, liver, bone, brain, stroke, subdural, not 'nan'"
            ),
            (
                "find where modality = 'CT' limit ⟦500⟧ preview to sheet.png", "DQL207",
                "limit must be a whole number from 1 to 100 for a contact sheet, not '500'"
            ),
            ("count ⟦order⟧ by count", "DQL211", "order by needs `by`: a plain count is one number"),
            (
                "find where name like⟦⟧", "DQL203",
                "expected a value (a quoted string, a number, a date), found end of input"
            ),
            (
                "find where name ⟦⟧", "DQL203",
                "expected a comparison (=, !=, <, <=, >, >=) or in, between, like, contains, is missing, found end of input"
            ),
            ("find where rows between 1 ⟦or⟧ 2", "DQL203", "expected 'and', found 'or'"),
            ("find where name is ⟦there⟧", "DQL203", "expected 'missing', found 'there'"),
            ("find where name = ⟦)⟧", "DQL203", "expected a value (a quoted string, a number, a date), found ')'"),
            ("show⟦⟧", "DQL203", "expected a file name or id after show, e.g. show 'CT_small.dcm', found end of input"),
            (
                "fetch x.dcm to⟦⟧", "DQL203",
                "expected a path after to, e.g. ./out or '/data/my scans', found end of input"
            ),
            ("delete ⟦name⟧ = 'x'", "DQL203", "expected 'where', found 'name'"),
            ("delete studies⟦⟧", "DQL203", "expected 'where', found end of input"),
            ("find studies order by ⟦protocol⟧", "DQL215", "a study row has no column 'protocol'"),
            ("find patients ⟦studies⟧", "DQL215", "a patient row has no column 'studies'"),
            (
                "find where ⟦PixelData⟧ is missing", "DQL216",
                "PixelData is bulk data (OB or OW): it has no value to compare or show"
            ),
            (
                "find name, ⟦ReferencedImageSequence⟧", "DQL216",
                "ReferencedImageSequence is a sequence (SQ): it has no value to compare or show"
            ),
            (
                "index ⟦protocol⟧", "DQL217",
                "'protocol' is one of dql's own fields, always indexed; index takes other attributes"
            ),
            (
                "unindex ⟦PatientID⟧", "DQL217",
                "'patientId' is one of dql's own fields, always indexed; unindex takes other attributes"
            ),
            ("find where ⟦SliceThicknes⟧ < 2", "DQL208", "unknown field 'SliceThicknes'"),
            ("find name, date, ⟦StudyDate⟧", "DQL218", "'date' is a column twice"),
            ("find studies date, numberOfSeries, ⟦date⟧", "DQL218", "'date' is a column twice"),
            ("find where ⟦(FFFE,E000)⟧ = 1", "DQL208", "unknown field '(FFFE,E000)'"),
            ("find where ⟦ImageType < 2⟧", "DQL308", "'<' compares numbers and dates; 'ImageType' is text"),
            ("find where SliceThickness = ⟦'thin'⟧", "DQL309", "'SliceThickness' is a number; 'thin' is not"),
            ("find where AcquisitionDate = ⟦2019-13-01⟧", "DQL106", "invalid date '2019-13-01'"),
            ("find series seriesUid, ⟦rows⟧ where modality = 'CT'", "DQL215", "a series row has no column 'rows'"),
            ("find where modality in ⟦'CT'⟧", "DQL203", "expected '(' after in, found ''CT''"),
            ("find where modality in ('CT' ⟦'MR'⟧)", "DQL203", "expected ')' or ',' in the list, found ''MR''"),
            // Compiler
            ("count by sex, ⟦sex⟧", "DQL301", "'sex' is grouped twice"),
            ("count by sex order by ⟦modality⟧", "DQL302", "cannot order by 'modality': it is not grouped"),
            ("find where ⟦name⟧ between 1 and 2", "DQL303", "between compares numbers and dates; 'name' is text"),
            (
                "find where rows between ⟦10 and 5⟧", "DQL304",
                "between 10 and 5 matches nothing: the bounds are reversed"
            ),
            ("find where ⟦rows⟧ like '5*'", "DQL305", "like matches text; 'rows' is a number"),
            (
                "find where ⟦modality⟧ contains 'CT'", "DQL306",
                "contains searches words, and 'modality' has no word index"
            ),
            ("find where protocol contains ⟦'--'⟧", "DQL307", "contains needs at least one word (letters or digits)"),
            ("find where ⟦name > 'x'⟧", "DQL308", "'>' compares numbers and dates; 'name' is text"),
            ("find where rows = ⟦'many'⟧", "DQL309", "'rows' is a number; 'many' is not"),
            ("find where date = ⟦'yesterday'⟧", "DQL309", "'date' is a date; 'yesterday' is not"),
            ("count where date = ⟦1e19⟧", "DQL309", "'date' is a date; 1e19 is not"),
            ("count where date = ⟦9223372036854775807⟧", "DQL309", "'date' is a date; 9223372036854775807 is not"),
            ("count where date between ⟦-1e19⟧ and 1", "DQL309", "'date' is a date; -1e19 is not"),
            ("find where year = ⟦2019.5⟧", "DQL309", "'year' is a year; 2019.5 is not"),
            ("find where year = ⟦1e300⟧", "DQL309", "'year' is a year; 1e300 is not"),
            ("find where name = ⟦1KB⟧", "DQL309", "'name' is text; the size 1KB is not"),
            (
                "find where name like ⟦'star\\\\**'⟧", "DQL310",
                "like cannot match a literal '*' or '?' in a pattern with wildcards"
            ),
            (
                "find where protocol contains ⟦'\(Array(repeating: "w", count: 101).joined(separator: " "))'⟧",
                "DQL311", "contains takes at most 100 words"
            ),
        ] as [(String, String, String)])
    func errorsPointAtTheOffendingText(marked: String, id: String, message: String) {
        let (error, expected) = Self.diagnose(marked)
        guard let error else {
            Issue.record("expected a DQLError for \(marked)")
            return
        }
        #expect(error.message == message, "\(marked)")
        #expect(error.id == id, "\(marked): \(error.id)")
        #expect(error.range == expected, "\(marked): \(error.range.start)-\(error.range.end)")
    }

    @Test func suggestionsAndFixIts() {
        let (unknownField, _) = Self.diagnose("find where protcol = '194'")
        #expect(unknownField?.help == "did you mean 'protocol'?")
        #expect(unknownField?.fixIt?.replacement == "protocol")
        #expect(Self.diagnose("fnd").error?.fixIt?.replacement == "find")
        #expect(Self.diagnose("set conections 4").error?.fixIt?.replacement == "connections")
        #expect(Self.diagnose("find wher modality = 'CT'").error?.help == "did you mean 'where'?")
        #expect(Self.diagnose("count wher modality = 'CT'").error?.help == "did you mean 'where'?")
        #expect(Self.diagnose("find where modality = 'CT' ordr by size").error?.help == "did you mean 'order'?")
        // A field close to a keyword is still a field.
        #expect(Self.diagnose("find where nme = 'x'").error?.help == "did you mean 'name'?")
        // Nothing close: no guess.
        #expect(Self.diagnose("find where zzzzzz = 'x'").error?.help == "`fields` lists the fields")
        // A level's columns: the count a plain word stands for, or the closest name.
        let studies = Self.diagnose("find patients studies").error
        #expect(
            studies?.help
                == "did you mean 'numberOfStudies'? its columns are patientId, patient, sex, numberOfStudies, numberOfSeries, numberOfInstances, size; a condition (`where`) may use any field"
        )
        #expect(studies?.fixIt?.replacement == "numberOfStudies")
        // Dictionary keywords are suggested too.
        #expect(Self.diagnose("find where SliceThicknes < 2").error?.fixIt?.replacement == "SliceThickness")
        #expect(
            Self.diagnose("find studies order by numberOfInstance").error?.fixIt?.replacement == "numberOfInstances")
    }

    @Test func incompleteInputIsMarkedSoTheShellCanAskForMore() {
        for source in [
            "find where", "find where name =", "find where (name = 'x'", "fetch x to", "count by",
            "find where rows between 1", "find where name = 'CT", "find where name = 'CT\\",
        ] {
            #expect(Self.diagnose(source).error?.isIncomplete == true, "\(source)")
        }
        #expect(Self.diagnose("find where fnord = 1").error?.isIncomplete == false)
    }

    @Test func renderedWithFileLineColumnCaretAndHelp() throws {
        let source = "count\nfind where protcol = '194'\n"
        let error = #expect(throws: DQLError.self) { try Parser.parse(source) }
        #expect(
            error?.rendered(source: source, file: "scenarios.dql") == """
                scenarios.dql:2:12: error: unknown field 'protcol'
                    find where protcol = '194'
                               ^~~~~~~
                    help: did you mean 'protocol'?

                """)
    }

    /// A 5 MB unknown word: the suggestion is not looked for (no candidate is that long), the
    /// message quotes 40 characters, and the rendered line is a window of 100 columns.
    @Test func hugeInputGivesAShortDiagnostic() throws {
        let word = String(repeating: "x", count: 5_000_000)
        let source = "find where \(word) = 1"
        let error = try #require(Self.diagnose(source).error)
        #expect(error.message == "unknown field '\(String(repeating: "x", count: 40))…'")
        let rendered = error.rendered(source: source)
        #expect(rendered.count < 400)
        #expect(
            rendered == """
                1:12: error: unknown field '\(String(repeating: "x", count: 40))…'
                    find where \(String(repeating: "x", count: 89))…
                    \(String(repeating: " ", count: 11))^\(String(repeating: "~", count: 88))
                    help: `fields` lists the fields

                """)
        #expect(Suggestion.closest(to: word, among: Schema.fieldNames) == nil)
    }

    @Test func controlCharactersInTheSourceLineAreNotPrinted() {
        let source = "find where name = \u{1B}[31mred"
        let rendered = Self.diagnose(source).error?.rendered(source: source) ?? ""
        #expect(!rendered.contains("\u{1B}"))
        #expect(rendered.contains("unexpected character U+001B"))
    }

    @Test func nestingIsLimitedAndTheLimitIsExact() throws {
        let limit = Parser.maximumNesting
        let deepest = String(repeating: "(", count: limit) + "modality = 'CT'" + String(repeating: ")", count: limit)
        #expect(throws: Never.self) { try Parser.parse("count where " + deepest) }
        let tooDeep = "count where (" + deepest + ")"
        let error = try #require(Self.diagnose(tooDeep).error)
        #expect(error.message == "the condition nests deeper than 64 levels")
        #expect(error.id == "DQL212")
        #expect(error.range.start.column == 13 + limit)
        let nots = Self.diagnose("count where " + String(repeating: "not ", count: 2000) + "modality = 'CT'").error
        #expect(nots?.id == "DQL212")
        // Every shape the fuzzer used: 750 parentheses, 700 alternating levels.
        let parentheses = String(repeating: "(", count: 750) + "rows = 1" + String(repeating: ")", count: 750)
        #expect(Self.diagnose("count where " + parentheses).error?.id == "DQL212")
        var alternating = "modality = 'CT'"
        for level in 0..<700 { alternating = "(rows = \(level) \(level % 2 == 0 ? "and" : "or") \(alternating))" }
        #expect(Self.diagnose("count where " + alternating).error?.id == "DQL212")
    }

    @Test func valuesPerStatementAreLimited() {
        let many = (0...Parser.maximumValues).map { "'v\($0)'" }.joined(separator: ", ")
        #expect(Self.diagnose("count where modality in (\(many))").error?.id == "DQL213")
    }

    @Test func unicodeEscapesTakeExactlyTheirDigits() throws {
        func value(_ literal: String) throws -> String? {
            guard case .compare(_, _, let value) = try find("find where name = \(literal)") else { return nil }
            if case .text(let text) = value.value { return text }
            return nil
        }
        func find(_ source: String) throws -> Condition? {
            guard case .find(let statement) = try Parser.parseStatement(source) else { return nil }
            return statement.condition
        }
        #expect(try value("'Ren\\u00e9e'") == "Renée")
        #expect(try value("'\\u00e9t\\u00e9'") == "été")
        #expect(try value("'\\U0001F600!'") == "😀!")
        #expect(try value("'caf\\u{e9}s'") == "cafés")
        #expect(try value("'\\u{1F600}'") == "😀")
        #expect(try value("'it''s'") == "it's")
    }

    @Test func newlinesEndStatementsOnlyWhereTheyCould() throws {
        #expect(try Parser.parse("find where name = 'a'\ncount").count == 2)
        #expect(try Parser.parse("find where name = 'a' and\n  rows > 1").count == 1)
        #expect(try Parser.parse("find where (name = 'a'\n or name = 'b')").count == 1)
        // A line that can only continue a statement continues the one before.
        for source in [
            "find where name = 'a'\nand rows > 1", "delete where patientId = 'PX0'\n  and year = 2019",
            "find where name = 'a'\n\n  -- a comment\n  or rows > 1", "count\nby modality", "find\nwhere rows > 1",
            "find where rows > 1\norder by size\nlimit 3\noffset 1", "find where rows > 1\nfetch to ./out",
        ] {
            #expect(try Parser.parse(source).count == 1, "\(source)")
        }
        guard
            case .delete(let condition, _) = try Parser.parseStatement(
                "delete where patientId = 'PX0'\n  and year = 2019")
        else {
            Issue.record("not a delete")
            return
        }
        guard case .and(let terms) = condition else {
            Issue.record("the second line was not joined")
            return
        }
        #expect(terms.count == 2)
        // `fetch NAME to` on a new line is its own statement.
        #expect(try Parser.parse("find where rows > 1\nfetch x.dcm to ./out").count == 2)
        // A continuation word that does not fit is an error at it, not a second statement.
        let error = #expect(throws: DQLError.self) { try Parser.parse("find where name = 'a'\nby modality") }
        #expect(error?.range.start.line == 2)
        #expect(error?.message == "expected end of statement, found 'by'")
    }

    /// Every message of the catalogue has its own identifier.
    @Test func catalogueIdentifiersAreUnique() {
        let samples = Self.catalogue
        #expect(Set(samples.map(\.id)).count == samples.count)
        #expect(samples.allSatisfy { $0.id.hasPrefix("DQL") })
    }

    /// One message of each kind in the catalogue.
    static let catalogue: [DiagnosticMessage] = [
        .unexpectedCharacter("x"), .unterminatedString(quote: "'"), .unknownEscape("q"),
        .invalidUnicodeEscape(""), .nulInValue, .invalidDate(""), .invalidNumber(""), .numberOutOfRange(""),
        .unknownSizeUnit(""), .sizeNotWhole(""), .sizeTooLarge(""),
        .expectedStatement(found: "", suggestion: nil, continuation: false),
        .expectedEndOfStatement(found: "", suggestion: nil), .expected(.value, found: ""),
        .unclosedParenthesis(openedAt: .start, found: ""), .explainOfExplain, .unknownSetting("", suggestion: nil),
        .invalidSettingValue(setting: "", allowed: "", found: ""), .unknownField("", suggestion: nil),
        .misspelledKeyword("", keyword: ""), .offsetWithoutLimit, .countOrderWithoutGroups,
        .nestingTooDeep(limit: 1), .tooManyValues(limit: 1),
        .noSuchLevelColumn("", level: "", columns: [], suggestion: nil), .attributeWithoutValue("", vr: "SQ"),
        .ownField("", unindex: false), .columnTwice(""), .contactSheetOfLevel(level: ""), .groupedTwice(field: ""),
        .orderByUngrouped(field: ""), .betweenOnText(field: ""), .betweenReversed(low: "", high: ""),
        .likeOnNonText(field: "", type: ""), .containsWithoutWordIndex(field: "", wordFields: []),
        .containsWithoutWords, .comparisonOnText(comparison: "", field: ""),
        .wrongValueType(field: "", type: "", found: "", hint: nil), .noFileNamed(""),
        .ambiguousName("", count: 2, ids: []), .noFileWithId(""), .noData(prefix: "", endpoint: ""),
        .patternTooBroad(field: "", pattern: "", limit: 1), .queryTimedOut(milliseconds: 1),
        .resultWindowTooLarge(maximum: 1), .unknownUser(""), .cannotLoad(path: "", reason: ""),
        .metaCommand(""), .statementFailed(""),
    ]
}

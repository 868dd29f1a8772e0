import Testing

@testable import DQL

/// Every error DQL can report, with ⟦ ⟧ around the text the diagnostic must point at.
@Suite struct DiagnosticTests {
    /// Strips the markers, compiles, and returns the error with the marked range.
    func diagnose(_ marked: String) -> (error: DQLError?, expected: SourceRange?) {
        var source = ""
        var start: DQL.SourceLocation?
        var end: DQL.SourceLocation?
        var location = DQL.SourceLocation.start
        for scalar in marked.unicodeScalars {
            if scalar == "⟦" { start = location; continue }
            if scalar == "⟧" { end = location; continue }
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
            ("find where name = ⟦`⟧x`", "unexpected character '`'"),
            ("find where name = ⟦'abc⟧", "unterminated string"),
            ("find where name = 'a⟦\\q⟧'", "unknown escape '\\q'"),
            ("find where name = 'a⟦\\u⟧'", "invalid \\u escape"),
            ("find where date = ⟦2019-02-30⟧", "invalid date '2019-02-30'"),
            ("find where rows = ⟦1.2.3⟧", "invalid number '1.2.3'"),
            ("load ./x chunk ⟦64QB⟧", "unknown size unit 'QB'"),
            ("load ./x chunk ⟦1.3B⟧", "size '1.3B' is not a whole number of bytes"),
            // Parser
            ("⟦fnd⟧ where name = 'x'", "expected a statement, found 'fnd'"),
            ("⟦where⟧ name = 'x'", "expected a statement, found 'where'"),
            ("count ⟦name⟧", "expected end of statement, found 'name'"),
            ("explain ⟦explain⟧ count", "explain takes a statement other than explain"),
            ("set ⟦chunks⟧ = 1MB", "unknown setting 'chunks'"),
            ("set format = ⟦xml⟧", "unknown format 'xml'"),
            ("set timing = ⟦maybe⟧", "timing is on or off, not 'maybe'"),
            ("find where (name = 'x'⟦⟧", "expected ')' to close the '(' at 1:12, found end of input"),
            ("find where name like⟦⟧", "expected a value (a quoted string, a number, a date), found end of input"),
            ("find where name ⟦⟧", "expected a comparison"),
            ("find where rows between 1 ⟦or⟧ 2", "expected 'and', found 'or'"),
            ("find where name is ⟦there⟧", "expected 'missing', found 'there'"),
            ("find where ⟦protcol⟧ = '194'", "unknown field 'protcol'"),
            ("find where name = ⟦)⟧", "expected a value"),
            ("show⟦⟧", "expected a file name or id after show"),
            ("fetch x.dcm to⟦⟧", "expected a path after to"),
            ("fetch x.dcm ⟦into⟧ ./out", "expected 'to', found 'into'"),
            ("find limit ⟦ten⟧", "limit must be a whole number, not 'ten'"),
            ("find limit ⟦-1⟧", "limit must be a whole number, not '-1'"),
            ("find ⟦offset⟧ 5", "offset needs a limit before it"),
            ("load ./x connections ⟦0⟧", "connections must be a whole number of at least 1, not '0'"),
            ("load ./x chunk ⟦big⟧", "chunk must be a size such as 512KB or 1MB, not 'big'"),
            ("count ⟦order⟧ by count", "order by needs `by`"),
            ("delete ⟦name⟧ = 'x'", "expected 'where', found 'name'"),
            ("find where modality in ⟦'CT'⟧", "expected '(' after in, found ''CT''"),
            ("find where modality in ('CT' ⟦'MR'⟧)", "expected ')' or ',' in the list"),
            // Compiler
            ("count by sex, ⟦sex⟧", "'sex' is grouped twice"),
            ("count by sex order by ⟦modality⟧", "cannot order by 'modality': it is not grouped"),
            ("find where ⟦name⟧ between 1 and 2", "between compares numbers and dates; 'name' is text"),
            ("find where rows between ⟦10 and 5⟧", "between 10 and 5 matches nothing: the bounds are reversed"),
            ("find where ⟦rows⟧ like '5*'", "like matches text; 'rows' is a number"),
            ("find where ⟦modality⟧ contains 'CT'", "contains searches words, and 'modality' has no word index"),
            ("find where protocol contains ⟦'--'⟧", "contains needs at least one word"),
            ("find where ⟦name > 'x'⟧", "'>' compares numbers and dates; 'name' is text"),
            ("find where rows = ⟦'many'⟧", "'rows' is a number; 'many' is not"),
            ("find where date = ⟦'yesterday'⟧", "'date' is a date; 'yesterday' is not"),
            ("find where year = ⟦2019.5⟧", "'year' is a year such as 2019; 2019.5 is not"),
            ("find where name = ⟦1KB⟧", "'name' is text; a size"),
        ] as [(String, String)])
    func errorsPointAtTheOffendingText(marked: String, message: String) {
        let (error, expected) = diagnose(marked)
        guard let error = error as? DQLError else {
            Issue.record("expected a DQLError for \(marked), got \(String(describing: error))")
            return
        }
        #expect(error.message.hasPrefix(message), "\(error.message)")
        #expect(error.range == expected, "\(marked): \(error.range.start)-\(error.range.end)")
    }

    @Test func suggestionsAndFixIts() {
        let (unknownField, _) = diagnose("find where ⟦protcol⟧ = '194'")
        #expect((unknownField as? DQLError)?.help == "did you mean 'protocol'?")
        #expect((unknownField as? DQLError)?.fixIt == "protocol")
        let (statement, _) = diagnose("⟦fnd⟧")
        #expect((statement as? DQLError)?.fixIt == "find")
        let (setting, _) = diagnose("set ⟦conections⟧ 4")
        #expect((setting as? DQLError)?.fixIt == "connections")
    }

    @Test func incompleteInputIsMarkedSoTheShellCanAskForMore() {
        for source in [
            "find where", "find where name =", "find where (name = 'x'", "fetch x to", "count by",
            "find where rows between 1", "find where name = 'CT",
        ] {
            let (error, _) = diagnose(source)
            #expect((error as? DQLError)?.isIncomplete == true, "\(source)")
        }
        let (complete, _) = diagnose("find where ⟦fnord⟧ = 1")
        #expect((complete as? DQLError)?.isIncomplete == false)
    }

    @Test func renderedWithFileLineColumnAndCaret() throws {
        let source = "count\nfind where protcol = '194'\n"
        let error = #expect(throws: DQLError.self) { try Parser.parse(source) }
        let text = error?.rendered(source: source, file: "scenarios.dql")
        #expect(
            text == """
                scenarios.dql:2:12: error: unknown field 'protcol'
                    find where protcol = '194'
                               ^~~~~~~
                    help: did you mean 'protocol'?

                """)
    }

    @Test func newlinesEndStatementsOnlyWhereTheyCould() throws {
        #expect(try Parser.parse("find where name = 'a'\ncount").count == 2)
        #expect(try Parser.parse("find where name = 'a' and\n  rows > 1").count == 1)
        #expect(try Parser.parse("find where (name = 'a'\n or name = 'b')").count == 1)
        let error = #expect(throws: DQLError.self) { try Parser.parse("find where name = 'a'\nand rows > 1") }
        #expect(error?.range.start.line == 2)
    }
}

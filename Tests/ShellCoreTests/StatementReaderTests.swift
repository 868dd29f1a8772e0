import Testing

@testable import ShellCore

/// Cutting lines into units, in-process: scripts hold a complete statement until the next line
/// shows whether it goes on; the REPL runs it at once.
@Suite struct StatementReaderTests {
    /// Feeds every line, then finishes; returns the units' texts (meta-commands with `\`).
    func units(_ lines: [String], script: Bool) -> [InputUnit] {
        var reader = StatementReader(holdsCompleteStatements: script)
        var units: [InputUnit] = []
        for line in lines { units += reader.feed(line) }
        if let last = reader.finish() { units.append(last) }
        return units
    }

    func texts(_ units: [InputUnit]) -> [String] {
        units.map {
            switch $0.kind {
            case .meta(let line): line
            case .statements(let text): text
            }
        }
    }

    @Test func aScriptLineThatContinuesAStatementJoinsIt() {
        let lines = [
            "delete where patientId = 'PX0'", "  and year = 2019", "count", "", "-- a comment", "  by modality",
            "find where rows > 1", "fetch to ./out", "find", "fetch x.dcm to ./y", "\\timing on", "count",
        ]
        #expect(
            texts(units(lines, script: true)) == [
                "delete where patientId = 'PX0'\n  and year = 2019", "count\n\n-- a comment\n  by modality",
                "find where rows > 1\nfetch to ./out", "find", "fetch x.dcm to ./y", "\\timing on", "count",
            ])
    }

    @Test func theReplRunsACompleteStatementAtOnce() {
        var reader = StatementReader(holdsCompleteStatements: false)
        #expect(texts(reader.feed("delete where patientId = 'PX0'")) == ["delete where patientId = 'PX0'"])
        #expect(texts(reader.feed("  and year = 2019")) == ["  and year = 2019"])
        #expect(reader.feed("find where") == [])
        #expect(reader.isContinuing)
        #expect(texts(reader.feed("  rows > 1")) == ["find where\n  rows > 1"])
    }

    @Test func aHeldStatementIsNotContinuingButHolding() {
        var reader = StatementReader(holdsCompleteStatements: true)
        #expect(reader.feed("count").isEmpty)
        #expect(reader.isHolding && !reader.isContinuing)
        #expect(texts(reader.feed("count by sex")) == ["count"])
        #expect(texts([reader.finish()].compactMap { $0 }) == ["count by sex"])
        #expect(reader.finish() == nil)
    }

    @Test func unitsKnowTheirFirstLineAndByte() {
        let found = units(["-- header", "count", "  by sex", "\\x", "find where", "  rows > 1"], script: true)
        #expect(found.map(\.firstLine) == [2, 4, 5])
        #expect(found.map(\.firstByte) == [10, 25, 28])
    }

    @Test func onlyWordsThatCannotStartAStatementContinueOne() {
        for line in [
            "and x = 1", "or x", "where x = 1", "order by x", "by x", "limit 3", "offset 2", "fetch to ./o", "AND x",
        ] {
            #expect(StatementReader.continues(Substring(line)), "\(line)")
        }
        for line in ["count", "fetch x to ./o", "find", "(a = 1)", "andy = 1", "", "-- and"] {
            #expect(!StatementReader.continues(Substring(line)), "\(line)")
        }
    }

    @Test func anErrorIsNotHeld() {
        var reader = StatementReader(holdsCompleteStatements: true)
        #expect(texts(reader.feed("find wher x = 1")) == ["find wher x = 1"])
    }
}

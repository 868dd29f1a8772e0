import Testing

@testable import DQL

/// The demo notebook's three scenarios as DQL. They compile to these commands today; the
/// storage engine's tests run them on the loaded corpus.
@Suite struct DemoScenarioTests {
    let compiler = Compiler()

    @Test func scenario1AllBytesOfOneFile() throws {
        guard case .fetch(let lookup, let directory, _, _) = try compiler.compile("fetch 'JPGExtended.dcm' to ./out")
        else {
            Issue.record("not a fetch")
            return
        }
        #expect(directory.text == "./out")
        #expect(
            lookup.command == [
                "FT.SEARCH", "dql:{m}:idx", "@names:{$p0}", "NOCONTENT", "LIMIT", "0", "2", "TIMEOUT", "10000",
                "PARAMS",
                "2",
                "p0", "JPGExtended.dcm", "DIALECT", "2",
            ])
    }

    @Test func scenario2SearchThenFetch() throws {
        // The demo's `@protocolName:194 @studyDate:{2019*}`: exact protocol, a numeric year
        // instead of a TAG prefix (which expands to at most 200 values).
        let plan = try compiler.compile("find where protocol='194' and year=2019 fetch to ./out")
        #expect(
            plan.commands.first?.prefix(3) == ["FT.SEARCH", "dql:{m}:idx", "(@protocol:{$p0} @studyYear:[$p1 $p2])"])
        #expect(
            plan.commands.first?.suffix(10) == [
                "PARAMS", "6", "p0", "194", "p1", "2019", "p2", "2019", "DIALECT", "2",
            ])
    }

    @Test func scenario3CountByProtocolDescending() throws {
        let argv = try compiler.compile("count by protocol").commands
        #expect(argv.count == 1)
        // Sorted by count, largest first, with an explicit MAX so no group is silently dropped.
        let command = try #require(argv.first)
        #expect(command.contains("MAX"))
        let sort = try #require(command.firstIndex(of: "SORTBY"))
        #expect(Array(command[sort...].prefix(6)) == ["SORTBY", "4", "@count", "DESC", "@protocol", "ASC"])
    }
}

import DicomCore
import Foundation
import RedisIO
import Synchronization
import TestSupport
import Testing

@testable import DQL

/// With 20,000 files, `count where patient like 'P*'` answered 200 (the server expands a
/// wildcard into at most MAXEXPANSIONS values and drops the rest), and a query that ran into
/// its timeout answered with part of the result (ON_TIMEOUT RETURN). dql never shows a partial
/// answer as a whole one. On a scratch server of the tests' own, whose settings they change.
@Suite(.serialized) struct ServerTruncationTests {
    static let files = 20_000

    struct Archive {
        let server: ScratchServer
        let layout = StorageLayout(prefix: "trunc")

        /// A scratch server holding the documents of 20,000 files: patients P00000…P19999, one
        /// file each, in studies of ten.
        init() throws {
            server = try ScratchServer()
            let connection = try RedisConnection(url: server.url)
            try IndexManager(layout: layout).ensureIndex(connection)
            var commands: [RedisCommand] = []
            for index in 0..<ServerTruncationTests.files {
                let id = String(format: "%064x", index)
                var members: [(String, JSONValue)] = []
                members.append(("name", .string(String(format: "f%05d.dcm", index))))
                members.append(("patientName", .string(String(format: "P%05d", index))))
                members.append(("patientId", .string(String(format: "ID%05d", index))))
                members.append(("modality", .string("CT")))
                members.append(("studyUid", .string("1.2.3.\(index / 10)")))
                members.append(("studyDate", .integer(20190305)))
                members.append(("studyYear", .integer(2019)))
                members.append(("size", .integer(Int64(1000 + index))))
                members.append(("sha256", .string(id)))
                members.append(("chunkSize", .integer(524288)))
                members.append(("chunkCount", .integer(1)))
                let document = JSONValue.object(members)
                commands.append(RedisCommand("JSON.SET", layout.documentKey(id: id), "$", document.serialized()))
                if commands.count == 2000 {
                    for reply in try connection.pipeline(commands) { _ = try reply.checked() }
                    commands.removeAll()
                }
            }
            for reply in try connection.pipeline(commands) { _ = try reply.checked() }
        }

        /// An executor of its own: it reads the server's settings once, as the shell does.
        func executor(timeout: Int = 10_000) throws -> Executor {
            let executor = Executor(
                client: RedisClient(pool: RedisPool(RedisConfiguration(url: server.url))), layout: layout)
            executor.settings.timeoutMilliseconds = timeout
            return executor
        }

        func configure(_ name: String, _ value: String) throws {
            try RedisConnection(url: server.url).call("FT.CONFIG", "SET", name, value)
        }
    }

    @Test func wildcardsAreAnsweredWholeOrRefused() throws {
        let archive = try Archive()
        // As dql's servers run: MAXEXPANSIONS 1000000, the whole answer.
        let whole = try archive.executor()
        #expect(try whole.run("count where patient like 'P*'") == [.count(Self.files)])
        #expect(try whole.run("count where patient like 'P0001?'") == [.count(10)])
        guard case .rows(let found) = try whole.run("find name where patientId like 'ID1*' limit 3").first else {
            Issue.record("no rows")
            return
        }
        #expect(found.total == 10_000 && found.returned == 3)

        // RediSearch's default: 200. A pattern reaching it is refused, pointing at it.
        try archive.configure("MAXEXPANSIONS", "200")
        let cut = try archive.executor()
        for statement in [
            "count where patient like 'P*'", "find where modality = 'CT' and not patient like 'P1*'",
            "count where patient like 'P*' by modality", "delete where patient like 'P*'",
        ] {
            let error = #expect(throws: ExecutionError.self, "\(statement)") { try cut.run(statement) }
            #expect(
                error?.kind == .patternTooBroad(field: "patient", pattern: "P*", limit: 200)
                    || error?.kind == .patternTooBroad(field: "patient", pattern: "P1*", limit: 200), "\(statement)")
            #expect(error?.range != nil)
        }
        #expect(try cut.run("count") == [.count(Self.files)], "the refused delete deleted nothing")
        // Patterns within the limit are answered, and exactly.
        #expect(try cut.run("count where patient like 'P001*'") == [.count(100)])
        #expect(try cut.run("count where patient like 'P19999'") == [.count(1)])
    }

    @Test func aQueryThatRunsOutOfTimeIsAnErrorOrRunsWhole() throws {
        let archive = try Archive()
        // ON_TIMEOUT FAIL (dql's servers): the timeout is the server's, and running into it is
        // an error; never a short answer.
        let failing = try archive.executor(timeout: 1)
        var timedOut = 0
        for _ in 0..<5 {
            do {
                guard case .groups(let groups) = try failing.run("count by patient").first else { continue }
                #expect(groups.rows.count == Self.files && groups.totalGroups == Self.files, "a whole answer, if any")
            } catch let error as ExecutionError {
                #expect(error.kind == .queryTimedOut(milliseconds: 1))
                timedOut += 1
            }
        }
        #expect(timedOut > 0, "grouping 20,000 files takes more than 1 ms")

        // ON_TIMEOUT RETURN (RediSearch's default): queries go without a time limit, said once.
        try archive.configure("ON_TIMEOUT", "RETURN")
        let returning = try archive.executor(timeout: 1)
        let notes = Mutex<[String]>([])
        let context = StatementContext(note: { note in notes.withLock { $0.append(note) } })
        for _ in 0..<3 {
            guard
                case .groups(let groups) = try returning.execute(
                    Parser.parseStatement("count by patient"), context: context)
            else {
                Issue.record("no groups")
                return
            }
            #expect(groups.rows.count == Self.files && groups.totalGroups == Self.files)
        }
        guard case .rows(let sorted) = try returning.run("find name order by size desc").first else { return }
        #expect(sorted.returned == Self.files && sorted.total == Self.files)
        #expect(sorted.rows.first == ["f19999.dcm"])
        #expect(notes.withLock { $0 } == [ServerLimits.untimedNote])
        guard case .explained(let commands, _, _) = try returning.run("explain count by patient").first else { return }
        #expect(commands.first?.contains("TIMEOUT") == true && commands.first?[4] == "0", "\(commands)")
    }

    /// Under MAXSEARCHRESULTS / MAXAGGREGATERESULTS of 1000, a plain `find` said "1000 of 20000"
    /// as if limited, `count by patient` showed 1000 groups, and `limit 10 offset 995` gave 5.
    @Test func resultsPastWhatTheServerReadsAreAnError() throws {
        let archive = try Archive()
        try archive.configure("MAXSEARCHRESULTS", "1000")
        try archive.configure("MAXAGGREGATERESULTS", "1000")
        let executor = try archive.executor()
        for statement in [
            "find", "find name limit 10 offset 995", "count by patient", "find where patient like 'P1*'",
            "count by patient limit 1001",
        ] {
            let error = #expect(throws: ExecutionError.self, "\(statement)") { try executor.run(statement) }
            #expect(error?.kind == .resultWindowTooLarge(maximum: 1000), "\(statement)")
        }
        // What fits is answered.
        guard case .rows(let found) = try executor.run("find name limit 10 offset 990").first else { return }
        #expect(found.returned == 10 && found.total == Self.files)
        guard case .groups(let groups) = try executor.run("count by patient limit 1000").first else { return }
        #expect(groups.rows.count == 1000 && groups.totalGroups == Self.files)
        #expect(try executor.run("count") == [.count(Self.files)])
        #expect(try executor.run("count where patient like 'P001*'") == [.count(100)])
    }

    /// A statement that met an index being built by another client answered from the part
    /// indexed so far.
    @Test func anIndexBeingBuiltIsWaitedFor() throws {
        let archive = try Archive()
        let connection = try RedisConnection(url: archive.server.url)
        for _ in 0..<3 {
            try connection.call("FT.DROPINDEX", archive.layout.indexName)
            // Rebuilt by someone else, not waited for by them.
            try connection.call(
                RedisCommand(
                    ["FT.CREATE", archive.layout.indexName]
                        + Schema.indexDefinition(documentPrefix: archive.layout.documentPrefix)))
            #expect(try archive.executor().run("count") == [.count(Self.files)])
        }
        // Two first uses at once: the second FT.CREATE meets the first's index.
        try connection.call("FT.DROPINDEX", archive.layout.indexName)
        let executors = try (0..<2).map { _ in try archive.executor() }
        let counts = try DedicatedThreads.run(count: 2) { index in try executors[index].run("count") }
        #expect(counts == [[.count(Self.files)], [.count(Self.files)]])
    }
}

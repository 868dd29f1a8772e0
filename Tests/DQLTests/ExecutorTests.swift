import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// Statements run end to end against the real server on a few corpus files.
@Suite(.serialized) struct ExecutorTests {
    static let names = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "rtplan.dcm", "MR_small_implicit.dcm"]

    struct Setup {
        var executor: Executor
        var directory: URL
        var pool: RedisPool
    }

    static func setUp() throws -> Setup {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 4)
        let client = RedisClient(pool: pool)
        let executor = Executor(client: client, layout: StorageTests.layout())
        executor.settings.chunkSize = 8192
        executor.settings.connections = 3
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-exec-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("in"), withIntermediateDirectories: true)
        for name in names {
            try FileManager.default.copyItem(
                at: URL(fileURLWithPath: try Corpus.path("pydicom/test_files/" + name)),
                to: directory.appendingPathComponent("in/" + name))
        }
        return Setup(executor: executor, directory: directory, pool: pool)
    }

    static func tearDown(_ setup: Setup) {
        try? setup.pool.withConnection { StorageTests.dropAll(setup.executor.layout, $0) }
        setup.pool.close()
        try? FileManager.default.removeItem(at: setup.directory)
    }

    @Test func loadFindCountShowFetchDeleteVacuum() throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        let run = { (source: String) throws -> StatementResult in
            let results = try setup.executor.run(source)
            return try #require(results.first)
        }
        let input = setup.directory.appendingPathComponent("in").path
        guard case .loaded(let report) = try run("load '\(input)'") else { Issue.record("not loaded"); return }
        #expect(report.outcomes.count == 5)
        #expect(report.loaded == 5 && report.interruption == nil)

        #expect(try run("count") == .count(5))
        guard case .groups(let modalities) = try run("count by modality") else { Issue.record("no groups"); return }
        #expect(modalities.columns == ["modality"])
        #expect(modalities.rows.map(\.values) == [["MR"], ["CT"], ["NM"], ["RTPLAN"]])
        #expect(modalities.rows.map(\.count) == [2, 1, 1, 1])
        #expect(modalities.totalGroups == 4)
        guard case .groups(let cut) = try run("count by modality limit 2") else { Issue.record("no groups"); return }
        #expect(cut.rows.count == 2)
        #expect(cut.totalGroups == 4, "N of M for groups")

        guard case .rows(let found) = try run("find name, date where modality = 'MR' order by name") else {
            Issue.record("no rows")
            return
        }
        #expect(found.columns == ["name", "date"])
        #expect(found.rows.map { $0[0] } == ["MR_small.dcm", "MR_small_implicit.dcm"])
        #expect(found.rows.first?[1]?.count == 10, "dates shown as 2004-01-19")
        #expect(found.total == 2)
        guard case .rows(let limited) = try run("find limit 2") else { Issue.record("no rows"); return }
        #expect(limited.rows.count == 2)
        #expect(limited.total == 5, "N of M")

        guard case .document(let id, let json) = try run("show 'CT_small.dcm'") else {
            Issue.record("no document"); return
        }
        #expect(json.contains("\"name\":\"CT_small.dcm\""))
        #expect(json.contains("\"00100010\""), "the header as DICOM JSON")
        guard case .fetched(let written) = try run("fetch 'CT_small.dcm' to '\(setup.directory.path)/out'") else {
            Issue.record("nothing fetched")
            return
        }
        #expect(written.first?.id == id)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: written[0].path))
                == Data(contentsOf: setup.directory.appendingPathComponent("in/CT_small.dcm")))
        guard
            case .rows(let fetchedByFind) = try run("find where modality = 'MR' fetch to '\(setup.directory.path)/mr'")
        else {
            Issue.record("no rows")
            return
        }
        #expect(fetchedByFind.fetched.count == 2)

        guard case .explained(let commands, let serverPlan, _) = try run("explain find where modality = 'CT'") else {
            Issue.record("no explanation")
            return
        }
        #expect(commands.first?.first == "FT.SEARCH")
        #expect(serverPlan?.contains("TAG:@modality") == true)

        #expect(try run("delete where modality = 'MR'") == .deleted(2))
        #expect(try run("count") == .count(3))
        guard case .vacuumed(let report) = try run("vacuum") else { Issue.record("no vacuum"); return }
        #expect(report.orphanIds.isEmpty)
        guard case .stats(let stats) = try run("stats") else { Issue.record("no stats"); return }
        #expect(stats.files == 3)
        #expect(stats.bytes > 0)
        guard case .fields(let fields) = try run("fields") else { Issue.record("no fields"); return }
        #expect(fields.first { $0.name == "modality" }?.examples.contains("CT") == true)
    }

    @Test func ambiguousAndUnknownNamesAreClearErrors() throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        _ = try setup.executor.run("load '\(setup.directory.appendingPathComponent("in").path)'")
        let unknown = #expect(throws: ExecutionError.self) { try setup.executor.run("show 'nope.dcm'") }
        #expect(unknown?.description == "no file named 'nope.dcm'")
        #expect(try setup.executor.run("set connections = 2") == [.settingChanged(.connections(2))])
        #expect(setup.executor.settings.connections == 2)
    }

    @Test func limitsLargerThanAPageReadSeveralPages() throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        _ = try setup.executor.run("load '\(setup.directory.appendingPathComponent("in").path)'")
        setup.executor.pageSize = 2
        guard case .groups(let limited) = try setup.executor.run("count by modality limit 3").first else {
            Issue.record("no groups")
            return
        }
        #expect(limited.rows.map(\.values) == [["MR"], ["CT"], ["NM"]])
        #expect(limited.totalGroups == 4)
        guard case .groups(let all) = try setup.executor.run("count by modality").first else {
            Issue.record("no groups")
            return
        }
        #expect(all.rows.count == 4)
        guard case .rows(let found) = try setup.executor.run("find name order by name limit 3").first else {
            Issue.record("no rows")
            return
        }
        #expect(found.rows.map { $0[0] } == ["CT_small.dcm", "JPEG2000.dcm", "MR_small.dcm"])
        #expect(found.total == 5)
    }
}

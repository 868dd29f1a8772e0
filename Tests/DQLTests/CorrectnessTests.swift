import Foundation
import RedisIO
import Synchronization
import TestSupport
import Testing

@testable import DQL

/// The defects of issue 13 that the executor itself answers for, against the real server: each
/// test failed before its fix.
@Suite(.serialized) struct CorrectnessTests {
    struct Store {
        var executor: Executor
        var layout: StorageLayout
        var pool: RedisPool
        var directory: URL

        func close() {
            try? pool.withConnection { StorageTests.dropAll(layout, $0) }
            pool.close()
            try? FileManager.default.removeItem(at: directory)
        }

        func write(_ name: String, _ elements: [SmallDicom.Element]) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try SmallDicom.write(elements, to: path)
            return path
        }
    }

    static func store() throws -> Store {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 8)
        let layout = StorageTests.layout()
        let executor = Executor(client: RedisClient(pool: pool), layout: layout)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-correct-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return Store(executor: executor, layout: layout, pool: pool, directory: directory)
    }

    /// A session whose server was flushed (or restarted empty) after its first statement
    /// answered reads with the raw "no such index", and its next `load` stored documents with
    /// no index at all, which no later statement could find ("no dql data" beside them).
    @Test func aServerFlushedUnderASessionIsNoticed() throws {
        let store = try Self.store()
        defer { store.close() }
        let file = try Corpus.path("pydicom/test_files/CT_small.dcm")
        _ = try store.executor.run("load '\(file)'")
        #expect(try store.executor.run("count") == [.count(1)])
        // What FLUSHALL does to this prefix.
        try store.pool.withConnection { StorageTests.dropAll(store.layout, $0) }
        let error = #expect(throws: ExecutionError.self) { try store.executor.run("count") }
        #expect(error?.kind == .noData(prefix: store.layout.prefix, endpoint: try TestRedis.url().endpoint))
        _ = try store.executor.run("load '\(file)'")
        #expect(try store.executor.run("count where modality = 'CT'") == [.count(1)])
        // Documents whose index and its record are gone: the next statement rebuilds the index,
        // in this session and in a new one.
        for executor in [store.executor, Executor(client: RedisClient(pool: store.pool), layout: store.layout)] {
            try store.pool.withConnection {
                try $0.call("FT.DROPINDEX", store.layout.indexName)
                try $0.call("DEL", IndexManager(layout: store.layout).versionKey)
            }
            #expect(try executor.run("count where modality = 'CT'") == [.count(1)])
            guard case .stats(let stats) = try executor.run("stats").first else { return }
            #expect(stats.files == 1)
            #expect(stats.indexMemory > 0 && stats.metadataPerFile > 500, "\(stats)")
        }
    }

    /// Two files with the same bytes became one document under the first name: the other
    /// name found nothing (`find where name = 'second.dcm'`, `fetch 'second.dcm'`).
    @Test func everyNameAFileWasLoadedUnderFindsIt() throws {
        let store = try Self.store()
        defer { store.close() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try Corpus.path("pydicom/test_files/CT_small.dcm")))
        let first = store.directory.appendingPathComponent("a")
        let later = store.directory.appendingPathComponent("b")
        for directory in [first, later] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try bytes.write(to: first.appendingPathComponent("first.dcm"))
        try bytes.write(to: first.appendingPathComponent("second.dcm"))
        try bytes.write(to: later.appendingPathComponent("third file.dcm"))
        _ = try store.executor.run("load '\(first.path)'")  // one batch: the second follows the first
        _ = try store.executor.run("load '\(later.path)/third file.dcm'")  // alone, later
        #expect(try store.executor.run("count") == [.count(1)])
        for condition in [
            "name = 'first.dcm'", "name = 'second.dcm'", "name = 'third file.dcm'", "name in ('x.dcm', 'second.dcm')",
            "name like 'sec*'", "name contains 'third'", "not name = 'nothing.dcm'",
        ] {
            #expect(try store.executor.run("count where \(condition)") == [.count(1)], "\(condition)")
        }
        #expect(try store.executor.run("count where name = 'fourth.dcm'") == [.count(0)])
        // Shown and sorted by the first name; fetched under the name asked for.
        guard case .rows(let found) = try store.executor.run("find name where name = 'second.dcm'").first else {
            return
        }
        #expect(found.rows == [["first.dcm"]])
        let out = store.directory.appendingPathComponent("out")
        guard case .fetched(let fetched) = try store.executor.run("fetch 'third file.dcm' to '\(out.path)'").first
        else { return }
        #expect(fetched.map { ($0.path as NSString).lastPathComponent } == ["third file.dcm"])
        #expect(FileManager.default.contents(atPath: fetched[0].path) == bytes)
        guard case .document(_, let json) = try store.executor.run("show 'second.dcm'").first else { return }
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["names"] as? [String] == ["first.dcm", "second.dcm", "third file.dcm"])
        #expect((object?["sources"] as? [String])?.count == 3)
    }

    /// A file's one source path is stored as a string (56 bytes less per document than a
    /// one-element array); a second makes it an array, and documents that hold one path as an
    /// array (written before the string form) gain further paths the same way.
    @Test func oneSourceIsAStringAndSeveralAreAList() throws {
        let store = try Self.store()
        defer { store.close() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try Corpus.path("pydicom/test_files/CT_small.dcm")))
        for directory in ["a", "b", "c"] {
            let url = store.directory.appendingPathComponent(directory)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try bytes.write(to: url.appendingPathComponent("\(directory).dcm"))
        }
        let connection = try TestRedis.connection()
        func stored() throws -> (type: String?, json: String) {
            let key = try #require(try TestRedis.scanKeys(store.layout.documentPrefix + "*", connection).first)
            let type = try connection.call("JSON.TYPE", key, "$.sources").array?.first?.string
            return (type, try connection.call("JSON.GET", key, "$.sources").string ?? "")
        }
        let path = { (name: String) in store.directory.appendingPathComponent("\(name)/\(name).dcm").path }
        _ = try store.executor.run("load '\(path("a"))'")
        #expect(try stored().type == "string")
        _ = try store.executor.run("load '\(path("a"))'")  // the same path again: nothing changes
        #expect(try stored().type == "string")
        guard case .document(_, let single) = try store.executor.run("show 'a.dcm'").first else { return }
        let object = try JSONSerialization.jsonObject(with: Data(single.utf8)) as? [String: Any]
        #expect(FileDocument.sourceList(object?["sources"]) == [path("a")])
        _ = try store.executor.run("load '\(path("b"))'")
        #expect(try stored().type == "array")
        let key = try #require(try TestRedis.scanKeys(store.layout.documentPrefix + "*", connection).first)
        // As a document written before the string form holds one path.
        try connection.call("JSON.SET", key, "$.sources", "[\"\(path("a"))\"]")
        _ = try store.executor.run("load '\(path("c"))'")
        let (type, json) = try stored()
        let paths = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String]]
        #expect(type == "array" && paths == [[path("a"), path("c")]], "\(json)")
        #expect(try store.executor.run("count where name = 'c.dcm'") == [.count(1)])
        guard case .document(_, let several) = try store.executor.run("show 'c.dcm'").first else { return }
        let list = try JSONSerialization.jsonObject(with: Data(several.utf8)) as? [String: Any]
        #expect(FileDocument.sourceList(list?["sources"]) == [path("a"), path("c")])
    }

    /// 3,000 copies of one file re-indexed its document at every name (134 MB of index for
    /// one file, 400 files/s) and grew it without bound: names are kept up to a limit, and a
    /// batch's copies are recorded in one write.
    @Test func manyCopiesOfOneFileAreRecordedBoundedAndInOneWriteABatch() throws {
        let store = try Self.store()
        defer { store.close() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try Corpus.path("pydicom/test_files/CT_small.dcm")))
        let input = store.directory.appendingPathComponent("same")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for number in 0..<300 { try bytes.write(to: input.appendingPathComponent("x\(number).dcm")) }
        let notes = Mutex<[String]>([])
        let context = StatementContext(note: { note in notes.withLock { $0.append(note) } })
        guard
            case .loaded(let report) = try store.executor.execute(
                try Parser.parseStatement("load '\(input.path)'"), context: context)
        else { return }
        #expect(report.loaded == 1 && report.alreadyLoaded == 299)
        // The 44 names past the limit are said to be left out, once.
        #expect(
            notes.withLock { $0 }.filter { $0.hasPrefix("names not recorded") }.count == 1, "\(notes.withLock { $0 })")
        let connection = try TestRedis.connection()
        let key = try #require(try TestRedis.scanKeys(store.layout.documentPrefix + "*", connection).first)
        let names = try connection.call("JSON.ARRLEN", key, "$.names").array?.first?.integer
        let sources = try connection.call("JSON.ARRLEN", key, "$.sources").array?.first?.integer
        #expect(names == Int64(Loader.maximumNames) && sources == Int64(Loader.maximumNames))
        let info = try connection.call("FT.INFO", store.layout.indexName).pairs ?? []
        let indexed = info.first { $0.name == "max_doc_id" }?.value.integer ?? 0
        #expect(indexed < 20, "re-indexed once a batch, not once a copy: \(indexed)")
        #expect(try store.executor.run("count where name = 'x0.dcm'") == [.count(1)])
        #expect(try store.executor.run("count where name = 'x255.dcm'") == [.count(1)])
    }

    /// `show` reads the header back from the chunks: damaged ones are named as such, not
    /// reported as a file that is "not DICOM" or with a bare WRONGTYPE.
    @Test func showOfDamagedChunksSaysTheyAreDamaged() throws {
        let store = try Self.store()
        defer { store.close() }
        _ = try store.executor.run("load '\(try Corpus.path("pydicom/test_files/CT_small.dcm"))'")
        let connection = try TestRedis.connection()
        let chunk = try #require(try TestRedis.scanKeys(store.layout.prefix + ":chunk:*", connection).first)
        let length = Int(try connection.call("STRLEN", chunk).integer ?? 0)
        try connection.call("SET", chunk, String(repeating: "g", count: length))
        let damaged = #expect(throws: ExecutionError.self) { try store.executor.run("show 'CT_small.dcm'") }
        #expect(damaged.map { "\($0.kind)" }?.contains("are damaged: its header no longer reads as DICOM") == true)
        try connection.call("DEL", chunk)
        try connection.call("LPUSH", chunk, "x")
        let wrongType = #expect(throws: ExecutionError.self) { try store.executor.run("show 'CT_small.dcm'") }
        #expect(
            wrongType.map { "\($0.kind)" }?.contains("chunk 0 (\(chunk)): WRONGTYPE") == true,
            "\(String(describing: wrongType))")
    }

    /// `dql --prefix typo -c count` created `typo:{m}:idx` and printed 0.
    @Test func readingStatementsNeverWriteAndSayWhenThereIsNoData() throws {
        let store = try Self.store()
        defer { store.close() }
        for statement in [
            "count", "find", "count by modality", "show 'x.dcm'", "fetch 'x.dcm' to /tmp/none", "explain count",
            "delete where modality = 'CT'",
        ] {
            let error = #expect(throws: ExecutionError.self, "\(statement)") { try store.executor.run(statement) }
            #expect(error?.kind == .noData(prefix: store.layout.prefix, endpoint: try TestRedis.url().endpoint))
        }
        // Statements that need no files answer without any.
        guard case .stats(let stats) = try store.executor.run("stats").first else {
            Issue.record("no stats")
            return
        }
        #expect(stats.files == 0)
        guard case .fields(let fields) = try store.executor.run("fields").first else { return }
        #expect(fields.count == Schema.fields.count && fields.allSatisfy(\.examples.isEmpty))
        let keys = try store.pool.withConnection { try $0.keys(matching: store.layout.prefix + ":*") }
        #expect(keys.isEmpty, "nothing was created: \(keys)")
    }

    /// A Protocol Name `a b  c` is stored as `a b c`; the literal compared with it must be
    /// normalised the same way.
    @Test func literalsAreNormalisedAsStoredValuesAre() throws {
        let store = try Self.store()
        defer { store.close() }
        _ = try store.write(
            "spaced.dcm",
            [
                .init(0x0008, 0x0060, "CS", "MR"), .init(0x0010, 0x0010, "PN", "Doe^Jane "),
                .init(0x0018, 0x1030, "LO", "a b  c"),
            ])
        _ = try store.executor.run("load '\(store.directory.path)'")
        for statement in [
            "count where protocol = 'a b  c'", "count where protocol = ' a  b c '", "count where protocol = 'a b c'",
            "count where protocol in ('x', 'a\tb c')", "count where protocol like 'a b  *'",
            "count where patient = 'Doe^Jane'", "count where protocol contains 'B'",
        ] {
            #expect(try store.executor.run(statement) == [.count(1)], "\(statement)")
        }
        #expect(try store.executor.run("count where protocol != 'a  b c'") == [.count(0)])
    }

    @Test func showOfAnIdThatDoesNotExistSaysSo() throws {
        let store = try Self.store()
        defer { store.close() }
        _ = try store.write("one.dcm", [.init(0x0008, 0x0060, "CS", "CT")])
        _ = try store.executor.run("load '\(store.directory.path)'")
        let id = String(repeating: "ab", count: 32)
        let error = #expect(throws: ExecutionError.self) { try store.executor.run("show '\(id)'") }
        #expect(error?.kind == .noFileWithId(id))
        #expect(error?.range?.start.column == 6)
    }

    /// `load FILE chunk 64GB` used to be accepted, and every fetch of that file then aborted
    /// allocating 64 GiB. Such documents may exist: a fetch sizes its buffers by the file.
    @Test func aFileStoredWithAHugeChunkSizeStillFetches() throws {
        let store = try Self.store()
        defer { store.close() }
        let path = try store.write("huge-chunk.dcm", [.init(0x0008, 0x0060, "CS", "CT")])
        store.executor.settings.chunkSize = 16 << 20
        guard case .loaded(let report) = try store.executor.run("load '\(path)'").first,
            case .loaded(let id, _, let size) = report.outcomes.first
        else {
            Issue.record("not loaded")
            return
        }
        // As an older dql would have written it.
        try store.pool.withConnection {
            try $0.call("JSON.SET", store.layout.documentKey(id: id), "$.chunkSize", "68719476736")
        }
        let out = store.directory.appendingPathComponent("out").path
        guard case .fetched(let files) = try store.executor.run("fetch '\(id)' to '\(out)'").first else {
            Issue.record("not fetched")
            return
        }
        #expect(files.map(\.size) == [size])
        #expect(FileManager.default.contents(atPath: files[0].path) == FileManager.default.contents(atPath: path))
        #expect(Fetcher.memoryPlan(chunkSize: 68_719_476_736, size: 1 << 30, connections: 8) == (1, 1))
        #expect(Fetcher.memoryPlan(chunkSize: 512 << 20, size: 2 << 30, connections: 64) == (1, 1))
        #expect(Fetcher.memoryPlan(chunkSize: 512 << 10, size: 1 << 30, connections: 8) == (8, 8))
        let (connections, buffers) = Fetcher.memoryPlan(chunkSize: 16 << 20, size: 1 << 30, connections: 64)
        #expect(connections * buffers * (16 << 20) <= 128 << 20)
    }

    /// Rows reach the statement's sink a page at a time; nothing is collected.
    @Test func rowsStreamAPageAtATime() throws {
        let store = try Self.store()
        defer { store.close() }
        for index in 0..<7 {
            _ = try store.write(
                "f\(index).dcm", [.init(0x0008, 0x0060, "CS", "CT"), .init(0x0020, 0x0013, "IS", "\(index)")])
        }
        _ = try store.executor.run("load '\(store.directory.path)'")
        store.executor.pageSize = 3
        final class Pages: RowSink, @unchecked Sendable {
            var began: (columns: [String], total: Int)?
            var sizes: [Int] = []
            var names: [String] = []
            func begin(columns: [String], total: Int, level: Level) { began = (columns, total) }
            func page(ids: [String], rows: [[String?]]) {
                sizes.append(rows.count)
                names += rows.compactMap { $0.first ?? nil }
            }
        }
        let sink = Pages()
        guard
            case .rows(let found) = try store.executor.execute(
                Parser.parseStatement("find name order by name"), context: StatementContext(rows: sink))
        else {
            Issue.record("no rows")
            return
        }
        #expect(sink.sizes == [3, 3, 1])
        #expect(sink.names == (0..<7).map { "f\($0).dcm" })
        #expect(sink.began?.total == 7 && sink.began?.columns == ["name"])
        #expect(found.streamed && found.rows.isEmpty && found.returned == 7 && found.total == 7)
    }

    /// In the REPL a delete that was meant to continue on the next line ran at once; now the
    /// count is confirmed first, and a no changes nothing.
    @Test func deleteIsConfirmedWithItsCountAndNoChangesNothing() throws {
        let store = try Self.store()
        defer { store.close() }
        for index in 0..<5 {
            _ = try store.write(
                "d\(index).dcm",
                [.init(0x0008, 0x0060, "CS", index < 3 ? "CT" : "MR"), .init(0x0020, 0x0013, "IS", "\(index)")])
        }
        _ = try store.executor.run("load '\(store.directory.path)'")
        let asked = Mutex<[IrreversibleAction]>([])
        let refuse = StatementContext(confirm: { question in
            asked.withLock { $0.append(question) }
            return false
        })
        let statement = try Parser.parseStatement("delete where modality = 'CT'")
        #expect(try store.executor.execute(statement, context: refuse) == .deleted(0, declined: true))
        #expect(asked.withLock { $0 } == [.delete(files: 3)])
        #expect(try store.executor.run("count") == [.count(5)])
        #expect(try store.executor.execute(statement) == .deleted(3))
        #expect(try store.executor.run("count") == [.count(2)])
        // Nothing to delete: nothing to ask.
        #expect(try store.executor.execute(statement, context: refuse) == .deleted(0))
        #expect(asked.withLock { $0.count } == 1)
    }

    /// Symbolic links to `.` made a recursive load count a file 41 times (or never end);
    /// FIFOs hung the load in open(); devices were opened.
    @Test func walkingVisitsEachRealFileOnceAndOpensNothing() throws {
        let store = try Self.store()
        defer { store.close() }
        let root = store.directory.path
        _ = try store.write("a.dcm", [.init(0x0008, 0x0060, "CS", "CT")])
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        try SmallDicom.write([.init(0x0008, 0x0060, "CS", "MR")], to: root + "/sub/b.dcm")
        try FileManager.default.createSymbolicLink(atPath: root + "/self", withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: root + "/sub/up", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: root + "/sub/again", withDestinationPath: root)
        try FileManager.default.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: root + "/nowhere")
        try FileManager.default.createSymbolicLink(atPath: root + "/null", withDestinationPath: "/dev/null")
        #expect(mkfifo(root + "/pipe", 0o644) == 0)
        let walk = try FileWalker.walk(root, recursive: true)
        #expect(walk.files.map(\.path) == [root + "/a.dcm", root + "/sub/b.dcm"])
        #expect(
            walk.skipped.map(\.path) == [root + "/dangling", root + "/null", root + "/pipe"],
            "\(walk.skipped)")
        #expect(
            walk.skipped.map(\.reason) == [
                "no such file or directory", "not a regular file (a character device)", "not a regular file (a FIFO)",
            ])
        // The load names them, goes on, and each file gets one source.
        guard case .loaded(let report) = try store.executor.run("load '\(root)' recursive").first else { return }
        #expect(report.loaded == 2 && report.failed == 3)
        let sources = try store.pool.withConnection { connection in
            try connection.keys(matching: store.layout.documentPrefix + "*").map {
                try connection.call("JSON.GET", $0, "$.sources").string ?? ""
            }
        }
        #expect(sources.allSatisfy { $0.components(separatedBy: "\",\"").count == 1 }, "\(sources)")
        // A FIFO named directly is refused without opening it.
        guard case .loaded(let direct) = try store.executor.run("load '\(root)/pipe'").first else { return }
        #expect(direct.outcomes == [.failed(path: root + "/pipe", reason: "not a regular file (a FIFO)")])
    }

    /// Copying each directory entry whole read past the end of readdir's buffer: a
    /// segmentation fault in a directory of 5,000 files (found by trying dql as a new user).
    @Test func aDirectoryOfManyFilesIsWalkedWhole() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-many-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var expected: [String] = []
        for index in 0..<20_000 {
            let name = String(repeating: "n", count: index % 200) + String(format: "%05d", index)
            expected.append(directory.path + "/" + name)
            _ = FileManager.default.createFile(atPath: directory.path + "/" + name, contents: nil)
        }
        let walk = try FileWalker.walk(directory.path, recursive: false)
        #expect(walk.files.map(\.path) == expected.sorted())
        #expect(walk.skipped.isEmpty)
    }

    @Test func aPathThatDoesNotExistIsAnErrorAtThePath() throws {
        let store = try Self.store()
        defer { store.close() }
        let error = #expect(throws: ExecutionError.self) { try store.executor.run("load '/no/such/place' recursive") }
        #expect(error?.kind == .cannotLoad(path: "/no/such/place", reason: "no such file or directory"))
        #expect(error?.range?.start.column == 6)
        let user = #expect(throws: ExecutionError.self) { try store.executor.run("load ~nosuchuser4711/x") }
        #expect(user?.kind == .unknownUser("nosuchuser4711"))
    }

    /// A header the reader had to repair loads, and says so.
    @Test func aRepairedHeaderIsReported() throws {
        let store = try Self.store()
        defer { store.close() }
        var bytes = SmallDicom.bytes([.init(0x0008, 0x0060, "CS", "CT"), .init(0x0010, 0x0010, "PN", "Test^Nasty")])
        bytes.removeLast(3)  // the name runs past the end of the file
        try Data(bytes).write(to: store.directory.appendingPathComponent("cut.dcm"))
        guard case .loaded(let report) = try store.executor.run("load '\(store.directory.path)'").first else { return }
        #expect(report.loaded == 1)
        #expect(report.repaired.count == 1)
        #expect(
            report.repaired.first?.notes.first?.contains("runs past the end of the data") == true, "\(report.repaired)")
    }

    @Test func pathExpansionFollowsTheShell() throws {
        let environment = ["HOME": "/home/someone"]
        #expect(PathExpansion.expand("~", environment: environment) == "/home/someone")
        #expect(PathExpansion.expand("~/scans/a", environment: environment) == "/home/someone/scans/a")
        #expect(PathExpansion.expand("./~/a", environment: environment) == "./~/a")
        #expect(PathExpansion.expand("/x/~y", environment: environment) == "/x/~y")
        #expect(PathExpansion.expand("~root/x", environment: environment) == "/root/x")
        #expect(PathExpansion.expand("~nosuchuser4711/x", environment: environment) == nil)
        #expect(PathExpansion.expand("~", environment: ["HOME": "/h/"]) == "/h/")
        #expect(PathExpansion.expand("~/a", environment: ["HOME": "/h/"]) == "/h/a")
    }

    /// A fetch of several pages that stops at a damaged file says how many files it fetched
    /// in all (it counted only the last page's), names the file and how to mend it.
    @Test func aFetchStoppedPartWayCountsEveryPageAndNamesTheDamagedFile() throws {
        let store = try Self.store()
        defer { store.close() }
        let input = store.directory.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for number in 0..<12 {
            try SmallDicom.write(
                [.init(0x0008, 0x0060, "CS", "CT"), .init(0x0010, 0x0020, "LO", "P\(number)")],
                to: input.appendingPathComponent(String(format: "f%02d.dcm", number)).path)
        }
        _ = try store.executor.run("load '\(input.path)'")
        // The ninth file in name order loses its chunk.
        guard case .rows(let found) = try store.executor.run("find name where name = 'f08.dcm'").first,
            let id = found.ids.first
        else {
            Issue.record("f08.dcm not found")
            return
        }
        try store.pool.withConnection { try $0.call("DEL", store.layout.chunkKey(id: id, index: 0)) }
        store.executor.pageSize = 5
        let out = store.directory.appendingPathComponent("out")
        let context = StatementContext()
        let error = #expect(throws: FetchError.self) {
            try store.executor.execute(
                Parser.parseStatement("find name order by name fetch to '\(out.path)'"), context: context)
        }
        #expect(
            error
                == .damagedChunks(
                    id: id, name: "f08.dcm", detail: "chunk 0 (\(store.layout.chunkKey(id: id, index: 0))) is missing"))
        #expect(error?.description.contains("to mend it, `delete where id = '\(id)'` and load the file again") == true)
        // The first page, and the second up to the damaged file (the one after it may have
        // been fetched beside it), each whole.
        let written = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(Array(written.prefix(8)) == (0..<8).map { String(format: "f%02d.dcm", $0) })
        #expect(written.count <= 9 && !written.contains("f08.dcm"), "\(written)")
        #expect(context.activity.snapshot.filesDone == written.count)
        #expect(context.activity.snapshot.filesTotal == 12)
    }

    /// A file whose document is gone when its chunk turns out missing was deleted by someone
    /// else during the fetch, and is told so; a file still there is told as damaged.
    @Test func aChunkMissingBecauseItsFileWasDeletedIsToldAsADeletion() throws {
        let store = try Self.store()
        defer { store.close() }
        let missing = ChunkTransferError.missing(index: 0, key: "k")
        let deleted = #expect(throws: FetchError.self) {
            try Fetcher.namingDamage(id: "ab", name: "gone.dcm", client: store.executor.client, layout: store.layout) {
                throw missing
            }
        }
        #expect(deleted == .deletedWhileFetching(id: "ab", name: "gone.dcm"))
        try store.pool.withConnection { try $0.call("JSON.SET", store.layout.documentKey(id: "ab"), "$", "{}") }
        let damaged = #expect(throws: FetchError.self) {
            try Fetcher.namingDamage(id: "ab", name: "here.dcm", client: store.executor.client, layout: store.layout) {
                throw missing
            }
        }
        #expect(damaged == .damagedChunks(id: "ab", name: "here.dcm", detail: missing.description))
    }

    /// A document changed by hand into something the index cannot read vanishes from every
    /// query; `stats` says the index failed to read one.
    @Test func statsTellsOfDocumentsTheIndexCouldNotRead() throws {
        let store = try Self.store()
        defer { store.close() }
        let file = try store.write("one.dcm", [.init(0x0008, 0x0060, "CS", "CT")])
        _ = try store.executor.run("load '\(file)'")
        guard case .stats(let before) = try store.executor.run("stats").first else {
            Issue.record("no stats")
            return
        }
        #expect(before.indexFailures == 0)
        try store.pool.withConnection { connection in
            let key = try TestRedis.scanKeys("\(store.layout.prefix):{m}:file:*", connection)[0]
            try connection.call("JSON.SET", key, "$.size", #""not a number""#)
        }
        #expect(try store.executor.run("count") == [.count(0)])
        guard case .stats(let after) = try store.executor.run("stats").first else {
            Issue.record("no stats")
            return
        }
        #expect(after.indexFailures >= 1)
    }

    /// `contains` cuts words where the index does: `MR_small` is one word there, and was two
    /// in the query (it found nothing).
    @Test func containsFindsWordsTheIndexKeptWhole() throws {
        let store = try Self.store()
        defer { store.close() }
        let file = try store.write("MR_small.dcm", [.init(0x0018, 0x1030, "LO", "T1/T2 axial")])
        _ = try store.executor.run("load '\(file)'")
        #expect(try store.executor.run("count where name contains 'MR_small'") == [.count(1)])
        #expect(try store.executor.run("count where name contains 'mr_SMALL dcm'") == [.count(1)])
        #expect(try store.executor.run("count where protocol contains 'T1/T2'") == [.count(1)])
        #expect(try store.executor.run("count where protocol contains 'axial, t1/t2'") == [.count(1)])
        #expect(try store.executor.run("count where name contains 'small'") == [.count(0)])
    }
}

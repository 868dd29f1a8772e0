import Crypto
import DicomCore
import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

#if canImport(Glibc)
    import Glibc
#endif

/// Index management and loading against the real server, each in a namespace of its own.
@Suite(.serialized) struct StorageTests {
    static func layout() -> StorageLayout { StorageLayout(prefix: "dqltest-\(UUID().uuidString.prefix(8))") }

    static func dropAll(_ layout: StorageLayout, _ connection: RedisConnection) {
        _ = try? connection.send(["FT.DROPINDEX", layout.indexName, "DD"])
        TestNamespace.delete(prefix: layout.prefix + ":", connection: connection)
    }

    /// Waits (boundedly) until the index has caught up with existing documents.
    static func waitForIndexing(_ layout: StorageLayout, _ connection: RedisConnection) throws {
        for _ in 0..<200 {
            let info = try connection.call("FT.INFO", layout.indexName).array ?? []
            let fields = stride(from: 0, to: info.count - 1, by: 2).map { (info[$0].string ?? "", info[$0 + 1]) }
            if fields.first(where: { $0.0 == "indexing" })?.1.integer == 0 { return }
            usleep(20_000)
        }
    }

    @Test func indexIsCreatedOnceThenFound() throws {
        let connection = try TestRedis.connection()
        let layout = Self.layout()
        defer { Self.dropAll(layout, connection) }
        let manager = IndexManager(layout: layout)
        #expect(try manager.ensureIndex(connection) == .created)
        #expect(try manager.ensureIndex(connection) == .existed)
        #expect(try connection.call("GET", manager.versionKey).string == String(IndexManager.schemaVersion))
    }

    @Test func anOlderIndexIsRebuiltAndItsDocumentsKept() throws {
        let connection = try TestRedis.connection()
        let layout = Self.layout()
        defer { Self.dropAll(layout, connection) }
        // What an older dql might have made: fewer fields, no version recorded.
        try connection.call(
            RedisCommand([
                "FT.CREATE", layout.indexName, "ON", "JSON", "PREFIX", "1", layout.documentPrefix, "SCHEMA", "$.name",
                "AS", "name", "TAG",
            ]))
        try connection.call("JSON.SET", layout.documentKey(id: "old"), "$", #"{"name":"old.dcm","modality":"MR"}"#)
        let manager = IndexManager(layout: layout)
        #expect(try manager.ensureIndex(connection) == .migrated(fromVersion: 0))
        try Self.waitForIndexing(layout, connection)
        guard case .find(var plan) = try Compiler(layout: layout).compile("find where modality = 'MR'") else { return }
        plan.returnAttributes = []
        let reply = try connection.call(RedisCommand(plan.command(offset: 0, count: 10)))
        #expect(reply.array?.first?.integer == 1, "the document is kept and found by the new field")
        #expect(try connection.call("EXISTS", layout.documentKey(id: "old")).integer == 1)
    }

    @Test func schemaOneDocumentsGainTheirStudyYearSoCountByYearWorks() throws {
        let connection = try TestRedis.connection()
        let layout = Self.layout()
        defer { Self.dropAll(layout, connection) }
        let manager = IndexManager(layout: layout)
        try manager.ensureIndex(connection)
        try connection.call("SET", manager.versionKey, "1")
        // Documents as dql with schema 1 wrote them: a study date, no study year; one without a date.
        try connection.call("JSON.SET", layout.documentKey(id: "a"), "$", #"{"name":"a.dcm","studyDate":20190305}"#)
        try connection.call("JSON.SET", layout.documentKey(id: "b"), "$", #"{"name":"b.dcm","studyDate":20180101}"#)
        try connection.call("JSON.SET", layout.documentKey(id: "c"), "$", #"{"name":"c.dcm"}"#)
        #expect(try manager.ensureIndex(connection) == .migrated(fromVersion: 1))
        #expect(try connection.call("JSON.GET", layout.documentKey(id: "a"), "$.studyYear").string == "[2019]")
        #expect(try connection.call("JSON.GET", layout.documentKey(id: "c"), "$.studyYear").string == "[]")
        try Self.waitForIndexing(layout, connection)
        let executor = Executor(client: RedisClient(pool: RedisPool(try TestRedis.configuration())), layout: layout)
        guard case .groups(let groups) = try executor.run("count by year order by year").first else {
            Issue.record("no groups")
            return
        }
        #expect(
            groups.rows.map(\.values) == [[nil], ["2018"], ["2019"]]
                || groups.rows.map(\.values) == [["2018"], ["2019"], [nil]])
        #expect(groups.rows.map(\.count).reduce(0, +) == 3)
    }

    /// Documents written before schema 3 have a `name` and no `names`: they gain it, and
    /// `name = …` finds them through the index of schema 3.
    @Test func schemaTwoDocumentsGainTheirNamesSoNameConditionsFindThem() throws {
        let connection = try TestRedis.connection()
        let layout = Self.layout()
        defer { Self.dropAll(layout, connection) }
        let manager = IndexManager(layout: layout)
        try manager.ensureIndex(connection)
        try connection.call("SET", manager.versionKey, "2")
        try connection.call("JSON.SET", layout.documentKey(id: "a"), "$", #"{"name":"a.dcm","studyDate":20190305}"#)
        #expect(try manager.ensureIndex(connection) == .migrated(fromVersion: 2))
        #expect(try connection.call("JSON.GET", layout.documentKey(id: "a"), "$.names").string == #"[["a.dcm"]]"#)
        try Self.waitForIndexing(layout, connection)
        let executor = Executor(client: RedisClient(pool: RedisPool(try TestRedis.configuration())), layout: layout)
        #expect(try executor.run("count where name = 'a.dcm'") == [.count(1)])
        #expect(try executor.run("count where year = 2019") == [.count(1)])
    }

    /// Documents written before schema 6 say their chunk count and layout number, which the
    /// new ones leave out: they are found, fetched and deleted (chunks included) as before.
    @Test func schemaFiveDocumentsWithTheirChunkCountAreReadAndDeletedAsBefore() throws {
        let setup = try FetchTests.setUp(chunkSize: 4096)
        defer { FetchTests.tearDown(setup) }
        let connection = try TestRedis.connection()
        let key = setup.layout.documentKey(id: setup.id)
        let chunks = (setup.original.count + 4095) / 4096
        try connection.call("JSON.SET", key, "$.chunkCount", String(chunks))
        try connection.call("JSON.SET", key, "$.layout", "2")
        let manager = IndexManager(layout: setup.layout)
        try connection.call("SET", manager.versionKey, "5")
        #expect(try manager.ensureIndex(connection) == .migrated(fromVersion: 5))
        let executor = Executor(client: setup.client, layout: setup.layout)
        #expect(try executor.run("count where name = 'CT_small.dcm'") == [.count(1)])
        guard
            case .rows(let found) = try executor.run(
                "find where name = 'CT_small.dcm' fetch to '\(setup.directory.path)'"
            ).first,
            let fetched = found.fetched.first
        else {
            Issue.record("nothing fetched")
            return
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: fetched.path)) == setup.original)
        guard case .document(_, let json) = try executor.run("show 'CT_small.dcm'").first else {
            Issue.record("not shown")
            return
        }
        #expect(json.contains("\"chunkCount\":\(chunks)"))
        #expect(try executor.run("delete where name = 'CT_small.dcm'") == [.deleted(1)])
        #expect(try TestRedis.scanKeys("\(setup.layout.prefix):chunk:*", connection).isEmpty)
    }

    /// Documents written before schema 4 lack the study's accession number and referring
    /// physician: they gain them from their stored headers when the index is brought up to
    /// date, and study rows show them.
    @Test func schemaThreeDocumentsGainTheirStudyAttributesFromTheirHeaders() throws {
        let connection = try TestRedis.connection()
        let layout = Self.layout()
        defer { Self.dropAll(layout, connection) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-schema4-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        try ProjectScripts.generateArchive(
            directory,
            ["--patients", "1", "--studies", "2", "--series", "1", "--instances", "2", "--rows", "8", "--cols", "8"])
        let pool = RedisPool(try TestRedis.configuration())
        defer { pool.close() }
        _ = try Executor(client: RedisClient(pool: pool), layout: layout).run("load '\(directory.path)' recursive")
        // As schema 3 wrote them.
        try connection.scan(matching: RedisConnection.globEscaped(layout.documentPrefix) + "*") { keys in
            for key in keys {
                try connection.call("JSON.DEL", key, "$.accessionNumber")
                try connection.call("JSON.DEL", key, "$.referringPhysician")
            }
        }
        try connection.call("SET", IndexManager(layout: layout).versionKey, "3")
        let executor = Executor(client: RedisClient(pool: pool), layout: layout)
        #expect(try executor.run("count where referrer = 'Doe^John'") == [.count(4)])
        guard case .rows(let studies) = try executor.run("find studies accession, referrer order by accession").first
        else {
            Issue.record("no study rows")
            return
        }
        #expect(studies.rows == [["AP0000000", "Doe^John"], ["AP0000001", "Doe^John"]])
    }

    @Test func aLargeNewFileUploadsWhileHashingAndEndsUpUnderItsId() throws {
        let connection = try TestRedis.connection()
        let layout = Self.layout()
        defer { Self.dropAll(layout, connection) }
        try IndexManager(layout: layout).ensureIndex(connection)
        let pool = RedisPool(try TestRedis.configuration())
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-overlap-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Two different 6 MiB DICOM files of the same size: a header, then different pixel bytes.
        let header = try Data(contentsOf: URL(fileURLWithPath: try Corpus.path("pydicom/test_files/CT_small.dcm")))
        var random = SplitMix64(seed: 7)
        func write(_ name: String) throws -> String {
            var data = header
            data.append(contentsOf: (0..<(6 << 20)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            let path = directory.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        let first = try write("a.dcm")
        let second = try write("b.dcm")
        // Without an index the loader cannot ask whether the size is new: it hashes first.
        let unindexed = StorageLayout(prefix: layout.prefix + "-noindex")
        defer { Self.dropAll(unindexed, connection) }
        guard case .loaded = try Loader(layout: unindexed, chunkSize: 256 << 10).load(file: first, client: client)
        else {
            Issue.record("not loaded without an index")
            return
        }
        let loader = Loader(layout: layout, chunkSize: 256 << 10, connections: 4)
        #expect(loader.overlapThreshold <= 6 << 20)
        guard case .loaded(let id, _, let size) = try loader.load(file: first, client: client) else {
            Issue.record("not loaded")
            return
        }
        // Every chunk is under the file's id; nothing provisional is left, no lease either.
        let keys = try connection.keys(matching: layout.prefix + ":chunk:*")
        #expect(keys.count == (size + (256 << 10) - 1) / (256 << 10))
        #expect(keys.allSatisfy { $0.hasPrefix(layout.prefix + ":chunk:" + id + ":") })
        #expect(try connection.keys(matching: layout.loadingKey(id: "*")).isEmpty)
        // The same bytes again: a file of that size exists, so it is hashed first and not sent.
        #expect(try loader.load(file: first, client: client) == .alreadyLoaded(id: id, name: "a.dcm"))
        // Different bytes of the same size load too.
        guard case .loaded(let otherId, _, _) = try loader.load(file: second, client: client) else {
            Issue.record("second not loaded")
            return
        }
        #expect(otherId != id)
        let fetched = try Fetcher(layout: layout).fetch(
            id: id, into: directory.appendingPathComponent("out").path, client: client)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: fetched.path)) == Data(contentsOf: URL(fileURLWithPath: first)))
    }

    @Test func anIndexFromANewerDqlIsLeftAlone() throws {
        let connection = try TestRedis.connection()
        let layout = Self.layout()
        defer { Self.dropAll(layout, connection) }
        let manager = IndexManager(layout: layout)
        try manager.ensureIndex(connection)
        try connection.call("SET", manager.versionKey, "99")
        let error = #expect(throws: RedisError.self) { try manager.ensureIndex(connection) }
        #expect(error?.message.contains("newer dql") == true)
    }

    @Test func loadingStoresChunksThenDocumentsAndReloadIsANoOp() throws {
        let connection = try TestRedis.connection()
        let layout = Self.layout()
        defer { Self.dropAll(layout, connection) }
        try IndexManager(layout: layout).ensureIndex(connection)
        // A directory with: two DICOM files, an identical copy of one, a different file under the
        // same base name in a subdirectory, and a text file.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-load-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let sub = directory.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        func copy(_ name: String, to destination: URL) throws {
            try FileManager.default.copyItem(at: URL(fileURLWithPath: try Corpus.path(name)), to: destination)
        }
        try copy("pydicom/test_files/CT_small.dcm", to: directory.appendingPathComponent("CT_small.dcm"))
        try copy("pydicom/test_files/MR_small.dcm", to: directory.appendingPathComponent("MR_small.dcm"))
        try copy("pydicom/test_files/CT_small.dcm", to: directory.appendingPathComponent("copy.dcm"))
        try copy("pydicom/test_files/JPEG2000.dcm", to: sub.appendingPathComponent("CT_small.dcm"))
        try Data("not DICOM\n".utf8).write(to: directory.appendingPathComponent("notes.txt"))

        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 4)

        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let loader = Loader(layout: layout, chunkSize: 4096, connections: 4, window: 4)
        #expect(try FileWalker.walk(directory.path, recursive: false).files.count == 4)
        let paths = try FileWalker.walk(directory.path, recursive: true).files.map(\.path)
        #expect(paths.count == 5)
        let outcomes = try paths.map { try loader.load(file: $0, client: client, now: 1) }
        let loaded = outcomes.compactMap {
            if case .loaded(let id, let name, let size) = $0 { (id, name, size) } else { nil }
        }
        let again = outcomes.filter { if case .alreadyLoaded = $0 { true } else { false } }
        let failed = outcomes.compactMap { if case .failed(let path, let reason) = $0 { (path, reason) } else { nil } }
        #expect(loaded.count == 3)
        #expect(again.count == 1)
        for (id, _, _) in loaded {
            #expect(
                try connection.call("EXISTS", layout.loadingKey(id: id)).integer == 0,
                "the lease goes when the load is done")
        }
        #expect(failed.count == 1)
        #expect(failed.first?.0.hasSuffix("notes.txt") == true)
        #expect(failed.first?.1.contains("not DICOM") == true)

        // Both files named CT_small.dcm are stored, under different ids.
        guard case .find(let byName) = try Compiler(layout: layout).compile("find name where name = 'CT_small.dcm'")
        else { return }
        let found = try connection.call(RedisCommand(byName.command(offset: 0, count: 10))).array ?? []
        #expect(found.first?.integer == 2)

        // Every chunk is there, and the chunks put back together are the file.
        for (id, _, size) in loaded {
            let count = loader.transfer.chunkCount(totalSize: size)
            let keys = (0..<count).map { layout.chunkKey(id: id, index: $0) }
            let exists = try connection.call(RedisCommand(["EXISTS"] + keys)).integer
            #expect(exists == Int64(count))
            let document = try connection.call(
                "JSON.GET", layout.documentKey(id: id), "$.chunkCount", "$.size", "$.chunkSize", "$.sources")
            // The count is not stored: it follows from the size and the chunk size.
            #expect(document.string?.contains("\"$.chunkCount\":[]") == true, "\(document)")
            #expect(document.string?.contains("\"$.size\":[\(size)]") == true, "\(document)")
            #expect(document.string?.contains("\"$.chunkSize\":[\(loader.transfer.chunkSize)]") == true, "\(document)")
            // RedisJSON keeps an object of up to 32 members in half the memory of a larger one.
            let members = try connection.call("JSON.OBJLEN", layout.documentKey(id: id), "$").array?.first?.integer
            #expect(members.map { $0 <= 32 } == true, "\(String(describing: members)) members")
            let output = directory.appendingPathComponent("fetched-\(id)").path
            let descriptor = open(output, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            try loader.transfer.download(
                into: descriptor, totalSize: size, key: { layout.chunkKey(id: id, index: $0) }, client: client)
            close(descriptor)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
            #expect(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() == id)
        }
        // The identical copy added its path to the document's sources.
        let copyBytes = try Data(contentsOf: directory.appendingPathComponent("copy.dcm"))
        let ctID = SHA256.hash(data: copyBytes).map { String(format: "%02x", $0) }.joined()
        #expect(loaded.contains { $0.0 == ctID && $0.1 == "CT_small.dcm" })
        let sources = try connection.call("JSON.GET", layout.documentKey(id: ctID), "$.sources").string ?? ""
        #expect(sources.contains("/CT_small.dcm"))
        #expect(sources.contains("/copy.dcm"))

        // Loading everything again changes nothing.
        let reload = try paths.map { try loader.load(file: $0, client: client, now: 2) }
        #expect(reload.filter { if case .alreadyLoaded = $0 { true } else { false } }.count == 4)
    }
}

/// Fetching back what was loaded: byte-identical, inside the target directory whatever the
/// stored name says, and nothing written when a chunk is missing or damaged.
@Suite(.serialized) struct FetchTests {
    struct Setup {
        var layout: StorageLayout
        var pool: RedisPool
        var client: RedisClient
        var id: String
        var original: Data
        var directory: URL
    }

    static func setUp(chunkSize: Int = 4096) throws -> Setup {
        let layout = StorageTests.layout()
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 4)
        let client = RedisClient(pool: pool)
        _ = try pool.withConnection { try IndexManager(layout: layout).ensureIndex($0) }
        let source = try Corpus.path("pydicom/test_files/CT_small.dcm")
        let outcome = try Loader(layout: layout, chunkSize: chunkSize, connections: 4).load(
            file: source, client: client)
        guard case .loaded(let id, _, _) = outcome else { throw TestSetupError("load failed: \(outcome)") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-fetch-\(UUID().uuidString.prefix(8))")
        return Setup(
            layout: layout, pool: pool, client: client, id: id,
            original: try Data(contentsOf: URL(fileURLWithPath: source)),
            directory: directory)
    }

    static func tearDown(_ setup: Setup) {
        try? setup.pool.withConnection { StorageTests.dropAll(setup.layout, $0) }
        setup.pool.close()
        try? FileManager.default.removeItem(at: setup.directory)
    }

    static func listing(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    /// A second fetch into the same directory finds the file there (same bytes) and writes
    /// nothing; a different file under the name refuses the fetch, or with `rename` makes the fetched
    /// one go beside it.
    @Test func refetchingFindsTheFileAndANameTakenByOtherBytesGetsASuffix() throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        let fetcher = Fetcher(layout: setup.layout, connections: 3)
        let first = try fetcher.fetch(id: setup.id, into: setup.directory.path, client: setup.client)
        let second = try fetcher.fetch(id: setup.id, into: setup.directory.path, client: setup.client)
        #expect(first.path.hasSuffix("/CT_small.dcm") && !first.alreadyThere)
        #expect(second.path == first.path && second.alreadyThere)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.path)) == setup.original)
        #expect(Self.listing(setup.directory) == ["CT_small.dcm"])

        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: first.path))
        #expect(
            throws: FetchError.differentFilesThere(
                directory: setup.directory.path, entries: [.init(name: "CT_small.dcm")])
        ) {
            try fetcher.fetch(id: setup.id, into: setup.directory.path, client: setup.client)
        }
        #expect(Self.listing(setup.directory) == ["CT_small.dcm"], "refused before anything was written")
        let third = try fetcher.fetch(
            id: setup.id, into: setup.directory.path, client: setup.client, names: FetchNames(existing: .rename))
        #expect(third.path.hasSuffix("/CT_small_2.dcm") && !third.alreadyThere)
        #expect(try Data(contentsOf: URL(fileURLWithPath: third.path)) == setup.original)
        #expect(Self.listing(setup.directory) == ["CT_small.dcm", "CT_small_2.dcm"])
    }

    @Test(arguments: ["../../etc/x", "/abs/path", "a\\..\\..\\b.dcm", "..", "", "bad\u{0}name\u{1B}.dcm"])
    func storedNamesNeverEscapeTheTargetDirectory(storedName: String) throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        _ = try setup.pool.withConnection { connection in
            try connection.call(
                "JSON.SET", setup.layout.documentKey(id: setup.id), "$.name", JSONValue.string(storedName).serialized())
        }
        let result = try Fetcher(layout: setup.layout).fetch(
            id: setup.id, into: setup.directory.path, client: setup.client)
        let parent = URL(fileURLWithPath: result.path).deletingLastPathComponent().standardizedFileURL.path
        #expect(parent == setup.directory.standardizedFileURL.path)
        #expect(Self.listing(setup.directory).count == 1)
        #expect(!result.path.contains("\u{0}"))
    }

    @Test func aDeletedChunkFailsClearlyAndLeavesNoFile() throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        _ = try setup.pool.withConnection { try $0.call("DEL", setup.layout.chunkKey(id: setup.id, index: 3)) }
        let error = #expect(throws: FetchError.self) {
            try Fetcher(layout: setup.layout).fetch(id: setup.id, into: setup.directory.path, client: setup.client)
        }
        let missing = ChunkTransferError.missing(index: 3, key: setup.layout.chunkKey(id: setup.id, index: 3))
        #expect(error == .damagedChunks(id: setup.id, name: "CT_small.dcm", detail: missing.description))
        #expect(Self.listing(setup.directory).isEmpty)
    }

    @Test func anOverwrittenChunkFailsTheChecksumAndLeavesNoFile() throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        _ = try setup.pool.withConnection { connection in
            try connection.call(
                RedisCommand(arguments: [
                    Array("SET".utf8), Array(setup.layout.chunkKey(id: setup.id, index: 1).utf8),
                    [UInt8](repeating: 0x42, count: 4096),
                ]))
        }
        let error = #expect(throws: FetchError.self) {
            try Fetcher(layout: setup.layout).fetch(id: setup.id, into: setup.directory.path, client: setup.client)
        }
        guard case .checksumMismatch(let id, _, let name)? = error else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(id == setup.id)
        #expect(name == "CT_small.dcm")
        #expect(Self.listing(setup.directory).isEmpty)
    }

    /// Fetched bytes are checked against the XXH3 the load recorded (see ContentCheck), by a
    /// fetch by id and by a search's fetch (which takes it from the rows); a document without
    /// one (written before it was recorded) is checked against its SHA-256, as before.
    @Test func fetchesCheckTheRecordedXXH3AndDocumentsWithoutOneTheirSHA256() throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        let key = setup.layout.documentKey(id: setup.id)
        let xxh3 = setup.original.withUnsafeBytes { ContentCheck.xxh3(of: $0) }
        let recorded = try setup.pool.withConnection { try $0.call("JSON.GET", key, "$.xxh3").string }
        #expect(recorded == "[\"\(HexDigits.lowercase(xxh3))\"]")
        #expect(HexDigits.lowercase(0x2D06_8005_38D3_94C2) == "2d06800538d394c2")
        #expect([UInt8]().withUnsafeBytes { ContentCheck.xxh3(of: $0) } == 0x2D06_8005_38D3_94C2, "XXH3-64 of nothing")

        // A wrong recorded value with intact chunks: the XXH3 is what is checked.
        _ = try setup.pool.withConnection { try $0.call("JSON.SET", key, "$.xxh3", "\"0000000000000001\"") }
        let byId = #expect(throws: FetchError.self) {
            try Fetcher(layout: setup.layout).fetch(id: setup.id, into: setup.directory.path, client: setup.client)
        }
        #expect(
            byId == .checksumMismatch(id: setup.id, found: "xxh3:" + HexDigits.lowercase(xxh3), name: "CT_small.dcm"))
        let executor = Executor(client: setup.client, layout: setup.layout)
        let found = #expect(throws: (any Error).self) {
            try executor.execute(
                Parser.parseStatement("find where name = 'CT_small.dcm' fetch to '\(setup.directory.path)'"))
        }
        #expect("\(found.map { "\($0)" } ?? "")".contains("xxh3:" + HexDigits.lowercase(xxh3)))
        #expect(Self.listing(setup.directory).isEmpty)

        // No recorded value: the SHA-256 is checked, and passes for intact chunks…
        _ = try setup.pool.withConnection { try $0.call("JSON.DEL", key, "$.xxh3") }
        let fetched = try Fetcher(layout: setup.layout).fetch(
            id: setup.id, into: setup.directory.path, client: setup.client)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fetched.path)) == setup.original)
        try FileManager.default.removeItem(atPath: fetched.path)
        // …and fails for damaged ones.
        _ = try setup.pool.withConnection { connection in
            try connection.call(
                RedisCommand(arguments: [
                    Array("SET".utf8), Array(setup.layout.chunkKey(id: setup.id, index: 1).utf8),
                    [UInt8](repeating: 0x42, count: 4096),
                ]))
        }
        let damaged = #expect(throws: FetchError.self) {
            try Fetcher(layout: setup.layout).fetch(id: setup.id, into: setup.directory.path, client: setup.client)
        }
        guard case .checksumMismatch(_, let digest, _)? = damaged else {
            Issue.record("expected a checksum mismatch, got \(String(describing: damaged))")
            return
        }
        #expect(digest.count == 64 && !digest.hasPrefix("xxh3:"), "a SHA-256: \(digest)")
        #expect(Self.listing(setup.directory).isEmpty)
    }

    @Test func anUnknownIdIsNotFound() throws {
        let setup = try Self.setUp()
        defer { Self.tearDown(setup) }
        let missing = String(repeating: "0", count: 64)
        let error = #expect(throws: FetchError.self) {
            try Fetcher(layout: setup.layout).fetch(id: missing, into: setup.directory.path, client: setup.client)
        }
        #expect(error == .notFound(id: missing))
    }
}

@Suite(.serialized) struct MaintenanceTests {
    @Test func vacuumRemovesOnlyChunksWithoutADocument() throws {
        let setup = try FetchTests.setUp()
        defer { FetchTests.tearDown(setup) }
        // An interrupted load: chunks written, document never written.
        let orphan = String(repeating: "f", count: 64)
        let transfer = ChunkTransfer(chunkSize: 1000, connections: 2)
        let layout = setup.layout
        try [UInt8](repeating: 7, count: 5500).withUnsafeBytes { bytes in
            try transfer.upload(bytes, key: { layout.chunkKey(id: orphan, index: $0) }, client: setup.client)
        }
        // While its load holds the lease, the chunks are not orphans.
        _ = try setup.pool.withConnection { try $0.call("SET", layout.loadingKey(id: orphan), "1", "EX", "60") }
        let during = try Maintenance(layout: layout).vacuum(setup.client)
        #expect(during.orphanIds.isEmpty)
        // The load died: its lease is gone (expired), and vacuum removes the chunks.
        _ = try setup.pool.withConnection { try $0.call("DEL", layout.loadingKey(id: orphan)) }
        let report = try Maintenance(layout: layout).vacuum(setup.client)
        #expect(report == Maintenance.VacuumReport(orphanIds: [orphan], chunksRemoved: 6))
        // The loaded file is untouched and still fetches.
        let fetched = try Fetcher(layout: layout).fetch(id: setup.id, into: setup.directory.path, client: setup.client)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fetched.path)) == setup.original)
        let again = try Maintenance(layout: layout).vacuum(setup.client)
        #expect(again.orphanIds.isEmpty)
    }

    @Test func deleteRemovesTheDocumentThenItsChunks() throws {
        let setup = try FetchTests.setUp()
        defer { FetchTests.tearDown(setup) }
        let maintenance = Maintenance(layout: setup.layout)
        #expect(try maintenance.delete(id: setup.id, client: setup.client))
        let remaining = try setup.pool.withConnection { connection in
            try connection.call(
                "EXISTS", setup.layout.documentKey(id: setup.id), setup.layout.chunkKey(id: setup.id, index: 0)
            ).integer
        }
        #expect(remaining == 0)
        #expect(try maintenance.vacuum(setup.client).chunksRemoved == 0)
        #expect(try maintenance.delete(id: setup.id, client: setup.client) == false)
    }
}

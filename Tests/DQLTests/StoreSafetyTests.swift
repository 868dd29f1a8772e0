import DicomCore
import Foundation
import RedisIO
import Synchronization
import TestSupport
import Testing

@testable import DQL

#if canImport(Glibc)
    import Glibc
#endif

/// What trying dql as a hostile user found beyond issue 13's list: loads of the same bytes that
/// destroyed each other's chunks, a vacuum that deleted another namespace, files that changed
/// under a load, and answers bent by how values were written. Each test failed before its fix.
@Suite(.serialized) struct StoreSafetyTests {
    typealias Store = CorrectnessTests.Store

    /// One load at a time holds an id's claim; a second waits, and finds the bytes stored.
    @Test(.timeLimit(.minutes(1))) func aClaimIsExclusiveAndWaitedFor() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let client = store.executor.client
        let key = store.layout.loadingKey(id: "x")
        let document = store.layout.documentKey(id: "x")
        guard
            case .claimed(let first) = try LoadLease.claim(key: key, documentKey: document, seconds: 30, client: client)
        else {
            Issue.record("not claimed")
            return
        }
        let second = Mutex<String?>(nil)
        let waiter = Thread {
            let outcome = try? LoadLease.claim(key: key, documentKey: document, seconds: 30, client: client)
            if case .stored = outcome { second.withLock { $0 = "stored" } }
            if case .claimed(let lease) = outcome {
                second.withLock { $0 = "claimed" }
                lease.release()
            }
        }
        waiter.start()
        usleep(300_000)
        #expect(second.withLock { $0 } == nil, "the second load waits")
        #expect(try first.commit(documentKey: document, json: #"{"name":"x"}"#))
        first.release()
        for _ in 0..<100 where second.withLock({ $0 }) == nil { usleep(20_000) }
        #expect(second.withLock { $0 } == "stored")
    }

    /// A load killed moments ago holds its claims until they expire; the next load of the same
    /// bytes waited that long without a word, and looked hung. It says so, once per statement.
    @Test(.timeLimit(.minutes(1))) func aLoadWaitingForAStoppedLoadsClaimSaysSoOnce() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let elements: [SmallDicom.Element] = [.init(0x0008, 0x0060, "CS", "CT")]
        let paths = try ["a.dcm", "b.dcm", "c.dcm"].map { try store.write($0, elements) }
        let id = try Data(contentsOf: URL(fileURLWithPath: paths[0])).withUnsafeBytes { Loader.id(of: $0) }
        // What a SIGKILLed load leaves: its claim, expiring in 5 s (2 s were not always enough
        // for the load to reach it on a machine busy with other suites, and then it waited for
        // nothing and said nothing).
        let claim = store.layout.loadingKey(id: id)
        _ = try store.executor.client.call(RedisCommand("SET", claim, "killed", "EX", "5"), routedBy: claim)
        let notes = Mutex<[String]>([])
        let context = StatementContext(note: { note in notes.withLock { $0.append(note) } })
        let result = try store.executor.execute(
            try Parser.parseStatement("load '\(store.directory.path)'"), context: context)
        guard case .loaded(let report) = result else {
            Issue.record("not a load report: \(result)")
            return
        }
        #expect(report.outcomes.filter { if case .failed = $0 { true } else { false } }.isEmpty, "\(report.outcomes)")
        let waits = notes.withLock { $0 }.filter { $0.hasPrefix("waiting for another load of the same bytes") }
        #expect(
            waits == [
                "waiting for another load of the same bytes: it is still running, or it was stopped and its claim expires within \(StorageLayout.loadingLeaseSeconds) s"
            ], "\(notes.withLock { $0 })")
        let counted = try store.executor.run("count").first
        guard case .count(let count) = counted else {
            Issue.record("not a count: \(String(describing: counted))")
            return
        }
        #expect(count == 1, "one document for the three names")
    }

    /// A load that stalled past its claim's expiry neither commits nor removes chunks that are
    /// now another load's (a cancelled load used to delete a finished load's chunks).
    @Test func aLostClaimCommitsNothingAndIsNotHeld() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let client = store.executor.client
        let key = store.layout.loadingKey(id: "y")
        let document = store.layout.documentKey(id: "y")
        guard
            case .claimed(let stalled) = try LoadLease.claim(
                key: key, documentKey: document, seconds: 30, client: client)
        else { return }
        // Its claim expires; another load takes the id over.
        try store.pool.withConnection { _ = try $0.call("DEL", key) }
        guard
            case .claimed(let other) = try LoadLease.claim(key: key, documentKey: document, seconds: 30, client: client)
        else { return }
        #expect(!stalled.isHeld())
        #expect(throws: LoadLeaseError.self) { try stalled.commit(documentKey: document, json: #"{"name":"y"}"#) }
        stalled.release()
        #expect(other.isHeld(), "the stalled load's release left the other's claim alone")
        #expect(try other.commit(documentKey: document, json: #"{"name":"y"}"#))
        other.release()
    }

    /// Two loads of the same bytes at once, with different chunk sizes, could store a document
    /// whose chunks were the other load's: a file that could never be fetched.
    @Test(.timeLimit(.minutes(2))) func concurrentLoadsOfTheSameBytesStoreOneFetchableFile() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let path = try LargeDicom.write(in: store.directory, megabytes: 6)
        try store.pool.withConnection { try IndexManager(layout: store.layout).ensureIndex($0) }
        for round in 0..<3 {
            let outcomes = Mutex<[Loader.Outcome]>([])
            let client = store.executor.client
            let layout = store.layout
            _ = try DedicatedThreads.run(count: 2) { index in
                let loader = Loader(layout: layout, chunkSize: index == 0 ? 64 << 10 : 1 << 20, connections: 2)
                let outcome = try loader.load(file: path, client: client)
                outcomes.withLock { $0.append(outcome) }
            }
            let all = outcomes.withLock { $0 }
            #expect(all.filter { if case .loaded = $0 { true } else { false } }.count == 1, "round \(round): \(all)")
            #expect(all.filter { if case .alreadyLoaded = $0 { true } else { false } }.count == 1)
            let out = store.directory.appendingPathComponent("out\(round)").path
            guard case .fetched(let files) = try store.executor.run("fetch 'big.dcm' to '\(out)'").first else {
                Issue.record("not fetched")
                return
            }
            #expect(FileManager.default.contents(atPath: files[0].path) == FileManager.default.contents(atPath: path))
            _ = try store.executor.run("delete where name = 'big.dcm'")
        }
    }

    /// Two loads of the same directory of small files at once (the batch path, with chunk
    /// sizes of their own): every file is stored once, by one of them, and fetches back whole.
    @Test(.timeLimit(.minutes(2))) func concurrentBatchLoadsOfTheSameFilesStoreEachOnce() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let input = store.directory.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for number in 0..<150 {
            try SmallDicom.write(
                [
                    .init(0x0008, 0x0060, "CS", "CT"), .init(0x0010, 0x0020, "LO", "P\(number)"),
                    .init(0x7FE0, 0x0010, "OB", String(repeating: "x", count: 2_000 + number)),
                ],
                to: input.appendingPathComponent("f\(number).dcm").path)
        }
        try store.pool.withConnection { try IndexManager(layout: store.layout).ensureIndex($0) }
        let reports = Mutex<[LoadReport]>([])
        let (client, layout) = (store.executor.client, store.layout)
        _ = try DedicatedThreads.run(count: 2) { index in
            let executor = Executor(client: client, layout: layout)
            guard
                case .loaded(let report) = try executor.run("load '\(input.path)' chunk \(index == 0 ? "4KB" : "1MB")")
                    .first
            else { return }
            reports.withLock { $0.append(report) }
        }
        let all = reports.withLock { $0 }
        #expect(all.count == 2)
        #expect(all.map(\.loaded).reduce(0, +) == 150, "\(all.map(\.loaded))")
        #expect(all.map { $0.loaded + $0.alreadyLoaded } == [150, 150])
        #expect(try store.executor.run("count") == [.count(150)])
        let out = store.directory.appendingPathComponent("out").path
        guard case .rows(let found) = try store.executor.run("find name fetch to '\(out)'").first else { return }
        #expect(found.fetched.count == 150)
        for file in found.fetched {
            let name = (file.path as NSString).lastPathComponent
            #expect(
                FileManager.default.contents(atPath: file.path)
                    == FileManager.default.contents(atPath: input.appendingPathComponent(name).path), "\(name)")
        }
        #expect(try TestRedis.scanKeys("\(layout.prefix):{m}:loading:*", try TestRedis.connection()).isEmpty)
    }

    /// A large file whose provisional chunks `vacuum` took (the load stalled past its claim)
    /// failed with a bare "ERR no such key": it says the claim was lost.
    @Test func aLargeFileWhoseProvisionalChunksWentSaysItsClaimWasLost() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let loader = Loader(layout: store.layout)
        let error = #expect(throws: LoadLeaseError.self) {
            try loader.rename(from: "new-gone", to: "final", count: 3, client: store.executor.client)
        }
        #expect(error.map { "\($0)" }?.contains("lost its claim") == true)
    }

    /// A batch whose claims were lost (it stalled past their expiry) commits nothing for them
    /// and leaves the new holder's claims alone.
    @Test func aBatchThatLostItsClaimsCommitsNothing() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let client = store.executor.client
        let keeper = LeaseKeeper(client: client, seconds: 30)
        defer { keeper.stop() }
        let ids = ["a", "b"].map { (store.layout.loadingKey(id: $0), store.layout.documentKey(id: $0)) }
        #expect(try keeper.claim(ids) == [.claimed, .claimed])
        #expect(try keeper.claim(ids) == [.busy, .busy], "a claim is exclusive, even to its own token's batch")
        // "b" expires and another load takes it.
        try store.pool.withConnection {
            _ = try $0.call("DEL", ids[1].0)
            _ = try $0.call("SET", ids[1].0, "other")
        }
        let replies = try keeper.commitAndRelease([
            (ids[0].0, ids[0].1, #"{"name":"a"}"#), (ids[1].0, ids[1].1, #"{"name":"b"}"#),
        ])
        #expect(replies.map(\.integer) == [1, -1])
        let connection = try TestRedis.connection()
        #expect(try connection.call("EXISTS", ids[0].1).integer == 1)
        #expect(try connection.call("EXISTS", ids[1].1).integer == 0, "no document without the claim")
        #expect(try connection.call("EXISTS", ids[0].0).integer == 0, "the committed claim was given back")
        keeper.release([ids[1].0])
        #expect(try connection.call("GET", ids[1].0).string == "other", "the other load's claim stays")
    }

    /// A file truncated while it was mapped crashed the loader with SIGBUS.
    @Test func aMappedFileThatShrinksReadsZerosAndSaysItChanged() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let path = try LargeDicom.write(in: store.directory, megabytes: 4)
        let mapped = try MappedFile(path: path)
        #expect(!mapped.changedSinceOpened)
        #expect(truncate(path, 4096) == 0)
        // Reading past the new end: zeros, not a crash.
        let tail = mapped.buffer[mapped.buffer.count - 1] | mapped.buffer[mapped.buffer.count - 5000]
        #expect(tail == 0)
        #expect(mapped.changedSinceOpened)
        // Written to in place: the modification time says so.
        let other = try LargeDicom.write(in: store.directory, megabytes: 1, name: "other.dcm")
        let second = try MappedFile(path: other)
        usleep(10_000)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: other))
        try handle.seek(toOffset: 1000)
        try handle.write(contentsOf: Data([1, 2, 3]))
        try handle.close()
        #expect(second.changedSinceOpened)
    }

    /// Small files are read, not mapped (MappedFile.readLimit): the bytes are the file's, and a
    /// change after the read, or a file that ends before the size it reports, says so.
    @Test func aSmallFileIsReadWholeAndItsChangesAreSeen() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        for size in [1, 4095, 4096, 4097, MappedFile.readLimit - 1, MappedFile.readLimit, MappedFile.readLimit + 1] {
            let path = store.directory.appendingPathComponent("small-\(size).dcm").path
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let file = try MappedFile(path: path)
            #expect(file.buffer.elementsEqual(bytes), "size \(size)")
            #expect(!file.changedSinceOpened)
            #expect(truncate(path, off_t(size / 2)) == 0)
            #expect(file.changedSinceOpened, "size \(size): truncated after the read")
            if size <= MappedFile.readLimit {
                #expect(file.buffer.elementsEqual(bytes), "size \(size): what was read stays")
            }
        }
        // sysfs reports a page as the size of a file holding a few bytes: the read ends early,
        // and the file counts as changed (its bytes cannot be trusted to be whole).
        let short = try MappedFile(path: "/sys/devices/system/cpu/online")
        #expect(short.buffer.count == 4096)
        #expect(short.changedSinceOpened)
        #expect(short.buffer.first.map { (0x30...0x39).contains($0) } == true)
        #expect(short.buffer.last == 0)
        // procfs says 0 bytes for files that have some: said, not read as an empty file.
        let error = #expect(throws: DicomError.self) { try MappedFile(path: "/proc/self/status") }
        #expect(
            error?.detail
                == "the file reports a size of 0 but has bytes (as files in /proc do): it cannot be read as a file of a known size"
        )
        // One that cannot be read at all is not empty either.
        let unreadable = #expect(throws: DicomError.self) { try MappedFile(path: "/proc/self/mem") }
        #expect(unreadable?.detail == "cannot read: input/output error")
        let empty = store.directory.appendingPathComponent("empty.dcm").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(try MappedFile(path: empty).buffer.count == 0)
    }

    /// A file written to (or truncated) while it was loaded was stored under the hash of its
    /// old bytes with chunks of its new ones, or crashed the load.
    @Test(.timeLimit(.minutes(2))) func aFileThatChangesDuringItsLoadIsNotStored() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        let path = try LargeDicom.write(in: store.directory, megabytes: 48)
        let loader = Loader(layout: store.layout, chunkSize: 4 << 10, connections: 1, window: 1)
        let client = store.executor.client
        let cutter = Thread {
            usleep(300_000)
            _ = truncate(path, 1 << 20)
        }
        cutter.start()
        let outcome = try loader.load(file: path, client: client)
        #expect(outcome == .failed(path: path, reason: "the file changed while it was loaded; nothing was stored"))
        let left = try store.pool.withConnection { try $0.keys(matching: store.layout.prefix + ":*") }
        #expect(left.filter { $0.contains(":chunk:") }.isEmpty, "no chunks left: \(left.count)")
    }

    /// `vacuum` under a prefix holding `*` deleted every namespace's chunks; under `lab` it
    /// took the keys of the namespace `lab:chunk` for orphans.
    @Test func vacuumTouchesNothingOutsideItsOwnNamespace() throws {
        let victim = try CorrectnessTests.store()
        defer { victim.close() }
        _ = try victim.write("v.dcm", [.init(0x0008, 0x0060, "CS", "CT")])
        _ = try victim.executor.run("load '\(victim.directory.path)'")
        // Namespaces whose names are patterns for the victim's keys, or start like them.
        let client = victim.executor.client
        for prefix in [
            String(victim.layout.prefix.prefix(5)) + "*", "*", String(victim.layout.prefix.dropLast()) + "?",
        ] {
            let wild = Executor(client: client, layout: StorageLayout(prefix: prefix))
            guard case .vacuumed(let report) = try wild.run("vacuum").first else { return }
            #expect(report.chunksRemoved == 0, "\(prefix)")
        }
        let nested = Executor(client: client, layout: StorageLayout(prefix: victim.layout.prefix + ":chunk"))
        let inner = victim.directory.appendingPathComponent("inner")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        try SmallDicom.write([.init(0x0008, 0x0060, "CS", "MR")], to: inner.appendingPathComponent("n.dcm").path)
        _ = try nested.run("load '\(inner.path)'")
        guard case .vacuumed(let outer) = try victim.executor.run("vacuum").first else { return }
        #expect(outer.chunksRemoved == 0)
        #expect(try nested.run("count") == [.count(1)])
        let out = victim.directory.appendingPathComponent("out").path
        guard case .rows(let found) = try nested.run("find fetch to '\(out)'").first else { return }
        #expect(found.fetched.count == 1)
        guard case .rows(let mine) = try victim.executor.run("find fetch to '\(out)2'").first else { return }
        #expect(mine.fetched.count == 1)
        try? victim.pool.withConnection {
            StorageTests.dropAll(StorageLayout(prefix: victim.layout.prefix + ":chunk"), $0)
        }
        #expect(StorageLayout.problem(with: "v*") == "the prefix may hold letters, digits and - _ . : only, not '*'")
        #expect(StorageLayout.problem(with: "{m}") != nil && StorageLayout.problem(with: "a b") != nil)
        #expect(StorageLayout.problem(with: "") == "the prefix is empty")
        #expect(StorageLayout.problem(with: "lab-1.ct:2019_a") == nil)
    }

    /// `patientId = 007` found (and `delete` deleted) the patient `7`.
    @Test func numbersAndDatesComparedWithTextAreTheTextAsWritten() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        for (index, id) in ["007", "7", "1.50", "1.5", "2019-01-01", "20190101"].enumerated() {
            _ = try store.write(
                "p\(index).dcm", [.init(0x0008, 0x0060, "CS", "CT"), .init(0x0010, 0x0020, "LO", id)])
        }
        _ = try store.executor.run("load '\(store.directory.path)'")
        for (condition, expected) in [
            ("patientId = 007", ["007"]), ("patientId = 7", ["7"]), ("patientId = 1.50", ["1.50"]),
            ("patientId in (1.5, 2019-01-01)", ["1.5", "2019-01-01"]), ("patientId = 20190101", ["20190101"]),
        ] {
            guard case .rows(let found) = try store.executor.run("find patientId where \(condition)").first else {
                return
            }
            #expect(found.rows.compactMap { $0[0] }.sorted() == expected.sorted(), "\(condition)")
        }
        #expect(try store.executor.run("delete where patientId = 007") == [.deleted(1)])
        #expect(try store.executor.run("count where patientId = '7'") == [.count(1)])
    }

    /// A multi-valued protocol was shown as JSON text (`["back","slash"]`), and the value as
    /// `dump` prints it (`back\slash`) found nothing.
    @Test func multiValuedValuesReadAndMatchAsDICOMWritesThem() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        _ = try store.write(
            "multi.dcm", [.init(0x0008, 0x0060, "CS", "CT"), .init(0x0018, 0x1030, "LO", "back\\slash")])
        _ = try store.write("single.dcm", [.init(0x0008, 0x0060, "CS", "CT"), .init(0x0018, 0x1030, "LO", "back")])
        _ = try store.executor.run("load '\(store.directory.path)'")
        func names(_ condition: String) throws -> [String] {
            guard case .rows(let found) = try store.executor.run("find name, protocol where \(condition)").first else {
                return []
            }
            return found.rows.map { "\($0[0] ?? ""):\($0[1] ?? "")" }.sorted()
        }
        #expect(try names("protocol = 'back\\\\slash'") == ["multi.dcm:back\\slash"])
        #expect(
            try names("protocol = 'back'") == ["multi.dcm:back\\slash", "single.dcm:back"], "each value matches alone")
        #expect(try names("protocol in ('slash\\\\back', 'nothing')") == ["multi.dcm:back\\slash"], "in any order")
        #expect(try names("protocol != 'back\\\\slash' and modality = CT") == ["single.dcm:back"])
        // Groups are the values one by one (the index's own grouping), never JSON text.
        guard case .groups(let groups) = try store.executor.run("count by protocol").first else {
            Issue.record("no groups")
            return
        }
        #expect(groups.rows.allSatisfy { !($0.values.first??.hasPrefix("[") ?? false) }, "\(groups.rows)")
    }

    /// `like 'star\\*.dcm'` found `starfish.dcm` too: the server's wildcards cannot be escaped.
    @Test func likeMatchesLiteralWildcardCharactersExactlyOrSaysItCannot() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        for (index, name) in ["star*.dcm", "starfish.dcm", "q?.dcm", "qx.dcm", "a\\b.dcm", "ab.dcm"].enumerated() {
            try SmallDicom.write(
                [.init(0x0008, 0x0060, "CS", "CT"), .init(0x0020, 0x0013, "IS", "\(index)")],
                to: store.directory.appendingPathComponent(name).path)
        }
        _ = try store.executor.run("load '\(store.directory.path)'")
        func names(_ condition: String) throws -> [String] {
            guard case .rows(let found) = try store.executor.run("find name where \(condition) order by name").first
            else { return [] }
            return found.rows.compactMap { $0[0] }
        }
        #expect(try names(#"name like 'star\\*.dcm'"#) == ["star*.dcm"])
        #expect(try names(#"name like 'q\\?.dcm'"#) == ["q?.dcm"])
        #expect(try names(#"name like 'a\\\\b.dcm'"#) == ["a\\b.dcm"])
        #expect(try names(#"name like 'a\\\\*'"#) == ["a\\b.dcm"])
        #expect(try names("name like 'star*'") == ["star*.dcm", "starfish.dcm"])
        #expect(try names("name like 'q?.dcm'") == ["q?.dcm", "qx.dcm"])
        #expect(throws: DQLError.self) { try store.executor.run(#"find where name like 'star\\**'"#) }
    }

    /// `contains 'plains'` found `Plain`: the server stemmed the words.
    @Test func containsMatchesTheWordsThemselves() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        _ = try store.write(
            "s.dcm", [.init(0x0008, 0x0060, "CS", "CR"), .init(0x0008, 0x103E, "LO", "Plain Projected films")])
        _ = try store.executor.run("load '\(store.directory.path)'")
        #expect(try store.executor.run("count where series contains 'plain projected'") == [.count(1)])
        for word in ["plains", "project", "projecting", "film"] {
            #expect(try store.executor.run("count where series contains '\(word)'") == [.count(0)], "\(word)")
        }
    }

    /// `count by` nine fields failed with the server's "Cannot sort by more than 8 fields".
    @Test func countByManyFieldsWorks() throws {
        let store = try CorrectnessTests.store()
        defer { store.close() }
        _ = try store.write("m.dcm", [.init(0x0008, 0x0060, "CS", "CT")])
        _ = try store.executor.run("load '\(store.directory.path)'")
        let statement = "count by modality, sex, year, patient, protocol, study, series, bodyPart, manufacturer"
        guard case .groups(let groups) = try store.executor.run(statement).first else {
            Issue.record("no groups")
            return
        }
        #expect(groups.rows.count == 1 && groups.rows[0].count == 1)
    }
}

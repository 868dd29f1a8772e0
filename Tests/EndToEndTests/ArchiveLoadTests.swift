import Crypto
import Foundation
import RedisIO
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Archives of many files through the `dql` executable: generated with pydicom
/// (scripts/generate_archive.py), loaded through the batch pipeline, fetched back, reloaded,
/// interrupted; and what a load says of its writes reaching the disk.
@Suite(.serialized) struct ArchiveLoadTests {
    /// Writes an archive with scripts/generate_archive.py into `directory`.
    static func generate(_ directory: URL, _ arguments: [String]) throws {
        try ProjectScripts.generateArchive(directory, arguments)
    }

    /// SHA-256 (hex) of every regular file under `directory`, as a multiset.
    static func digests(under directory: URL) throws -> [String: Int] {
        var digests: [String: Int] = [:]
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            let digest = SHA256.hash(data: try Data(contentsOf: url)).map { String(format: "%02x", $0) }.joined()
            digests[digest, default: 0] += 1
        }
        return digests
    }

    @Test func aGeneratedArchiveLoadsFetchesBackIdenticalAndReloadsAsANoOp() throws {
        let fixture = try ShellFixture(load: false)
        let archive = fixture.directory.appendingPathComponent("archive")
        try Self.generate(
            archive,
            [
                "--patients", "2", "--studies", "2", "--series", "2", "--instances", "10", "--rows", "64", "--cols",
                "64",
                "--tiny", "100",
            ])
        let files = 2 * 2 * 2 * 10 + 100
        let load = try fixture.run(["-c", "load '\(archive.path)' recursive"])
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stdout.hasPrefix("loaded \(files) files ("), "\(load.stdout)")
        #expect(load.stdout.contains("files/s"), "\(load.stdout)")

        let out = fixture.directory.appendingPathComponent("out")
        let fetch = try fixture.run(["--format", "csv", "-c", "find name fetch to '\(out.path)'"])
        #expect(fetch.status == 0, "\(fetch.stderr)")
        #expect(try Self.digests(under: out) == Self.digests(under: archive), "every file comes back byte for byte")

        let again = try fixture.run(["-c", "load '\(archive.path)' recursive"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.hasPrefix("loaded 0 files (0 B), \(files) already stored"), "\(again.stdout)")
        let count = try fixture.run(["--format", "csv", "-c", "count"])
        #expect(count.stdout == "count\r\n\(files)\r\n")
        // Every study is there with its instances.
        let studies = try fixture.run(["--format", "csv", "-c", "count by studyUid"])
        // The tiny instances are one study of 100; the slices four of 2 series × 10.
        #expect(
            parseCSV(studies.stdout).dropFirst().map(\.last) == ["100", "20", "20", "20", "20"], "\(studies.stdout)")
    }

    /// pydicom's corpus holds one file under two names (`examples_jpeg2k.dcm` is
    /// pydicom-data's `US1_J2KR.dcm`): both names find it and fetch it.
    @Test func bothNamesOfTheCorpusDuplicatePairFindAndFetchIt() throws {
        let fixture = try ShellFixture(load: false)
        let input = fixture.directory.appendingPathComponent("pair")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for name in ["pydicom/test_files/examples_jpeg2k.dcm", "pydicom-data/US1_J2KR.dcm"] {
            try FileManager.default.copyItem(
                atPath: try Corpus.path(name),
                toPath: input.appendingPathComponent((name as NSString).lastPathComponent).path)
        }
        let load = try fixture.run(["-c", "load '\(input.path)'"])
        #expect(load.stdout.hasPrefix("loaded 1 file"), "\(load.stdout)")
        #expect(load.stdout.contains("1 already stored"), "\(load.stdout)")
        for name in ["examples_jpeg2k.dcm", "US1_J2KR.dcm"] {
            let count = try fixture.run(["--format", "csv", "-c", "count where name = '\(name)'"])
            #expect(count.stdout == "count\r\n1\r\n", "\(name): \(count.stderr)")
            let out = fixture.directory.appendingPathComponent("out-\(name)")
            let fetch = try fixture.run(["-c", "fetch '\(name)' to '\(out.path)'"])
            #expect(fetch.status == 0, "\(fetch.stderr)")
            #expect(
                FileManager.default.contents(atPath: out.appendingPathComponent(name).path)
                    == FileManager.default.contents(atPath: input.appendingPathComponent(name).path))
        }
    }

    /// SIGKILL in the middle of an archive: every document that is visible is whole (its
    /// file fetches back), no file is half there, and `vacuum` removes the chunks of the
    /// unfinished ones once their claims expire.
    @Test func aLoadKilledMidArchiveLeavesOnlyWholeFiles() throws {
        let fixture = try ShellFixture(load: false)
        let connection = try TestRedis.connection()
        let archive = fixture.directory.appendingPathComponent("archive")
        try Self.generate(archive, ["--patients", "1", "--studies", "1", "--series", "3", "--instances", "100"])
        // Small chunks over one connection, one in flight: slow enough to be killed part way.
        let (process, _) = try LoadInterruptionTests.launch(
            ["-c", "load '\(archive.path)' recursive chunk 4KB connections 1 window 1"],
            environment: fixture.environment.merging(["DQL_LOAD_LEASE_SECONDS": "2"]) { $1 })
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline,
            try TestRedis.scanKeys("\(fixture.prefix):{m}:file:*", connection).count < 20
        {
            usleep(2_000)
        }
        #expect(process.isRunning, "the load was still running when killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        let documents = try TestRedis.scanKeys("\(fixture.prefix):{m}:file:*", connection).count
        #expect(documents >= 20 && documents < 300, "\(documents) documents")
        let out = fixture.directory.appendingPathComponent("out")
        let fetch = try fixture.run(["-c", "find name fetch to '\(out.path)'"])
        #expect(fetch.status == 0, "every visible file is whole: \(fetch.stderr)")
        #expect(try Self.digests(under: out).values.reduce(0, +) == documents)

        try LoadInterruptionTests.waitForLeaseToExpire(fixture.prefix, connection)
        _ = try fixture.run(["-c", "vacuum"])
        // Only the chunks of stored files remain: 4 KB chunks, so each file's count is known.
        var expected = 0
        for key in try TestRedis.scanKeys("\(fixture.prefix):{m}:file:*", connection) {
            let size = Int(try connection.call("JSON.GET", key, "$.size").string?.dropFirst().dropLast() ?? "") ?? 0
            expected += (size + 4095) / 4096
        }
        #expect(try TestRedis.scanKeys("\(fixture.prefix):chunk:*", connection).count == expected)
        // And the rest of the archive loads after all.
        let rest = try fixture.run(["-c", "load '\(archive.path)' recursive"])
        #expect(rest.stdout.hasPrefix("loaded \(300 - documents) files"), "\(rest.stdout)")
    }

    /// A server without an append-only file loses a load to a restart: the load says so,
    /// once. Replicas asked for and not there: the load fails, after the statement timeout.
    @Test func aLoadSaysWhenItsWritesAreNotDurable() throws {
        let fixture = try ShellFixture(load: false)
        let info = try TestRedis.connection().call("INFO", "persistence").string ?? ""
        try #require(info.contains("aof_enabled:0"), "the test server runs without AOF (scripts/redis.sh)")
        let input = fixture.directory.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for name in ShellFixture.corpusNames {
            try FileManager.default.copyItem(
                atPath: try Corpus.path(name),
                toPath: input.appendingPathComponent((name as NSString).lastPathComponent).path)
        }
        let load = try fixture.run(["-c", "load '\(input.path)'"])
        #expect(load.status == 0, "\(load.stderr)")
        let note = "not persisted: the server has no append-only file (appendonly no); a restart loses what was loaded"
        #expect(load.stderr.components(separatedBy: note).count == 2, "said once: \(load.stderr)")

        let file = try Corpus.path("pydicom/test_files/rtplan.dcm")
        let copy = fixture.directory.appendingPathComponent("other.dcm")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes.append(contentsOf: [0, 0])  // other bytes: a file not stored yet
        try bytes.write(to: copy)
        let replicated = try fixture.run([
            "-c", "set replicas = 1", "-c", "set timeout = 200", "-c", "load '\(copy.path)'",
        ])
        #expect(replicated.status == 69, "\(replicated.stderr)")
        #expect(
            replicated.stderr.contains(
                "the files are loaded, but not confirmed durable in time: \(fixture.url.endpoint) had 0 of 1 replicas acknowledge them"
            ),
            "\(replicated.stderr)")
    }
}

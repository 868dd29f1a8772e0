import Foundation
import TestSupport
import Testing

/// A fetch into a place that cannot hold the file fails with a clear message and leaves no
/// file, whole or partial.
@Suite struct FetchRoomTests {
    @Test func aFetchThatDoesNotFitFailsAndLeavesNothing() throws {
        let fixture = try ShellFixture(load: false)
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 24)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: big)[.size] as? Int)
        let load = try fixture.run(["-c", "load '\(big)'"])
        try #require(load.status == 0, "\(load.stderr)")
        let out = fixture.directory.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // Files of at most 8 MiB (RLIMIT_FSIZE), with SIGXFSZ ignored so that writing past
        // it fails with EFBIG instead of killing the process: a disk that is too small.
        var environment = ProcessInfo.processInfo.environment
        environment.merge(fixture.environment) { $1 }
        let result = try ProcessResult.run(
            "/bin/bash",
            [
                "-c", "trap '' XFSZ; ulimit -f 8192; exec \"$0\" \"$@\"", DQLBinary.path,
                "-c", "fetch 'big.dcm' to '\(out.path)'",
            ], environment: environment)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(
            result.stderr.contains("no room for big.dcm (\(size) bytes) in \(out.path)")
                && result.stderr.contains("file too large"),
            "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == [], "no file, whole or partial")
        // The stored file is untouched: without the limit it fetches whole.
        let again = try fixture.run(["-c", "fetch 'big.dcm' to '\(out.path)'"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(
            try Data(contentsOf: out.appendingPathComponent("big.dcm")) == Data(contentsOf: URL(fileURLWithPath: big)))
    }

    /// Fetching the same files into the same directory again writes nothing new: files
    /// already there with the same bytes (size, then SHA-256) are recognised, under their name
    /// or the `_N` name an earlier fetch gave them. A different file under the name is kept and
    /// the fetched one goes beside it, as before.
    @Test func fetchingAgainFindsTheFilesAlreadyThere() throws {
        let fixture = try ShellFixture()
        let out = fixture.directory.appendingPathComponent("again").path
        let statement = "find name fetch to '\(out)'"
        let first = try fixture.run(["-c", statement])
        #expect(first.status == 0, "\(first.stderr)")
        let count = ShellFixture.corpusNames.count
        #expect(first.stderr.contains("fetched \(count) files ("), "\(first.stderr)")
        let listing = try FileManager.default.contentsOfDirectory(atPath: out).sorted()

        let second = try fixture.run(["-c", statement])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            second.stderr.contains("fetched 0 files (0 B), \(count) already there with the same bytes"),
            "\(second.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == listing, "no _2 copies")

        // Someone else's file under the name (same size, other bytes) stays; with `rename` ours
        // goes beside it (without, the fetch is refused: ScriptingTests).
        let taken = out + "/CT_small.dcm"
        let size = (try FileManager.default.attributesOfItem(atPath: taken)[.size] as? Int) ?? 0
        try Data(repeating: 0x41, count: size).write(to: URL(fileURLWithPath: taken))
        let third = try fixture.run(["-c", statement + " rename"])
        #expect(third.stderr.contains("fetched 1 file ("), "\(third.stderr)")
        #expect(FileManager.default.contents(atPath: taken) == Data(repeating: 0x41, count: size), "kept")
        #expect(
            FileManager.default.contents(atPath: out + "/CT_small_2.dcm")
                == FileManager.default.contents(atPath: try Corpus.path("pydicom/test_files/CT_small.dcm")))
        let fourth = try fixture.run(["--format", "json", "-c", "fetch 'CT_small.dcm' to '\(out)'"])
        #expect(
            fourth.stdout.contains("\"path\":\"\(out)/CT_small_2.dcm\""), "found under its _2 name: \(fourth.stdout)")
        #expect(fourth.stdout.contains("\"alreadyThere\":true"))
    }

    /// An archive whose series all hold an `IM00000.dcm`, fetched into one directory: the
    /// copies get `_N` names, and fetching again recognises every one of them.
    @Test func fetchingAgainRecognisesManyFilesOfOneName() throws {
        let fixture = try ShellFixture(load: false)
        let original = try Data(contentsOf: URL(fileURLWithPath: try Corpus.path("pydicom/test_files/CT_small.dcm")))
        let input = fixture.directory.appendingPathComponent("series")
        let count = 80
        for index in 0..<count {
            let series = input.appendingPathComponent("s\(index)")
            try FileManager.default.createDirectory(at: series, withIntermediateDirectories: true)
            var bytes = original
            bytes[0] = UInt8(index)  // the preamble: another file, the same DICOM
            try bytes.write(to: series.appendingPathComponent("IM00000.dcm"))
        }
        #expect(try fixture.run(["-c", "load '\(input.path)' recursive"]).status == 0)
        let out = fixture.directory.appendingPathComponent("flat").path
        let first = try fixture.run(["-c", "find name fetch to '\(out)'"])
        #expect(first.stderr.contains("fetched \(count) files ("), "\(first.stderr)")
        let second = try fixture.run(["-c", "find name fetch to '\(out)'"])
        #expect(second.stderr.contains("fetched 0 files (0 B), \(count) already there"), "\(second.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).count == count)
    }
}

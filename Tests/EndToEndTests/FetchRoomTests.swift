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
}

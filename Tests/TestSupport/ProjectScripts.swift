import Foundation

/// The project's Python scripts (scripts/*.py), run with the test virtualenv's pydicom.
public enum ProjectScripts {
    /// Runs `scripts/NAME` with the virtualenv's Python and returns what it printed.
    @discardableResult
    public static func run(_ name: String, _ arguments: [String]) throws -> String {
        guard let venv = ProcessInfo.processInfo.environment["DQL_TEST_VENV"] else {
            throw TestSetupError("DQL_TEST_VENV is not set (scripts/test.sh sets it)")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/\(name)").path
        return try runProcess("\(venv)/bin/python", [script] + arguments)
    }

    /// Writes an archive with scripts/generate_archive.py into `directory`.
    public static func generateArchive(_ directory: URL, _ arguments: [String]) throws {
        try run("generate_archive.py", [directory.path] + arguments)
    }
}

import Foundation

/// Writes a diagnostic line to stderr, keeping stdout for data.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

import Foundation

/// Writes a diagnostic line to stderr, keeping stdout for data.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes data to stdout.
func writeOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

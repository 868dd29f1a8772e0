import Foundation

/// The outcome of running a program: exit status and everything it printed.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// Runs `executable` with `arguments`, feeding `input` on stdin, and waits for it.
    public static func run(
        _ executable: String, _ arguments: [String], input: String? = nil,
        environment: [String: String]? = nil, currentDirectory: String? = nil
    ) throws -> ProcessResult {
        let process = Process()
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        let stdinPipe = Pipe()
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = stdinPipe
        try process.run()
        if let input { stdinPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try stdinPipe.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot fill one and block.
        let errorData = ReadBox()
        let readers = DispatchGroup()
        DispatchQueue.global().async(group: readers) {
            errorData.data = stderrPipe.fileHandleForReading.readDataToEndOfFile()
        }
        let outputData = stdoutPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        readers.wait()
        return ProcessResult(
            status: process.terminationStatus,
            stdout: String(decoding: outputData, as: UTF8.self),
            stderr: String(decoding: errorData.data ?? Data(), as: UTF8.self))
    }
}

private final class ReadBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: Data?
    var data: Data? {
        get { lock.withLock { storage } }
        set { lock.withLock { storage = newValue } }
    }
}

import DQL
import DicomCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where text goes: stdout (results), stderr (everything else), or the file `\o` named.
/// Written with write(2), whole, retried on EINTR; a reader that went away (EPIPE, as in
/// `dql … | head`) ends that output quietly instead of the process.
final class OutputTarget: @unchecked Sendable {
    let descriptor: Int32
    /// The file written to, for `\o`; nil for stdout and stderr.
    let path: String?
    /// Whether it is a terminal (then text that could drive it is shown, not obeyed).
    let isTerminal: Bool
    private let lock = NSLock()
    private var broken = false
    /// Why a write failed (other than the reader going away), until someone asks.
    private var failure: String?

    static let standardOutput = OutputTarget(descriptor: STDOUT_FILENO, path: nil)
    static let standardError = OutputTarget(descriptor: STDERR_FILENO, path: nil)

    /// Whether `close()` closes the descriptor (a file or a pipe dql opened).
    private let owned: Bool

    private init(descriptor: Int32, path: String?, owned: Bool = false) {
        self.descriptor = descriptor
        self.path = path
        self.owned = owned
        isTerminal = isatty(descriptor) == 1
    }

    /// The pipe to a command's stdin (`\o |cmd`, the pager); named `|cmd` in messages.
    init(pipe descriptor: Int32, command: String) {
        self.descriptor = descriptor
        path = "|" + command
        owned = true
        isTerminal = false
    }

    /// The first write failure since the last call (a full disk, a file size limit), once.
    func takeFailure() -> String? {
        lock.withLock {
            defer { failure = nil }
            return failure
        }
    }

    /// Where this writes, for messages.
    var name: String { path ?? (descriptor == STDOUT_FILENO ? "stdout" : "stderr") }

    /// A new file at `path` (truncated), for `\o FILE`.
    static func create(_ path: String) throws -> OutputTarget {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SessionError("cannot write \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        return OutputTarget(descriptor: descriptor, path: path, owned: true)
    }

    /// Bytes written into a pipe that its reader has not read yet (0 for anything else).
    var unreadBytes: Int {
        var count: Int32 = 0
        return ioctl(descriptor, UInt(FIONREAD), &count) == 0 ? Int(count) : 0
    }

    /// Whether the reader has gone away.
    var isBroken: Bool { lock.withLock { broken } }

    func write(_ text: String) {
        guard !text.isEmpty else { return }
        lock.withLock {
            guard !broken else { return }
            var bytes = Array(text.utf8)
            var written = 0
            while written < bytes.count {
                let count = bytes.withUnsafeMutableBytes { raw in
                    Glibc.write(descriptor, raw.baseAddress.map { $0 + written }, raw.count - written)
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    // A reader that went away (`| head`) ends the output quietly; anything
                    // else is a failure the statement reports.
                    if errno != EPIPE { failure = failure ?? systemMessage(errno) }
                    broken = true
                    return
                }
                written += count
            }
            bytes.removeAll()
        }
    }

    /// Closes a file or pipe target (never stdout or stderr); once.
    func close() {
        guard owned else { return }
        lock.withLock {
            guard !closed else { return }
            closed = true
            broken = true
            _ = Glibc.close(descriptor)
        }
    }
    private var closed = false
}

/// Writes a diagnostic line to stderr, keeping stdout for data. Anything in it that could
/// drive the terminal (a file name or value with escape sequences) is shown, not obeyed.
func printError(_ message: String) {
    OutputTarget.standardError.write(visible(message, keepingLines: true) + "\n")
}

/// Writes data to stdout.
func writeOutput(_ text: String) {
    OutputTarget.standardOutput.write(text)
}

import CSystemCalls
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `dql` running on a pseudo-terminal, driven like a person at a keyboard: keys in, screen
/// output read back, Ctrl-C delivered by the terminal as a real SIGINT.
final class PseudoTerminal {
    let master: Int32
    let pid: pid_t
    /// Everything the program has written to the terminal so far.
    private(set) var output = ""
    /// Where the next ``expect(_:timeout:)`` starts looking.
    private var mark = ""[...].startIndex
    private var exitStatus: Int32?

    init(arguments: [String], environment: [String: String]) throws {
        var masterDescriptor: Int32 = -1
        var slaveDescriptor: Int32 = -1
        var name = [CChar](repeating: 0, count: 256)
        var size = winsize(ws_row: 40, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&masterDescriptor, &slaveDescriptor, &name, nil, &size) == 0 else {
            throw TestSetupError("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        master = masterDescriptor
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        // The child opens the terminal by name (so it becomes its controlling terminal).
        close(slaveDescriptor)
        let slave = String(cString: name)

        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        let child = try spawn([DQLBinary.path] + arguments, environment: merged, terminal: slave, newSession: true)
        pid = child
        mark = output.startIndex
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
    }

    /// Types `keys` (control characters included: "\u{3}" is Ctrl-C, "\u{4}" Ctrl-D), after
    /// a short pause as a person would make: a key typed while the line editor is still
    /// switching the terminal's mode can be dropped by the terminal driver.
    func send(_ keys: String) {
        read(for: 0.05)
        _ = keys.withCString { write(master, $0, strlen($0)) }
    }

    /// Waits until `text` appears in the output after the previous match; returns what came
    /// before it. Throws, with the screen so far, if it does not appear in time.
    @discardableResult
    func expect(_ text: String, timeout: Double = 15) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let range = output[mark...].range(of: text) {
                let before = String(output[mark..<range.lowerBound])
                mark = range.upperBound
                return before
            }
            guard Date() < deadline else {
                throw TestSetupError("timed out waiting for \(text.debugDescription); screen:\n\(output[mark...])")
            }
            read(for: 0.05)
        }
    }

    /// Waits for the program to exit and returns its status.
    func waitForExit(timeout: Double = 15) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            read(for: 0.02)
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = (status >> 8) & 0xFF
                return exitStatus ?? -1
            }
        }
        throw TestSetupError("dql did not exit; screen:\n\(output[mark...])")
    }

    private func read(for seconds: Double) {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(seconds * 1000)) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = Glibc.read(master, &buffer, buffer.count)
        if count > 0 {
            let offset = output.distance(from: output.startIndex, to: mark)
            output += String(decoding: buffer[0..<count], as: UTF8.self)
            mark = output.index(output.startIndex, offsetBy: offset)
        }
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Facts about where input comes from and output goes.
enum Terminal {
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Colour on stdout: only on a terminal, never with `NO_COLOR` set (https://no-color.org)
    /// or `TERM=dumb`.
    static func colorAllowed(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
        if environment["TERM"] == "dumb" { return false }
        return stdoutIsTerminal
    }

    /// Pixels of a character cell of the terminal on `descriptor`, when it says (kitty, iTerm2,
    /// WezTerm and foot do; many terminals report 0).
    static func cellPixels(of descriptor: Int32) -> (width: Int, height: Int)? {
        var size = winsize()
        guard isatty(descriptor) == 1, ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0,
            size.ws_row > 0, size.ws_xpixel >= size.ws_col, size.ws_ypixel >= size.ws_row
        else { return nil }
        return (Int(size.ws_xpixel) / Int(size.ws_col), Int(size.ws_ypixel) / Int(size.ws_row))
    }

    /// Columns of the terminal on stderr, for the progress bar.
    static var width: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// Rows and columns of the terminal on `descriptor`; nil when it is no terminal. A terminal
    /// that does not say its size (a pseudo-terminal nobody sized) is taken as 24 × 80.
    static func size(of descriptor: Int32) -> (rows: Int, columns: Int)? {
        var size = winsize()
        guard isatty(descriptor) == 1 else { return nil }
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else {
            return (24, 80)
        }
        return (Int(size.ws_row), Int(size.ws_col))
    }

    /// Asks a question on the terminal and reads the answer (for confirmations); nil when
    /// there is no terminal to ask on.
    static func ask(_ prompt: String) -> String? {
        let descriptor = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        _ = prompt.withCString { write(descriptor, $0, strlen($0)) }
        return readLine(descriptor)
    }

    /// What asking for a secret gave.
    enum SecretAnswer: Equatable {
        case typed(String)
        /// There is no terminal to ask on.
        case noTerminal
        /// Ctrl-D before anything was typed.
        case ended
        /// Ctrl-C (or another interruption) while asking.
        case interrupted
    }

    /// Reads a line from the terminal without echoing it (for passwords). Reads /dev/tty, so it
    /// works when stdin is a pipe. The terminal's echo is restored however it ends (call
    /// ``Interrupt/install()`` first, so Ctrl-C ends the question instead of the process).
    static func readSecret(prompt: String) -> SecretAnswer {
        let descriptor = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return .noTerminal }
        defer { close(descriptor) }
        var saved = termios()
        let isTerminal = tcgetattr(descriptor, &saved) == 0
        if isTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            tcsetattr(descriptor, TCSAFLUSH, &quiet)
        }
        defer { if isTerminal { tcsetattr(descriptor, TCSAFLUSH, &saved) } }
        _ = prompt.withCString { write(descriptor, $0, strlen($0)) }
        let line = readLine(descriptor)
        if Interrupt.isPending {
            _ = "\n".withCString { write(descriptor, $0, 1) }
            return .interrupted
        }
        return line.map { .typed($0) } ?? .ended
    }

    /// One line from `descriptor`, without its newline; nil at the end (or Ctrl-C) before
    /// anything was typed.
    private static func readLine(_ descriptor: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while Interrupt.waitForInput(on: descriptor), read(descriptor, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }
}

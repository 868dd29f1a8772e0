import RedisIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Ctrl-C as a flag the shell and running statements poll, instead of the default action of
/// killing the process. Installed without `SA_RESTART`, so a blocked `readline()` returns and
/// the REPL can drop the line; a running statement sees the flag between chunks and stops
/// cleanly. Pressing Ctrl-C three times while a statement ignores it exits at once. SIGTERM
/// and SIGHUP (`timeout`, a closed terminal) stop the running statement the same way, and
/// then the session, with 128 + the signal as the exit status; a statement that cannot stop
/// within ``terminationGraceSeconds`` (blocked on a server that stopped answering) is not
/// waited for: the process exits then, as a kill would end it (nothing half-stored is
/// visible; claims expire and `vacuum` removes unclaimed chunks).
enum Interrupt {
    private static let presses = Atomic<Int>(0)
    private static let lastSignal = Atomic<Int32>(0)
    /// The thread that reads input: the kernel may deliver SIGINT to any thread, and only an
    /// interrupted read on this one makes `readline()` return.
    nonisolated(unsafe) private static var inputThread: pthread_t?
    /// A pipe the handler writes a byte to, so a reader that polls it wakes even when the
    /// signal arrived between its last check and its `read` (a Ctrl-C also flushes the
    /// terminal's unread input, so that read would otherwise wait for the next key).
    nonisolated(unsafe) private static var wakePipe: (read: Int32, write: Int32) = (-1, -1)

    /// Installs the handler; call on the thread that reads input.
    static func install() {
        inputThread = pthread_self()
        if wakePipe.read < 0 {
            var descriptors: [Int32] = [-1, -1]
            if pipe(&descriptors) == 0 {
                for descriptor in descriptors {
                    _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
                    _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
                }
                wakePipe = (descriptors[0], descriptors[1])
                // A wait on the server ends at Ctrl-C too, not only at its timeout.
                NetworkInterruption.install(descriptor: descriptors[0]) { Interrupt.isPending }
            }
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            if let input = Interrupt.inputThread, pthread_equal(pthread_self(), input) == 0 {
                pthread_kill(input, signal)
                return
            }
            Interrupt.lastSignal.store(signal, ordering: .relaxed)
            let count = Interrupt.presses.wrappingAdd(1, ordering: .relaxed).newValue
            if count >= 3 { _exit(128 + signal) }
            if signal == SIGTERM || signal == SIGHUP { alarm(Interrupt.terminationGraceSeconds) }
            var byte: UInt8 = 1
            _ = write(Interrupt.wakePipe.write, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaction(signal, &action, nil) }
        var expired = sigaction()
        expired.__sigaction_handler.sa_handler = { _ in
            let signal = Interrupt.lastSignal.load(ordering: .relaxed)
            _exit(128 + (signal == 0 ? SIGTERM : signal))
        }
        sigemptyset(&expired.sa_mask)
        sigaction(SIGALRM, &expired, nil)
        // Threads made from the concurrency runtime's workers inherit a mask that blocks SIGINT.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&unblock, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    static var isPending: Bool { presses.load(ordering: .relaxed) > 0 }

    /// How long a SIGTERM or SIGHUP waits for the running statement to stop cleanly.
    static let terminationGraceSeconds: UInt32 = 10

    /// The exit status for an interruption: 128 + the last signal (130 for Ctrl-C).
    static var exitCode: Int32 {
        let signal = lastSignal.load(ordering: .relaxed)
        return signal == 0 ? ExitCodes.interrupted : 128 + signal
    }

    /// Whether the session was asked to end (SIGTERM, SIGHUP), not just the statement.
    static var endsSession: Bool {
        let signal = lastSignal.load(ordering: .relaxed)
        return signal == SIGTERM || signal == SIGHUP
    }

    /// Forgets earlier presses; returns whether there were any.
    @discardableResult
    static func clear() -> Bool {
        drainWakePipe()
        return presses.exchange(0, ordering: .relaxed) > 0
    }

    private static func drainWakePipe() {
        var drain = [UInt8](repeating: 0, count: 64)
        while wakePipe.read >= 0, read(wakePipe.read, &drain, drain.count) > 0 {}
    }

    /// Sleeps for `duration` unless interrupted first; false when interrupted (`\watch`).
    static func sleep(_ duration: Duration) -> Bool {
        if isPending { return false }
        _ = NetworkInterruption.wait(
            on: wakePipe.read, for: Int16(POLLIN), until: .now + duration, grace: .zero)
        return !isPending
    }

    /// Waits until `descriptor` has input to read (true) or an interruption is pending
    /// (false). Race-free: a signal that lands just before the wait still wakes it (the wait
    /// watches the wake pipe too).
    static func waitForInput(on descriptor: Int32) -> Bool {
        if isPending { return false }
        switch NetworkInterruption.wait(on: descriptor, for: Int16(POLLIN), until: nil, grace: .zero) {
        // Input, end of input or an error: the read that follows reports which.
        case .ready, .failed: return !isPending
        case .interrupted, .timedOut: return false
        }
    }
}

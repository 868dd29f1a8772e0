#if canImport(Glibc)
    import Glibc
#endif

/// How a wait on the network (or the terminal) ends early when the user interrupts: a descriptor that becomes
/// readable then (the shell's signal handler writes to it), and the check that says the
/// interruption is real. Every ``Transport`` wait polls the descriptor with its socket. Set
/// once, by the program, before any connection; unset, waits end only by timeout.
public enum NetworkInterruption {
    nonisolated(unsafe) public private(set) static var descriptor: Int32 = -1
    nonisolated(unsafe) public private(set) static var isRequested: @Sendable () -> Bool = { false }

    /// Installs the descriptor and the check (the shell's Ctrl-C handling).
    public static func install(descriptor: Int32, isRequested: @escaping @Sendable () -> Bool) {
        self.descriptor = descriptor
        self.isRequested = isRequested
    }

    /// How much longer a wait may go on once the user interrupted: a server that answers
    /// does so well within it, so the clean-up after Ctrl-C (a load's rollback) still reaches
    /// it; a silent one is given up then.
    public static let grace: Duration = .seconds(1)

    /// What a wait on a socket came to.
    public enum WaitOutcome: Equatable, Sendable {
        case ready
        case timedOut
        case interrupted
        case failed(Int32)
    }

    /// Waits until `descriptor` is ready for `events`, `deadline` passes (nil: never), or the
    /// user interrupted and nothing came for `grace` more (zero: at once).
    public static func wait(
        on descriptor: Int32, for events: Int16, until deadline: ContinuousClock.Instant?, grace: Duration = grace
    )
        -> WaitOutcome
    {
        var graceEnds: ContinuousClock.Instant?
        while true {
            let interrupted = isRequested()
            if interrupted && graceEnds == nil { graceEnds = .now + grace }
            let limit = [deadline, graceEnds].compactMap { $0 }.min()
            var milliseconds: Int32 = -1
            if let limit {
                let left = ContinuousClock.now.duration(to: limit)
                milliseconds = Int32(
                    clamping: max(
                        0,
                        left.components.seconds * 1000 + (left.components.attoseconds + 999_999_999_999_999)
                            / 1_000_000_000_000_000))
            }
            // Once interrupted the wake-up descriptor stays readable: leave it out.
            let watchesInterruption = !interrupted && self.descriptor >= 0
            var waiting = [
                pollfd(fd: descriptor, events: events, revents: 0),
                pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&waiting, watchesInterruption ? 2 : 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if waiting[0].revents != 0 { return .ready }
            if watchesInterruption && waiting[1].revents != 0 {
                if !isRequested() { drain() }
                continue
            }
            let now = ContinuousClock.now
            if let graceEnds, now >= graceEnds { return .interrupted }
            if let deadline, now >= deadline { return .timedOut }
        }
    }

    /// Empties the descriptor after a wake-up that was not an interruption (one already
    /// handled), so the next wait does not return at once.
    static func drain() {
        guard descriptor >= 0 else { return }
        var bytes = [UInt8](repeating: 0, count: 64)
        while read(descriptor, &bytes, bytes.count) > 0 {}
    }

    static func error(endpoint: String, doing what: String) -> RedisError {
        RedisError(.cancelled, endpoint: endpoint, "interrupted while waiting to \(what)")
    }
}

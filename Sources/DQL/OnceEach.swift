import Synchronization

/// Passes each distinct message on once: a statement's files that meet the same condition
/// (a wait for another load's claims) say so once, not once per file.
final class OnceEach: Sendable {
    private let said = Mutex<Set<String>>([])
    private let pass: @Sendable (String) -> Void

    init(_ pass: @escaping @Sendable (String) -> Void) {
        self.pass = pass
    }

    @Sendable func say(_ message: String) {
        guard said.withLock({ $0.insert(message).inserted }) else { return }
        pass(message)
    }
}

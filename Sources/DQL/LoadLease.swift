import Foundation
import RedisIO
import Synchronization

/// A load's claim on the chunks it is writing: the `loading:<id>` key, set with a short
/// expiry and renewed by a thread of its own while the load runs. `vacuum` leaves chunks
/// with a live lease alone; when a loader dies (killed, crashed, machine gone) the lease
/// expires within `seconds` and its chunks become orphans that `vacuum` removes.
final class LoadLease: Sendable {
    let key: String
    let seconds: Int
    private let pool: RedisPool
    private let running = Mutex(true)
    private let finished = DispatchSemaphore(value: 0)

    /// Takes the lease and starts renewing it every `seconds / 3`.
    init(key: String, seconds: Int, pool: RedisPool, now: Int) throws {
        self.key = key
        self.seconds = max(1, seconds)
        self.pool = pool
        _ = try pool.withConnection {
            try $0.call("SET", key, String(now), "EX", String(self.seconds))
        }
        let thread = Thread { [self] in renewUntilReleased() }
        thread.name = "dql.lease"
        thread.start()
    }

    /// Stops renewing and deletes the key.
    func release() {
        running.withLock { $0 = false }
        finished.wait()
        _ = try? pool.withConnection { try $0.call("DEL", key) }
    }

    private func renewUntilReleased() {
        let interval = Double(seconds) / 3
        var last = Date()
        while running.withLock({ $0 }) {
            Thread.sleep(forTimeInterval: min(0.05, interval))
            guard Date().timeIntervalSince(last) >= interval else { continue }
            last = Date()
            // A failed renewal is not fatal here: the transfer itself will fail on the same
            // connection problem, and an expired lease only lets vacuum reclaim the chunks.
            _ = try? pool.withConnection { try $0.call("EXPIRE", key, String(seconds)) }
        }
        finished.signal()
    }
}

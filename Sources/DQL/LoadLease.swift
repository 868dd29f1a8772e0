import Foundation
import RedisIO

/// A load's claim on the chunks it is writing: the `loading:<id>` key, set with a short
/// expiry and renewed by a thread of its own while the load runs. `vacuum` leaves chunks
/// with a live lease alone; when a loader dies (killed, crashed, machine gone) the lease
/// expires within `seconds` and its chunks become orphans that `vacuum` removes.
final class LoadLease: @unchecked Sendable {
    let key: String
    let seconds: Int
    private let client: RedisClient
    /// Guards `running`; signalled by `release` so the renewing thread stops at once.
    private let condition = NSCondition()
    nonisolated(unsafe) private var running = true
    private let finished = DispatchSemaphore(value: 0)

    /// Takes the lease and starts renewing it every `seconds / 3`.
    init(key: String, seconds: Int, client: RedisClient, now: Int) throws {
        self.key = key
        self.seconds = max(1, seconds)
        self.client = client
        try client.call(RedisCommand("SET", key, String(now), "EX", String(self.seconds)), routedBy: key)
        let thread = Thread { [self] in renewUntilReleased() }
        thread.name = "dql.lease"
        thread.start()
    }

    /// Stops renewing and deletes the key.
    func release() {
        condition.withLock {
            running = false
            condition.signal()
        }
        finished.wait()
        _ = try? client.call(RedisCommand("DEL", key), routedBy: key)
    }

    private func renewUntilReleased() {
        let interval = Double(seconds) / 3
        while true {
            let stillRunning = condition.withLock {
                if running { _ = condition.wait(until: Date().addingTimeInterval(interval)) }
                return running
            }
            guard stillRunning else { break }
            // A failed renewal is not fatal here: the transfer itself will fail on the same
            // connection problem, and an expired lease only lets vacuum reclaim the chunks.
            _ = try? client.call(RedisCommand("EXPIRE", key, String(seconds)), routedBy: key)
        }
        finished.signal()
    }
}

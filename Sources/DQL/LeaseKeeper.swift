import Foundation
import RedisIO

/// The claims of one load statement on the ids of many files at once: the same rules as
/// ``LoadLease`` (one load writes an id's chunks; renewal, commit and release check the token
/// on the server), but one token for the statement, claims, commits and releases pipelined a
/// batch at a time, and one thread renewing every live claim together, instead of a claim,
/// a thread and several round trips per file.
final class LeaseKeeper: @unchecked Sendable {
    let seconds: Int
    /// This statement's token, the value of every claim key it holds.
    let token = UUID().uuidString
    private let client: RedisClient
    private let condition = NSCondition()
    /// Guarded by `condition`.
    nonisolated(unsafe) private var held: Set<String> = []
    nonisolated(unsafe) private var running = true
    nonisolated(unsafe) private var renewer: Thread?
    private let finished = DispatchSemaphore(value: 0)

    /// Sets the expiry again on each claim that is still ours.
    static let renewAllScript =
        "for _, key in ipairs(KEYS) do if redis.call('GET', key) == ARGV[1] then "
        + "redis.call('EXPIRE', key, ARGV[2]) end end return 1"

    /// What claiming one id found.
    enum Claim: Equatable {
        case claimed
        /// Its document exists: the bytes are stored already.
        case stored
        /// Another load holds it (it is waited for one file at a time, by ``LoadLease``).
        case busy
    }

    init(client: RedisClient, seconds: Int) {
        self.client = client
        self.seconds = max(1, seconds)
    }

    /// Claims each `(claim key, document key)` in one round trip.
    func claim(_ ids: [(key: String, documentKey: String)]) throws -> [Claim] {
        guard !ids.isEmpty else { return [] }
        let commands = ids.flatMap {
            [
                RedisCommand("SET", $0.key, token, "NX", "EX", String(seconds)),
                RedisCommand("EXISTS", $0.documentKey),
            ]
        }
        let replies = try client.pipeline(commands, routedBy: ids.flatMap { [$0.key, $0.documentKey] })
        var claims: [Claim] = []
        var storedMeanwhile: [String] = []
        for (index, id) in ids.enumerated() {
            let set = try replies[2 * index].checked()
            let exists = try replies[2 * index + 1].checked().integer == 1
            switch (set == .status("OK"), exists) {
            case (true, false): claims.append(.claimed)
            case (true, true):
                // The load that held it finished just before: its document stands.
                storedMeanwhile.append(id.key)
                claims.append(.stored)
            case (false, true): claims.append(.stored)
            case (false, false): claims.append(.busy)
            }
        }
        let claimed = zip(ids, claims).filter { $0.1 == .claimed }.map(\.0.key)
        condition.withLock { held.formUnion(claimed) }
        release(storedMeanwhile, tracked: false)
        if !claimed.isEmpty { startRenewing() }
        return claims
    }

    /// Holds `key` (set to this statement's token, renewed with the claims) until ``stop``: a
    /// marker that the statement is running; and `buckets`, markers in other slots that
    /// commits there check, set first and with a shorter expiry, so none outlives `key`.
    func hold(_ key: String, buckets: [String] = []) throws {
        if !buckets.isEmpty {
            let replies = try client.pipeline(
                buckets.map { RedisCommand("SET", $0, token, "EX", String(shorterSeconds)) }, routedBy: buckets)
            for reply in replies { _ = try reply.checked() }
        }
        _ = try client.call(RedisCommand("SET", key, token, "EX", String(seconds)), routedBy: key).checked()
        condition.withLock {
            held.formUnion(buckets)
            _ = held.insert(key)
            marker = key
        }
        startRenewing()
    }

    /// The expiry of every key but the `{m}` marker.
    private var shorterSeconds: Int { max(1, seconds - 1) }

    /// The marker a document's commit checks, by the document's key (the `{m}` marker on a
    /// `{m}` store, its bucket's on a spread store); nil: commits check none.
    var runMarker: LoadLease.RunMarker?

    /// The statement's marker in the `{m}` slot, once held: `index` waits for it. Renewed
    /// after every other key, with a longer expiry, so it outlives them.
    nonisolated(unsafe) private(set) var marker: String?

    /// Writes each document (NX) and gives its claim back, while the claim is ours, in one
    /// round trip: per document, 1 written, 0 another load's document was there, -1 the claim
    /// was lost, or the server's error for it (the claim then stays, for ``release(_:)``).
    func commitAndRelease(_ documents: [(key: String, documentKey: String, json: String)]) throws -> [RedisReply] {
        guard !documents.isEmpty else { return [] }
        let checked = condition.withLock { self.marker } != nil ? runMarker : nil
        let replies = try client.pipeline(
            documents.map {
                LoadLease.commitCommand(
                    claim: $0.key, documentKey: $0.documentKey, token: token, json: $0.json, marker: checked)
            },
            routedBy: documents.map(\.key))
        if replies.contains(where: { $0.integer == -2 }) { throw LoadLeaseError.suspended(seconds: seconds) }
        if replies.contains(where: { $0.integer == -3 }) {
            throw LoadLease.migrationBegun(endpoint: client.configuration.url.endpoint)
        }
        let released = zip(documents, replies).filter { $0.1.errorMessage == nil }.map(\.0.key)
        condition.withLock { held.subtract(released) }
        return replies
    }

    /// Deletes the claims that are still ours (best effort: an unreleased claim expires).
    func release(_ keys: [String], tracked: Bool = true) {
        guard !keys.isEmpty else { return }
        if tracked { condition.withLock { held.subtract(keys) } }
        _ = try? client.pipeline(
            keys.map { RedisCommand("EVAL", LoadLease.releaseScript, "1", $0, token) }, routedBy: keys)
    }

    /// Releases every claim still held (unless told not to: they then expire) and stops the
    /// renewing thread.
    func stop(releasing: Bool = true) {
        let (remaining, thread) = condition.withLock {
            running = false
            condition.signal()
            return (Array(held), renewer)
        }
        if thread != nil { finished.wait() }
        if releasing { release(remaining) }
    }

    private func startRenewing() {
        condition.withLock {
            guard renewer == nil, running else { return }
            let thread = Thread { [self] in renewUntilStopped() }
            thread.name = "dql.leases"
            renewer = thread
            thread.start()
        }
    }

    private func renewUntilStopped() {
        let interval = Double(seconds) / 3
        while true {
            let keys: [String]? = condition.withLock {
                if running { _ = condition.wait(until: Date().addingTimeInterval(interval)) }
                return running ? Array(held) : nil
            }
            guard let keys else { break }
            let marker = condition.withLock { self.marker }
            // One script renews the keys of one slot (a script's keys must share one), up to
            // 500 at a time, in one pipeline; the `{m}` marker after all of them. A failed
            // renewal is not fatal here: the transfer fails on the same problem, and a lost
            // claim is found at commit.
            var bySlot: [HashSlot: [String]] = [:]
            for key in keys where key != marker { bySlot[HashSlot(key: key), default: []].append(key) }
            var batches: [[String]] = []
            for slotKeys in bySlot.values {
                for start in stride(from: 0, to: slotKeys.count, by: 500) {
                    batches.append(Array(slotKeys[start..<min(slotKeys.count, start + 500)]))
                }
            }
            _ = try? client.pipeline(
                batches.map {
                    RedisCommand(
                        ["EVAL", Self.renewAllScript, String($0.count)] + $0 + [token, String(shorterSeconds)])
                }, routedBy: batches.map { $0[0] })
            if let marker {
                _ = try? client.call(
                    RedisCommand("EVAL", Self.renewAllScript, "1", marker, token, String(seconds)), routedBy: marker)
            }
        }
        finished.signal()
    }
}

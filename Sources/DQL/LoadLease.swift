import Foundation
import RedisIO

/// A load's exclusive claim on the chunks of one id: the `loading:<id>` key holds a token of
/// this load, with a short expiry renewed by a thread of its own while the load runs.
///
/// - Only one load at a time writes the chunks of an id: a second load of the same bytes waits
///   until the first has finished (its document exists: nothing to do) or died (its claim
///   expired: it takes over). Two loads can never write one id's keys with different chunk
///   sizes, or delete each other's chunks.
/// - Renewal, commit and release check the token in one step on the server (a Lua script on
///   the claim's slot, which the document shares): a load that stalled past its expiry and
///   lost the claim to another neither writes its document nor removes chunks that are now the
///   other load's.
/// - `vacuum` leaves chunks with a live claim alone; a dead load's claim expires within
///   `seconds` and its chunks become orphans that `vacuum` removes.
final class LoadLease: @unchecked Sendable {
    let key: String
    let seconds: Int
    /// This load's token, the key's value while the claim is ours.
    let token = UUID().uuidString
    private let client: RedisClient
    /// Guards `running`; signalled by `release` so the renewing thread stops at once.
    private let condition = NSCondition()
    nonisolated(unsafe) private var running = true
    private let finished = DispatchSemaphore(value: 0)

    /// Sets the expiry again if the claim is still ours (1), else does nothing (0).
    static let renewScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) else return 0 end"
    /// Deletes the claim if it is still ours.
    static let releaseScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"
    /// Writes the document (NX) only while the claim is ours: -1 when it was lost.
    /// Writes the document (NX) and deletes the claim, if the claim is still ours: -1 when it
    /// was lost. (The claim is given back with the document: nothing is left to do for it.)
    static let commitScript =
        "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end "
        + "local written = redis.call('JSON.SET', KEYS[2], '$', ARGV[2], 'NX') "
        + "redis.call('DEL', KEYS[1]) if written then return 1 else return 0 end"

    /// ``commitScript`` for a load statement, which holds a marker in the document's slot
    /// (KEYS[3], ARGV[3] its token; see ``StorageLayout/loadRunKey(token:documentKey:)``): -2
    /// when the marker is gone, the load having been stopped (suspended) longer than its
    /// lease, so `index` may have finished without waiting for it and its documents would lack
    /// an indexed attribute. On a `{m}` store, -3 when the record of placement (KEYS[4]) says a
    /// `migrate` has begun, which moves the `{m}` documents it finds and no document written
    /// after.
    static let commitWhileRunningScript =
        "if #KEYS > 3 then local placement = redis.call('GET', KEYS[4]) "
        + "if placement and placement ~= 'single' then return -3 end end "
        + "if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -2 end " + commitScript

    /// The script that writes document `documentKey` (NX) and gives back the claim `claim`
    /// held with `token`: checking the statement's `marker` (and the record of placement) too
    /// when there is one.
    static func commitCommand(
        claim: String, documentKey: String, token: String, json: String, marker: RunMarker?
    ) -> RedisCommand {
        guard let marker else { return RedisCommand("EVAL", commitScript, "2", claim, documentKey, token, json) }
        let keys = [claim, documentKey, marker.key(documentKey)] + (marker.placementKey.map { [$0] } ?? [])
        return RedisCommand(
            ["EVAL", commitWhileRunningScript, String(keys.count)] + keys + [token, json, marker.token])
    }

    /// A load statement's markers (the one a document's commit checks, by its key) and their
    /// token, and on a `{m}` store the record of placement its commits check too.
    struct RunMarker: Sendable {
        var key: @Sendable (_ documentKey: String) -> String
        var token: String
        var placementKey: String?
    }

    /// A load into a `{m}` store that met a `migrate` begun after it.
    static func migrationBegun(endpoint: String) -> RedisError {
        RedisError(
            .server, endpoint: endpoint,
            "a migrate began moving the store to the spread layout while this load ran; the files this load stored before that are moved with the store; load the folder again once migrate is done"
        )
    }

    /// What trying to claim an id found.
    enum Claim {
        case claimed(LoadLease)
        /// Another load stored these bytes while this one waited.
        case stored
    }

    /// Claims `key` for this load, waiting while another load holds it, until that load has
    /// stored the document `documentKey` or its claim has expired. `isCancelled` is polled
    /// while waiting; `waiting` is called once, when the wait begins.
    static func claim(
        key: String, documentKey: String, seconds: Int, client: RedisClient,
        isCancelled: @Sendable () -> Bool = { false }, waiting: () -> Void = {}
    ) throws -> Claim {
        let lease = LoadLease(key: key, seconds: seconds, client: client)
        var waited = false
        while true {
            let reply = try client.call(
                RedisCommand("SET", key, lease.token, "NX", "EX", String(lease.seconds)), routedBy: key)
            if reply == .status("OK") {
                // The load that held it may have finished just before: its document stands.
                if try client.call(RedisCommand("EXISTS", documentKey), routedBy: documentKey).integer == 1 {
                    _ = try? client.call(RedisCommand("EVAL", releaseScript, "1", key, lease.token), routedBy: key)
                    return .stored
                }
                lease.startRenewing()
                return .claimed(lease)
            }
            if try client.call(RedisCommand("EXISTS", documentKey), routedBy: documentKey).integer == 1 {
                return .stored
            }
            if isCancelled() { throw ChunkTransferError.cancelled }
            if !waited {
                waited = true
                waiting()
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    private init(key: String, seconds: Int, client: RedisClient) {
        self.key = key
        self.seconds = max(1, seconds)
        self.client = client
    }

    /// Whether the claim is still this load's.
    func isHeld() -> Bool {
        (try? client.call(RedisCommand("GET", key), routedBy: key).string) == token
    }

    /// Writes `json` as the document at `documentKey` (NX) if the claim is still ours, and
    /// gives the claim back. Returns false when another load's document was there already.
    /// With `marker` (the load statement's), refused once it is gone.
    func commit(documentKey: String, json: String, marker: RunMarker? = nil) throws -> Bool {
        let command = Self.commitCommand(
            claim: key, documentKey: documentKey, token: token, json: json, marker: marker)
        let reply = try client.call(command, routedBy: key)
        if reply.integer == -2 { throw LoadLeaseError.suspended(seconds: seconds) }
        if reply.integer == -3 { throw Self.migrationBegun(endpoint: client.configuration.url.endpoint) }
        guard reply.integer != -1 else { throw LoadLeaseError.lost(key: key, seconds: seconds) }
        return reply.integer == 1
    }

    /// Stops renewing and deletes the claim if it is still ours.
    func release() {
        condition.withLock {
            running = false
            condition.signal()
        }
        finished.wait()
        _ = try? client.call(RedisCommand("EVAL", Self.releaseScript, "1", key, token), routedBy: key)
    }

    private func startRenewing() {
        let thread = Thread { [self] in renewUntilReleased() }
        thread.name = "dql.lease"
        thread.start()
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
            // connection problem, and a lost claim is found at commit.
            _ = try? client.call(
                RedisCommand("EVAL", Self.renewScript, "1", key, token, String(seconds)), routedBy: key)
        }
        finished.signal()
    }
}

/// A load that lost its claim: it stalled longer than the claim lasts, and another load
/// (or `vacuum`) may have taken over its id.
public enum LoadLeaseError: Error, Sendable, Equatable, CustomStringConvertible {
    case lost(key: String, seconds: Int)
    /// The load statement's marker expired: it was stopped longer than its lease.
    case suspended(seconds: Int)

    public var description: String {
        switch self {
        case .lost(_, let seconds):
            "the load stalled for more than \(seconds) s and lost its claim on its chunks to another load or to vacuum; nothing was stored, load it again"
        case .suspended(let seconds):
            "the load was stopped for more than \(seconds) s (its lease ran out), so the index may have changed under it; the files stored before are kept, load the folder again for the rest"
        }
    }
}

import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// A load statement holds a marker while it runs (`index` waits for loads that began before it).
/// A load stopped longer than its lease loses the marker, and then commits nothing more: its
/// documents would lack an attribute indexed meanwhile.
@Suite(.serialized) struct LoadMarkerTests {
    @Test func aLoadWhoseMarkerIsGoneCommitsNothingMore() throws {
        let pool = RedisPool(try TestRedis.configuration())
        defer { pool.close() }
        let client = RedisClient(pool: pool)
        let layout = StorageTests.layout()
        defer { try? pool.withConnection { StorageTests.dropAll(layout, $0) } }
        let keeper = LeaseKeeper(client: client, seconds: 30)
        keeper.placementKey = layout.placementKey
        defer { keeper.stop() }
        let marker = layout.loadRunKey(token: keeper.token)
        try keeper.hold(marker)
        let claim = (key: layout.loadingKey(id: "a"), documentKey: layout.documentKey(id: "a"))
        #expect(try keeper.claim([claim]) == [.claimed])
        // Suspended past its lease: the marker expired.
        try pool.withConnection { _ = try $0.call("DEL", marker) }
        #expect(throws: LoadLeaseError.suspended(seconds: 30)) {
            _ = try keeper.commitAndRelease([(claim.key, claim.documentKey, #"{"name":"a.dcm"}"#)])
        }
        #expect(try pool.withConnection { try $0.call("EXISTS", claim.documentKey).integer } == 0)

        // The single-file path checks the same marker.
        guard
            case .claimed(let lease) = try LoadLease.claim(
                key: layout.loadingKey(id: "b"), documentKey: layout.documentKey(id: "b"), seconds: 30, client: client)
        else {
            Issue.record("no claim")
            return
        }
        defer { lease.release() }
        #expect(throws: LoadLeaseError.suspended(seconds: 30)) {
            _ = try lease.commit(
                documentKey: layout.documentKey(id: "b"), json: "{}",
                marker: .init(key: marker, token: keeper.token, placementKey: layout.placementKey))
        }
        #expect(try pool.withConnection { try $0.call("EXISTS", layout.documentKey(id: "b")).integer } == 0)
    }

    /// A load into a `{m}` store that began before a `migrate` writes no document after the
    /// record of placement says the move has begun (the move takes the documents it finds, so
    /// one written later would be left behind, out of every index).
    @Test func aLoadCommitsNothingOnceAMigrateHasBegun() throws {
        let pool = RedisPool(try TestRedis.configuration())
        defer { pool.close() }
        let client = RedisClient(pool: pool)
        let layout = StorageTests.layout()
        defer { try? pool.withConnection { StorageTests.dropAll(layout, $0) } }
        let keeper = LeaseKeeper(client: client, seconds: 30)
        keeper.placementKey = layout.placementKey
        defer { keeper.stop() }
        let marker = layout.loadRunKey(token: keeper.token)
        try keeper.hold(marker)
        let claim = (key: layout.loadingKey(id: "a"), documentKey: layout.documentKey(id: "a"))
        #expect(try keeper.claim([claim]) == [.claimed])
        try pool.withConnection { _ = try $0.call("SET", layout.placementKey, "migrating") }
        defer { try? pool.withConnection { _ = try $0.call("DEL", layout.placementKey) } }
        let batch = #expect(throws: RedisError.self) {
            _ = try keeper.commitAndRelease([(claim.key, claim.documentKey, #"{"name":"a.dcm"}"#)])
        }
        #expect(batch?.message.contains("a migrate began moving the store to the spread layout") == true)
        #expect(try pool.withConnection { try $0.call("EXISTS", claim.documentKey).integer } == 0)

        guard
            case .claimed(let lease) = try LoadLease.claim(
                key: layout.loadingKey(id: "b"), documentKey: layout.documentKey(id: "b"), seconds: 30, client: client)
        else {
            Issue.record("no claim")
            return
        }
        defer { lease.release() }
        let single = #expect(throws: RedisError.self) {
            _ = try lease.commit(
                documentKey: layout.documentKey(id: "b"), json: "{}",
                marker: .init(key: marker, token: keeper.token, placementKey: layout.placementKey))
        }
        #expect(single?.message.contains("load the folder again once migrate is done") == true)
        #expect(try pool.withConnection { try $0.call("EXISTS", layout.documentKey(id: "b")).integer } == 0)
    }
}

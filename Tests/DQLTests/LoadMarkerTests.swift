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
        keeper.markerKey = { _ in marker }
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
                marker: .init(key: { _ in marker }, token: keeper.token, placementKey: layout.placementKey))
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
        keeper.markerKey = { _ in marker }
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
                marker: .init(key: { _ in marker }, token: keeper.token, placementKey: layout.placementKey))
        }
        #expect(single?.message.contains("load the folder again once migrate is done") == true)
        #expect(try pool.withConnection { try $0.call("EXISTS", layout.documentKey(id: "b")).integer } == 0)
    }

    /// On a spread store a load holds a marker in every bucket's slot as well, which commits
    /// there check (a script cannot reach the `{m}` slot from a bucket's); claims and markers
    /// in many slots are all renewed.
    @Test func aSpreadLoadRenewsEverySlotsKeysAndCommitsNothingOnceItsMarkerIsGone() throws {
        let client = try RedisClient(RedisConfiguration(url: TestRedis.clusterURL()))
        defer { client.close() }
        let layout = StorageLayout(prefix: "dqltest-marker-\(UUID().uuidString.prefix(8))", placement: .spread)
        defer { TestRedis.removeStore(prefix: layout.prefix, url: client.configuration.url) }
        let keeper = LeaseKeeper(client: client, seconds: 3)
        keeper.markerKey = { [token = keeper.token] in layout.loadRunKey(token: token, documentKey: $0) }
        defer { keeper.stop() }
        let marker = layout.loadRunKey(token: keeper.token)
        let buckets = layout.bucketLoadRunKeys(token: keeper.token)
        try keeper.hold(marker, buckets: buckets)
        // Files of studies in three different buckets.
        var studies: [Int: String] = [:]
        for number in 0..<1000 {
            if studies.count == 3 { break }
            let study = "1.2.\(number)"
            let bucket = StorageLayout.spreadBucket(study: study)
            if studies[bucket] == nil { studies[bucket] = study }
        }
        let files = studies.values.sorted().enumerated().map { index, study in
            (
                key: layout.loadingKey(id: "f\(index)", study: study),
                documentKey: layout.documentKey(id: "f\(index)", study: study)
            )
        }
        #expect(try keeper.claim(files) == [.claimed, .claimed, .claimed])
        // Past the expiry, renewed every second: every claim and marker is still there.
        Thread.sleep(forTimeInterval: 4.5)
        for key in files.map(\.key) + buckets + [marker] {
            #expect(try client.call(RedisCommand("GET", key), routedBy: key).string == keeper.token, "\(key)")
        }
        #expect(try client.call(RedisCommand("TTL", marker), routedBy: marker).integer == 3)
        // The first file's bucket marker expires (the load was suspended): its commit is refused.
        let gone = layout.loadRunKey(token: keeper.token, documentKey: files[0].documentKey)
        #expect(gone.hasPrefix("\(layout.prefix):loadrun:{s") && buckets.contains(gone))
        try client.call(RedisCommand("DEL", gone), routedBy: gone)
        #expect(throws: LoadLeaseError.suspended(seconds: 3)) {
            _ = try keeper.commitAndRelease([(files[0].key, files[0].documentKey, #"{"name":"a.dcm"}"#)])
        }
        #expect(
            try client.call(RedisCommand("EXISTS", files[0].documentKey), routedBy: files[0].documentKey).integer == 0)
        let committed = try keeper.commitAndRelease([(files[1].key, files[1].documentKey, #"{"name":"b.dcm"}"#)])
        #expect(committed.map(\.integer) == [1])
    }
}

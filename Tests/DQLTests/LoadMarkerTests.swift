import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// A load statement holds a marker while it runs (`index` waits for loads that began before it).
/// A load stopped longer than its lease loses the marker, and then commits nothing more: its
/// documents would lack an attribute indexed meanwhile.
@Suite(.serialized) struct LoadMarkerTests {
    /// A load statement on a `{m}` store of the test server, holding its marker and the claim
    /// on file "a"; removed at deinit.
    final class MarkedLoad {
        let pool: RedisPool
        let client: RedisClient
        let layout = StorageTests.layout()
        let keeper: LeaseKeeper
        let marker: String
        let claim: (key: String, documentKey: String)

        init() throws {
            pool = RedisPool(try TestRedis.configuration())
            client = RedisClient(pool: pool)
            keeper = LeaseKeeper(client: client, seconds: 30)
            let marker = layout.loadRunKey(token: keeper.token)
            self.marker = marker
            keeper.runMarker = .init(key: { _ in marker }, token: keeper.token, placementKey: layout.placementKey)
            try keeper.hold(marker)
            claim = (layout.loadingKey(id: "a"), layout.documentKey(id: "a"))
            guard try keeper.claim([claim]) == [.claimed] else { throw TestSetupError("no claim on a") }
        }

        deinit {
            keeper.stop()
            try? pool.withConnection { StorageTests.dropAll(layout, $0) }
            pool.close()
        }

        /// Commits the claimed file "a" the way a batch does.
        func commitBatch() throws {
            _ = try keeper.commitAndRelease([(claim.key, claim.documentKey, #"{"name":"a.dcm"}"#)])
        }

        /// Claims file "b" and commits it the way a file loaded alone is.
        func commitAlone() throws {
            guard
                case .claimed(let lease) = try LoadLease.claim(
                    key: layout.loadingKey(id: "b"), documentKey: layout.documentKey(id: "b"), seconds: 30,
                    client: client)
            else { throw TestSetupError("no claim on b") }
            defer { lease.release() }
            let marker = marker
            _ = try lease.commit(
                documentKey: layout.documentKey(id: "b"), json: "{}",
                marker: .init(key: { _ in marker }, token: keeper.token, placementKey: layout.placementKey))
        }

        func exists(_ id: String) throws -> Bool {
            try pool.withConnection { try $0.call("EXISTS", layout.documentKey(id: id)).integer } == 1
        }
    }

    @Test func aLoadWhoseMarkerIsGoneCommitsNothingMore() throws {
        let load = try MarkedLoad()
        // Suspended past its lease: the marker expired.
        try load.pool.withConnection { _ = try $0.call("DEL", load.marker) }
        #expect(throws: LoadLeaseError.suspended(seconds: 30)) { try load.commitBatch() }
        #expect(try !load.exists("a"))
        // The single-file path checks the same marker.
        #expect(throws: LoadLeaseError.suspended(seconds: 30)) { try load.commitAlone() }
        #expect(try !load.exists("b"))
    }

    /// A load into a `{m}` store that began before a `migrate` writes no document after the
    /// record of placement says the move has begun (the move takes the documents it finds, so
    /// one written later would be left behind, out of every index).
    @Test func aLoadCommitsNothingOnceAMigrateHasBegun() throws {
        let load = try MarkedLoad()
        try load.pool.withConnection { _ = try $0.call("SET", load.layout.placementKey, "migrating") }
        let batch = #expect(throws: RedisError.self) { try load.commitBatch() }
        #expect(batch?.message.contains("a migrate began moving the store to the spread layout") == true)
        #expect(try !load.exists("a"))
        let alone = #expect(throws: RedisError.self) { try load.commitAlone() }
        #expect(alone?.message.contains("load the folder again once migrate is done") == true)
        #expect(try !load.exists("b"))
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
        keeper.runMarker = .init(
            key: { [token = keeper.token] in layout.loadRunKey(token: token, documentKey: $0) }, token: keeper.token,
            placementKey: nil)
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

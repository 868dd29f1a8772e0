import Foundation
import Synchronization
import TestSupport
import Testing

@testable import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ChunkTransferTests {
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// A temporary file, removed at deinit.
    final class TemporaryFile {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dql-chunks-\(UUID().uuidString)").path
        let descriptor: Int32
        init() { descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        deinit {
            close(descriptor)
            unlink(path)
        }
        func contents() throws -> [UInt8] { try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) }
    }

    @Test func roundTripsAnOddSizedPayloadOverSeveralConnections() throws {
        let namespace = TestNamespace("chunks")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(3 * 65536 + 12345, seed: 1)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 4)
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 65536, connections: 4, window: 3)
        #expect(transfer.chunkCount(totalSize: payload.count) == 4)
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        let uploaded = Mutex(0)
        try payload.withUnsafeBytes { bytes in
            try transfer.upload(
                bytes, key: key, client: client, progress: { bytes in uploaded.withLock { $0 += bytes } })
        }
        #expect(uploaded.withLock { $0 } == payload.count)
        let lengths = try pool.withConnection { connection in
            try (0..<4).map { try connection.call("STRLEN", key($0)).integer }
        }
        #expect(lengths == [65536, 65536, 65536, 12345])

        let file = TemporaryFile()
        let downloaded = Mutex(0)
        try transfer.download(
            into: file.descriptor, totalSize: payload.count, key: key, client: client,
            progress: { bytes in downloaded.withLock { $0 += bytes } })
        #expect(try file.contents() == payload)
        #expect(downloaded.withLock { $0 } == payload.count)
    }

    @Test func aMissingChunkIsNamed() throws {
        let namespace = TestNamespace("missing")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(10 * 1000, seed: 2)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 2)
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 1000, connections: 2, window: 4)
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        try payload.withUnsafeBytes { try transfer.upload($0, key: key, client: client) }
        try pool.withConnection { try $0.call("DEL", key(7)) }
        let file = TemporaryFile()
        let error = #expect(throws: ChunkTransferError.self) {
            try transfer.download(into: file.descriptor, totalSize: payload.count, key: key, client: client)
        }
        #expect(error == .missing(index: 7, key: key(7)))
        // The pool still works after the failed transfer.
        #expect(try pool.withConnection { try $0.call("PING") } == .status("PONG"))
    }

    /// A delivery waiting for an earlier chunk (as the fetch's hasher does) must be released
    /// when the transfer fails, or the transfer would wait for it forever.
    @Test(.timeLimit(.minutes(1))) func aFailureReleasesDeliveriesWaitingForIt() throws {
        let namespace = TestNamespace("abandon")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(4 * 1000, seed: 5)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 2)
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        try payload.withUnsafeBytes { try ChunkTransfer(chunkSize: 1000).upload($0, key: key, client: client) }
        let someoneWaits = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        let waitedAndReleased = Mutex(false)
        let transfer = ChunkTransfer(chunkSize: 1000, connections: 2, window: 1)
        let error = #expect(throws: ChunkTransferError.self) {
            try transfer.download(
                totalSize: payload.count, key: key, client: client, abandon: { released.signal() }
            ) { index, _ in
                if index == 0 {
                    // Fails once the other connection's delivery is waiting for this chunk.
                    _ = someoneWaits.wait(timeout: .now() + 20)
                    throw ChunkTransferError.write(offset: 0, message: "disk full")
                }
                someoneWaits.signal()
                if released.wait(timeout: .now() + 20) == .success {
                    waitedAndReleased.withLock { $0 = true }
                    released.signal()
                }
            }
        }
        #expect(error == .write(offset: 0, message: "disk full"))
        #expect(waitedAndReleased.withLock { $0 }, "the waiting delivery was released by the failure")
    }

    @Test func aChunkOfTheWrongLengthIsNamed() throws {
        let namespace = TestNamespace("length")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(5000, seed: 3)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 1)
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 1000, connections: 1, window: 2)
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        try payload.withUnsafeBytes { try transfer.upload($0, key: key, client: client) }
        try pool.withConnection { try $0.call("SET", key(2), "short") }
        let file = TemporaryFile()
        let error = #expect(throws: ChunkTransferError.self) {
            try transfer.download(into: file.descriptor, totalSize: payload.count, key: key, client: client)
        }
        #expect(error == .wrongLength(index: 2, key: key(2), found: 5, expected: 1000))
    }

    @Test func cancellationStopsTheTransfer() throws {
        let namespace = TestNamespace("cancel")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(64 * 100, seed: 4)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 2)
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 64, connections: 2, window: 2)
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        let calls = Atomic<Int>(0)
        let error = #expect(throws: ChunkTransferError.self) {
            try payload.withUnsafeBytes { bytes in
                try transfer.upload(
                    bytes, key: key, client: client,
                    isCancelled: { calls.wrappingAdd(1, ordering: .relaxed).newValue > 10 }
                )
            }
        }
        #expect(error == .cancelled)
        let stored = try pool.withConnection { try $0.call("EXISTS", key(99)).integer }
        #expect(stored == 0)
    }

    @Test func emptyPayloadHasNoChunks() throws {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 1)
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 1024)
        #expect(transfer.chunkCount(totalSize: 0) == 0)
        try [UInt8]().withUnsafeBytes { try transfer.upload($0, key: { "never:\($0)" }, client: client) }
        let file = TemporaryFile()
        try transfer.download(into: file.descriptor, totalSize: 0, key: { "never:\($0)" }, client: client)
        #expect(try file.contents().isEmpty)
    }
}

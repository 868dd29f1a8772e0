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
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 65536, connections: 4, window: 3)
        #expect(transfer.chunkCount(totalSize: payload.count) == 4)
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        let uploaded = Mutex(0)
        try payload.withUnsafeBytes { bytes in
            try transfer.upload(
                bytes, key: key, pool: pool, progress: { bytes in uploaded.withLock { $0 += bytes } })
        }
        #expect(uploaded.withLock { $0 } == payload.count)
        let lengths = try pool.withConnection { connection in
            try (0..<4).map { try connection.call("STRLEN", key($0)).integer }
        }
        #expect(lengths == [65536, 65536, 65536, 12345])

        let file = TemporaryFile()
        let downloaded = Mutex(0)
        try transfer.download(
            into: file.descriptor, totalSize: payload.count, key: key, pool: pool,
            progress: { bytes in downloaded.withLock { $0 += bytes } })
        #expect(try file.contents() == payload)
        #expect(downloaded.withLock { $0 } == payload.count)
    }

    @Test func aMissingChunkIsNamed() throws {
        let namespace = TestNamespace("missing")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(10 * 1000, seed: 2)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 2)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 1000, connections: 2, window: 4)
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        try payload.withUnsafeBytes { try transfer.upload($0, key: key, pool: pool) }
        try pool.withConnection { try $0.call("DEL", key(7)) }
        let file = TemporaryFile()
        let error = #expect(throws: ChunkTransferError.self) {
            try transfer.download(into: file.descriptor, totalSize: payload.count, key: key, pool: pool)
        }
        #expect(error == .missing(index: 7, key: key(7)))
        // The pool still works after the failed transfer.
        #expect(try pool.withConnection { try $0.call("PING") } == .status("PONG"))
    }

    @Test func aChunkOfTheWrongLengthIsNamed() throws {
        let namespace = TestNamespace("length")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(5000, seed: 3)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 1)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 1000, connections: 1, window: 2)
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        try payload.withUnsafeBytes { try transfer.upload($0, key: key, pool: pool) }
        try pool.withConnection { try $0.call("SET", key(2), "short") }
        let file = TemporaryFile()
        let error = #expect(throws: ChunkTransferError.self) {
            try transfer.download(into: file.descriptor, totalSize: payload.count, key: key, pool: pool)
        }
        #expect(error == .wrongLength(index: 2, key: key(2), found: 5, expected: 1000))
    }

    @Test func cancellationStopsTheTransfer() throws {
        let namespace = TestNamespace("cancel")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(64 * 100, seed: 4)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 2)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 64, connections: 2, window: 2)
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        let calls = Atomic<Int>(0)
        let error = #expect(throws: ChunkTransferError.self) {
            try payload.withUnsafeBytes { bytes in
                try transfer.upload(
                    bytes, key: key, pool: pool, isCancelled: { calls.wrappingAdd(1, ordering: .relaxed).newValue > 10 }
                )
            }
        }
        #expect(error == .cancelled)
        let stored = try pool.withConnection { try $0.call("EXISTS", key(99)).integer }
        #expect(stored == 0)
    }

    @Test func emptyPayloadHasNoChunks() throws {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 1)
        defer { pool.close() }
        let transfer = ChunkTransfer(chunkSize: 1024)
        #expect(transfer.chunkCount(totalSize: 0) == 0)
        try [UInt8]().withUnsafeBytes { try transfer.upload($0, key: { "never:\($0)" }, pool: pool) }
        let file = TemporaryFile()
        try transfer.download(into: file.descriptor, totalSize: 0, key: { "never:\($0)" }, pool: pool)
        #expect(try file.contents().isEmpty)
    }
}

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
        _ = try pool.withConnection { try $0.call("DEL", key(7)) }
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
        let error = #expect(throws: TestWriteError.self) {
            try transfer.download(
                totalSize: payload.count, key: key, client: client, abandon: { released.signal() }
            ) { index, _ in
                if index == 0 {
                    // Fails once the other connection's delivery is waiting for this chunk.
                    _ = someoneWaits.wait(timeout: .now() + 20)
                    throw TestWriteError(reason: "disk full")
                }
                someoneWaits.signal()
                if released.wait(timeout: .now() + 20) == .success {
                    waitedAndReleased.withLock { $0 = true }
                    released.signal()
                }
            }
        }
        #expect(error == TestWriteError(reason: "disk full"))
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
        _ = try pool.withConnection { try $0.call("SET", key(2), "short") }
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

    /// Lent chunks, consumed in index order on a thread of the test's own (as the fetch's hash
    /// does): the transfer finishes whatever order they arrive in, no connection ever has more
    /// than its buffers out, and every byte arrives.
    @Test(.timeLimit(.minutes(1))) func lentChunksBoundEachConnectionAndReachAnInOrderConsumer() throws {
        let namespace = TestNamespace("loans")
        defer { namespace.cleanup() }
        let chunkSize = 1000
        let payload = Self.randomBytes(60 * chunkSize + 7, seed: 6)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 3)
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        let transfer = ChunkTransfer(chunkSize: chunkSize, connections: 3, window: 4)
        try payload.withUnsafeBytes { try transfer.upload($0, key: key, client: client) }
        let count = transfer.chunkCount(totalSize: payload.count)

        struct Consumer {
            var parked: [Int: ChunkLoan] = [:]
            var next = 0
            var received: [UInt8] = []
            var outstanding = 0
            var mostOutstanding = 0
        }
        let consumer = Mutex(Consumer())
        let arrived = DispatchSemaphore(value: 0)
        let thread = Thread {
            while consumer.withLock({ $0.next < count }) {
                arrived.wait()
                while let loan = consumer.withLock({ $0.parked.removeValue(forKey: $0.next) }) {
                    usleep(200)  // slower than the network, so loans pile up
                    consumer.withLock {
                        $0.received += loan.bytes
                        $0.next += 1
                        $0.outstanding -= 1
                    }
                    loan.release()
                }
            }
        }
        thread.start()
        try transfer.download(totalSize: payload.count, key: key, client: client, buffersPerConnection: 2) { loan in
            consumer.withLock {
                $0.parked[loan.index] = loan
                $0.outstanding += 1
                $0.mostOutstanding = max($0.mostOutstanding, $0.outstanding)
            }
            arrived.signal()
        }
        let result = consumer.withLock { $0 }
        #expect(result.next == count)
        #expect(result.received == payload)
        #expect(result.mostOutstanding <= 3 * 2, "at most 2 buffers lent per connection")
        #expect(result.mostOutstanding > 1, "the consumer did hold several loans at once")
    }

    /// A transfer that fails while its consumer holds loans returns once the consumer, told
    /// by `abandon`, gives them back (the buffers are only freed then).
    @Test(.timeLimit(.minutes(1))) func aFailedTransferWaitsForItsLoansAndReturns() throws {
        let namespace = TestNamespace("loanfail")
        defer { namespace.cleanup() }
        let payload = Self.randomBytes(40 * 100, seed: 8)
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 2)
        let client = RedisClient(pool: pool)
        defer { pool.close() }
        let key: @Sendable (Int) -> String = { namespace.key("c:\($0)") }
        let transfer = ChunkTransfer(chunkSize: 100, connections: 2, window: 2)
        try payload.withUnsafeBytes { try transfer.upload($0, key: key, client: client) }
        _ = try pool.withConnection { try $0.call("DEL", key(9)) }
        let held = Mutex<[ChunkLoan]>([])
        let abandoned = Mutex(false)
        let error = #expect(throws: ChunkTransferError.self) {
            try transfer.download(
                totalSize: payload.count, key: key, client: client, buffersPerConnection: 3,
                abandon: {
                    abandoned.withLock { $0 = true }
                    held.withLock { loans in
                        loans.forEach { $0.release() }
                        loans = []
                    }
                }
            ) { loan in
                // An in-order consumer: chunks before 9 are used and given back at once; later
                // ones wait for 9, which never comes.
                let keep = loan.index > 9 && abandoned.withLock { !$0 }
                if keep { held.withLock { $0.append(loan) } } else { loan.release() }
            }
        }
        #expect(error == .missing(index: 9, key: key(9)))
        #expect(abandoned.withLock { $0 })
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

import Foundation
import Synchronization
import TestSupport
import Testing

@testable import RedisIO

@Suite struct PoolTests {
    /// `body` for each index on a dedicated thread, each with a connection from `pool`.
    func parallel<Result: Sendable>(
        _ pool: RedisPool, _ count: Int, _ body: @escaping @Sendable (Int, RedisConnection) throws -> Result
    ) throws -> [Result] {
        try DedicatedThreads.run(count: count) { index in try pool.withConnection { try body(index, $0) } }
    }

    @Test func parallelWorkersShareABoundedPool() throws {
        let namespace = TestNamespace("pool")
        defer { namespace.cleanup() }
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 4)
        defer { pool.close() }
        let counter = namespace.key("counter")
        let clientIDs = try parallel(pool, 8) { worker, connection -> Int64 in
            let replies = try connection.pipeline((0..<1000).map { _ in RedisCommand("INCR", counter) })
            #expect(replies.allSatisfy { $0.integer != nil })
            return try connection.call("CLIENT", "ID").integer ?? -1
        }
        #expect(clientIDs.count == 8)
        #expect(Set(clientIDs).count <= 4)
        #expect(pool.openConnections <= 4)
        #expect(try pool.withConnection { try $0.call("GET", counter).integer } == 8000)
    }

    @Test func workersRunConcurrentlyOnDedicatedThreads() throws {
        // A ring: worker i feeds worker i+1, then blocks until worker i-1 has fed it. Run one
        // after another, worker 0 would wait for worker 3 forever (well, 20 s) and get nil; only
        // truly concurrent workers all receive their element.
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 4)
        defer { pool.close() }
        let namespace = TestNamespace("ring")
        defer { namespace.cleanup() }
        let received = try parallel(pool, 4) { worker, connection -> String? in
            try connection.call("RPUSH", namespace.key("slot-\((worker + 1) % 4)"), "from-\(worker)")
            let reply = try connection.call("BLPOP", namespace.key("slot-\(worker)"), "20")
            return reply.array?.last?.string
        }
        #expect(received == ["from-3", "from-0", "from-1", "from-2"])
    }

    @Test func asyncCallersRunOnDedicatedThreads() async throws {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 2)
        defer { pool.close() }
        let reply = try await DedicatedThreads.detach { try pool.withConnection { try $0.call("ECHO", "hello") } }
        #expect(reply == .bulk(Array("hello".utf8)))
    }

    /// A server that closes idle connections (as a restart does) must not fail the next
    /// command: the pool replaces the dead connection before lending it.
    @Test func anIdleConnectionTheServerClosedIsReplacedBeforeItIsLent() throws {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 1)
        defer { pool.close() }
        let first = try pool.withConnection { try $0.call("CLIENT", "ID").integer ?? -1 }
        let admin = try TestRedis.connection()
        try admin.call("CLIENT", "KILL", "ID", String(first))
        usleep(50_000)
        let second = try pool.withConnection { try $0.call("CLIENT", "ID").integer ?? -1 }
        #expect(second != first && second > 0)
    }
    @Test func errorsFromWorkersPropagate() throws {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 2)
        defer { pool.close() }
        let error = #expect(throws: RedisError.self) {
            try parallel(pool, 3) { worker, connection in
                try connection.call(worker == 1 ? "NOSUCHCOMMAND" : "PING")
            }
        }
        #expect(error?.kind == .server)
        // The pool keeps working after a failed batch.
        #expect(try pool.withConnection { try $0.call("PING") } == .status("PONG"))
    }
}

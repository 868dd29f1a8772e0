import Foundation
import TestSupport
import Testing

@testable import RedisIO

/// Servers dying under a client: each test runs its own scratch server so the shared one is
/// never disturbed.
@Suite(.serialized) struct FailureTests {
    @Test func serverKilledMidPipelineGivesAClearErrorAndReconnectWorksAfterRestart() throws {
        let server = try ScratchServer()
        let connection = try RedisConnection(RedisConfiguration(url: server.url, commandTimeout: 30))
        try connection.append(RedisCommand("SET", "k", "v"))
        // The server holds this reply back until the list gets an element or 20 s pass.
        try connection.append(RedisCommand("BLPOP", "never-filled", "20"))
        try connection.append(RedisCommand("GET", "k"))
        #expect(try connection.readReply() == .status("OK"))
        #expect(connection.pendingReplies == 2)

        let killed = DispatchSemaphore(value: 0)
        let killer = Thread {
            usleep(200_000)
            try? server.kill()
            killed.signal()
        }
        killer.start()
        let error = #expect(throws: RedisError.self) { try connection.readReply() }
        killed.wait()
        #expect(error?.kind == .io)
        #expect(error?.endpoint == "127.0.0.1:\(server.port)")
        #expect(error?.message.contains("server closed the connection") == true, "\(String(describing: error))")
        #expect(!connection.isHealthy)

        // While the server is down, a call fails with a connect error rather than hanging.
        let downError = #expect(throws: RedisError.self) { try connection.call("PING") }
        #expect(downError?.kind == .connect)

        try server.start()
        #expect(try connection.call("PING") == .status("PONG"))
        #expect(connection.isHealthy)
        #expect(connection.pendingReplies == 0)
    }

    @Test func serverStoppedBetweenCommandsIsNoticedAndRecovered() throws {
        let server = try ScratchServer()
        let connection = try RedisConnection(url: server.url)
        try connection.call("SET", "k", "before")
        try server.kill()
        #expect(throws: RedisError.self) { try connection.call("GET", "k") }
        try server.start()
        // No persistence: the restarted server is empty, and the connection works again.
        #expect(try connection.call("GET", "k") == .null)
    }

    @Test func poolDiscardsBrokenConnections() throws {
        let server = try ScratchServer()
        let pool = RedisPool(RedisConfiguration(url: server.url), maximumConnections: 2)
        let firstID = try pool.withConnection { try $0.call("CLIENT", "ID").integer }
        try server.kill()
        #expect(throws: RedisError.self) { try pool.withConnection { try $0.call("PING") } }
        #expect(pool.openConnections == 0)
        try server.start()
        let secondID = try pool.withConnection { try $0.call("CLIENT", "ID").integer }
        #expect(secondID != nil)
        #expect(firstID != nil)
        #expect(pool.openConnections == 1)
    }
}

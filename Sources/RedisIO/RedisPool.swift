import Foundation

/// A bounded set of connections to one server, shared between threads.
///
/// Connections are opened lazily up to ``maximumConnections``; a caller that finds none free
/// waits. A connection that saw an I/O error or was returned with replies unread is closed
/// instead of being reused, so a failure never leaks into the next borrower; an idle one the
/// server has closed meanwhile (it restarted, or dropped idle clients) is replaced before it
/// is lent, so a long-lived client survives a server restart without failing a command.
public final class RedisPool: @unchecked Sendable {
    public let configuration: RedisConfiguration
    public let maximumConnections: Int

    private let condition = NSCondition()
    private var idle: [RedisConnection] = []
    private var openCount = 0
    private var isClosed = false

    public init(_ configuration: RedisConfiguration, maximumConnections: Int = 8) {
        precondition(maximumConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.maximumConnections = maximumConnections
    }

    /// Connections currently open (idle or borrowed).
    public var openConnections: Int {
        condition.withLock { openCount }
    }

    /// Borrows a connection for the duration of `body`, blocking until one is free.
    public func withConnection<Result>(_ body: (RedisConnection) throws -> Result) throws -> Result {
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    /// Closes idle connections; borrowed ones close when they come back.
    public func close() {
        let toClose: [RedisConnection] = condition.withLock {
            isClosed = true
            let connections = idle
            openCount -= idle.count
            idle.removeAll()
            condition.broadcast()
            return connections
        }
        toClose.forEach { $0.close() }
    }

    private func checkOut() throws -> RedisConnection {
        condition.lock()
        while true {
            if isClosed {
                condition.unlock()
                throw RedisError(.io, endpoint: configuration.url.endpoint, "connection pool is closed")
            }
            if let connection = idle.popLast() {
                if connection.isClosedByServer {
                    openCount -= 1
                    connection.close()
                    continue
                }
                condition.unlock()
                return connection
            }
            if openCount < maximumConnections {
                openCount += 1
                condition.unlock()
                do {
                    return try RedisConnection(configuration)
                } catch {
                    condition.withLock {
                        openCount -= 1
                        condition.signal()
                    }
                    throw error
                }
            }
            condition.wait()
        }
    }

    private func checkIn(_ connection: RedisConnection) {
        let reusable = connection.isHealthy && connection.pendingReplies == 0
        let keep: Bool = condition.withLock {
            defer { condition.signal() }
            if reusable && !isClosed {
                idle.append(connection)
                return true
            }
            openCount -= 1
            return false
        }
        if !keep { connection.close() }
    }
}

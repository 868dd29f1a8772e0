import Foundation
import TestSupport
import Testing

@testable import RedisIO

/// Tests against the real Redis 8.2 that `scripts/test.sh` starts.
@Suite struct ConnectionTests {
    @Test func serverHasSearchAndJSONModules() throws {
        let connection = try TestRedis.connection()
        #expect(try connection.call("PING") == .status("PONG"))
        let names = try (connection.call("MODULE", "LIST").array ?? []).compactMap { module -> String? in
            let fields = module.array ?? []
            guard let index = fields.firstIndex(of: .bulk(Array("name".utf8))), index + 1 < fields.count else {
                return nil
            }
            return fields[index + 1].string
        }
        #expect(names.contains("search"))
        #expect(names.contains("ReJSON"))
        // The modules answer, not just appear in the list.
        #expect(try connection.send(["FT._LIST"]).array != nil)
    }

    @Test func binaryValuesWithNulBytesRoundTrip() throws {
        let namespace = TestNamespace("binary")
        defer { namespace.cleanup() }
        let connection = try TestRedis.connection()
        let value: [UInt8] = [0, 1, 0, 0xFF, 0x0D, 0x0A, 0, 0x80] + Array("tail".utf8) + [0]
        let key = Array(namespace.key("nul\u{0}key").utf8)
        try connection.call(RedisCommand(arguments: [Array("SET".utf8), key, value]))
        #expect(try connection.call(RedisCommand(arguments: [Array("GET".utf8), key])) == .bulk(value))
        #expect(
            try connection.call(RedisCommand(arguments: [Array("STRLEN".utf8), key])) == .integer(Int64(value.count)))
        try connection.call(RedisCommand(arguments: [Array("SET".utf8), key, []]))
        #expect(try connection.call(RedisCommand(arguments: [Array("GET".utf8), key])) == .bulk([]))
        #expect(try connection.call("GET", namespace.key("absent")) == .null)
    }

    @Test func largeValueRoundTripsInPlaceAndCopied() throws {
        let namespace = TestNamespace("large")
        defer { namespace.cleanup() }
        let connection = try TestRedis.connection()
        var generator = SystemRandomNumberGenerator()
        let value = (0..<(512 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = namespace.key("512k")
        let set = Array("SET".utf8)
        let name = Array(key.utf8)
        try value.withUnsafeBytes { payload in
            try set.withUnsafeBytes { command in
                try name.withUnsafeBytes { try connection.append(arguments: [command, $0, payload]) }
            }
        }
        #expect(try connection.readReply() == .status("OK"))
        #expect(try connection.call("GET", key) == .bulk(value))
        try connection.append(RedisCommand("GET", key))
        let matches = try connection.withNextReply { reply in
            reply.kind == .bulk && reply.bytes.elementsEqual(value)
        }
        #expect(matches)
    }

    @Test func pipelinesTenThousandCommands() throws {
        let namespace = TestNamespace("pipeline")
        defer { namespace.cleanup() }
        let connection = try TestRedis.connection()
        let counter = namespace.key("counter")
        let commands = (0..<10_000).map { _ in RedisCommand("INCR", counter) }
        let replies = try connection.pipeline(commands)
        #expect(replies.count == 10_000)
        #expect(replies == (1...10_000).map { .integer(Int64($0)) })
        #expect(connection.pendingReplies == 0)
        #expect(try connection.call("GET", counter).integer == 10_000)
    }

    @Test func serverErrorRepliesAreValuesAndThrowWhenChecked() throws {
        let namespace = TestNamespace("errors")
        defer { namespace.cleanup() }
        let connection = try TestRedis.connection()
        let key = namespace.key("text")
        try connection.call("SET", key, "not a number")
        let replies = try connection.pipeline([
            RedisCommand("INCR", key), RedisCommand("LPUSH", key, "x"), RedisCommand("NOSUCHCOMMAND"),
            RedisCommand("GET", key),
        ])
        #expect(replies[0].errorMessage?.hasPrefix("ERR value is not an integer") == true)
        #expect(replies[1].errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(replies[2].errorMessage?.contains("unknown command") == true)
        #expect(replies[3] == .bulk(Array("not a number".utf8)))
        let error = #expect(throws: RedisError.self) { try connection.call("INCR", key) }
        #expect(error?.kind == .server)
        #expect(error?.serverErrorCode == "ERR")
        #expect(error?.endpoint == connection.endpoint)
        #expect(connection.isHealthy)
        #expect(try connection.call("PING") == .status("PONG"))
    }

    @Test func selectsTheDatabaseFromTheURL() throws {
        var url = try TestRedis.url()
        url.database = 3
        let connection = try RedisConnection(url: url)
        let info = try connection.call("CLIENT", "INFO").string ?? ""
        #expect(info.contains(" db=3 "), "\(info)")
    }

    @Test func authenticatesACLUsers() throws {
        let namespace = TestNamespace("acl")
        let admin = try TestRedis.connection()
        let user = "dqltest-\(UUID().uuidString.prefix(8))"
        let password = "pa ss@wörd:\(UUID().uuidString.prefix(4))"
        try admin.call(
            RedisCommand(["ACL", "SETUSER", user, "on", ">" + password, "~" + namespace.prefix + "*", "+@all"]))
        defer {
            _ = try? admin.call("ACL", "DELUSER", user)
            namespace.cleanup()
        }
        var url = try TestRedis.url()
        url.username = user
        url.password = password
        let connection = try RedisConnection(url: url)
        #expect(try connection.call("ACL", "WHOAMI").string == user)
        // The ACL applies: keys outside the namespace are refused.
        #expect(try connection.send(["GET", "elsewhere"]).errorMessage?.hasPrefix("NOPERM") == true)

        url.password = "wrong-password"
        let error = #expect(throws: RedisError.self) { try RedisConnection(url: url) }
        #expect(error?.kind == .authentication)
        #expect(error?.message.contains(user) == true)
        #expect(error.map { !"\($0)".contains("wrong-password") } == true)
        // Parsed from a URL, with percent-encoding.
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let parsed = try RedisURL(parsing: "redis://\(user):\(encoded)@\(url.endpoint)")
        #expect(try RedisConnection(url: parsed).call("ACL", "WHOAMI").string == user)
    }

    @Test func connectingToAClosedPortFailsClearlyAndQuickly() throws {
        let port = try freePort()
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: RedisError.self) {
            try RedisConnection(RedisConfiguration(url: RedisURL(host: "127.0.0.1", port: port), connectTimeout: 2))
        }
        #expect(clock.now - start < .seconds(2))
        #expect(error?.kind == .connect)
        #expect(error?.endpoint == "127.0.0.1:\(port)")
        #expect(error.map { "\($0)" } == "redis 127.0.0.1:\(port): cannot connect: Connection refused")
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        let listener = try LoopbackSocket(listening: true)
        let configuration = RedisConfiguration(
            url: RedisURL(host: "127.0.0.1", port: listener.port), connectTimeout: 2, commandTimeout: 0.3)
        let connection = try RedisConnection(configuration)
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: RedisError.self) { try connection.call("PING") }
        #expect(clock.now - start < .seconds(3))
        #expect(error?.kind == .timeout)
        #expect(error?.message.contains("no reply within 0.3 s") == true, "\(String(describing: error))")
        #expect(!connection.isHealthy)
    }

    @Test func unknownHostFailsClearly() {
        let error = #expect(throws: RedisError.self) {
            try RedisConnection(
                RedisConfiguration(url: RedisURL(host: "no-such-host.invalid", port: 6379), connectTimeout: 1))
        }
        #expect(error?.kind == .connect)
        #expect(error?.endpoint == "no-such-host.invalid:6379")
    }

    /// A transport closed early and then released must not close its descriptor again: by
    /// then the number may belong to another connection, which would lose its socket.
    @Test func aClosedTransportNeverClosesADescriptorAgain() throws {
        let url = try TestRedis.url()
        var first: Transport? = try Transport.connect(
            host: url.host, port: url.port, connectTimeout: 5, commandTimeout: 10, tls: nil)
        first?.close()
        let second = try TestRedis.connection()  // most likely given the same descriptor number
        first = nil
        #expect(try second.call("PING") == .status("PONG"))
        #expect(first == nil)
    }
}

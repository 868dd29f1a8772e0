import Testing

@testable import RedisIO

@Suite struct RedisURLTests {
    @Test(arguments: [
        ("redis://localhost", RedisURL(host: "localhost")),
        ("redis://127.0.0.1:6380", RedisURL(host: "127.0.0.1", port: 6380)),
        ("redis://h:1/3", RedisURL(host: "h", port: 1, database: 3)),
        ("REDIS://h", RedisURL(host: "h")),
        ("redis://", RedisURL()),
        ("redis:///2", RedisURL(database: 2)),
        ("redis://:secret@h", RedisURL(host: "h", password: "secret")),
        ("redis://secret@h", RedisURL(host: "h", password: "secret")),
        (
            "redis://alice:s3cret@h:7000/15",
            RedisURL(host: "h", port: 7000, username: "alice", password: "s3cret", database: 15)
        ),
        ("redis://alice:p@ss:w0rd@h", RedisURL(host: "h", username: "alice", password: "p@ss:w0rd")),
        ("redis://al%69ce:p%40%2F%3A@h", RedisURL(host: "h", username: "alice", password: "p@/:")),
        ("redis://[::1]:6390", RedisURL(host: "::1", port: 6390)),
        ("redis://[::1]", RedisURL(host: "::1")),
        ("redis://h/", RedisURL(host: "h")),
    ])
    func parsesValidURLs(text: String, expected: RedisURL) throws {
        #expect(try RedisURL(parsing: text) == expected)
    }

    @Test(arguments: [
        ("localhost:6379", "expected redis://", 0),
        ("http://h", "unknown scheme 'http'", 0),
        ("redis:/h", "expected redis://", 0),
        ("redis://h:abc", "port 'abc' is not a number from 1 to 65535", 10),
        ("redis://h:0", "port '0'", 10),
        ("redis://h:65536", "port '65536'", 10),
        ("redis://h:", "port ''", 10),
        ("redis://h:-1", "port '-1'", 10),
        ("redis://h/x", "database 'x' is not a non-negative number", 10),
        ("redis://h/1/2", "database '1/2'", 10),
        ("redis://h/-1", "database '-1'", 10),
        ("redis://[::1", "unterminated IPv6 address", 8),
        ("redis://[::1]x", "unexpected 'x' after IPv6 address", 13),
        ("redis://[]", "empty IPv6 address", 8),
        ("redis://u:p%zz@h", "bad percent-encoding in password", 10),
        ("redis://u%4:p@h", "bad percent-encoding in user name", 8),
        ("redis://ho st", "invalid character ' ' in host", 10),
    ])
    func rejectsMalformedURLs(text: String, reason: String, offset: Int) {
        let error = #expect(throws: RedisError.self) { try RedisURL(parsing: text) }
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("(at offset \(offset))") == true, "\(error?.message ?? "")")
    }

    @Test func redissMeansTLS() throws {
        let url = try RedisURL(parsing: "rediss://alice:secret@h:6380/0")
        #expect(url.usesTLS && url.host == "h" && url.port == 6380 && url.username == "alice")
        #expect(url.description == "rediss://alice:***@h:6380")
        #expect(try !RedisURL(parsing: "redis://h").usesTLS)
        // A bare name is the password, as redis-cli reads it, unless the password comes from
        // elsewhere (--password): then it is the user.
        #expect(try RedisURL(parsing: "redis://bob@h").password == "bob")
        let named = try RedisURL(parsing: "redis://bob@h", bareUserInfo: .username)
        #expect(named.username == "bob" && named.password == nil)
        let slashes = try RedisURL(parsing: "rediss://u:Zm9v/YmFy+S=@localhost:6510/0")
        #expect(slashes.password == "Zm9v/YmFy+S=" && slashes.host == "localhost" && slashes.port == 6510)
        let bad = #expect(throws: RedisError.self) { try RedisURL(parsing: "redis://u:Zm9v/YmFy@localhost:x") }
        #expect(bad?.message.contains("Zm9v") == false, "\(bad?.message ?? "")")
        #expect(try RedisURL(parsing: "REDISS://h").usesTLS)
        let error = #expect(throws: RedisError.self) { try RedisURL(parsing: "http://h:6380") }
        #expect(
            error?.message
                == "invalid Redis URL 'http://h:6380': unknown scheme 'http', expected redis:// or rediss:// (TLS) (at offset 0)"
        )
    }

    @Test func neverShowsThePassword() throws {
        let url = try RedisURL(parsing: "redis://alice:hunter2@h:7000/1")
        #expect(url.description == "redis://alice:***@h:7000/1")
        #expect(!"\(url)".contains("hunter2"))
        for bad in ["redis://alice:hunter2@h:x", "redis://hunter2@h/x", "redis://alice:hunter2@[::1"] {
            let error = #expect(throws: RedisError.self) { try RedisURL(parsing: bad) }
            #expect(error.map { !"\($0)".contains("hunter2") } == true, "\(String(describing: error))")
            #expect(error.map { "\($0)".contains("***") } == true)
        }
    }

    @Test func resolvesExplicitThenEnvironmentThenDefault() throws {
        #expect(try RedisURL.resolve(explicit: "redis://a:1", environment: ["REDIS_URL": "redis://b:2"]).host == "a")
        #expect(try RedisURL.resolve(explicit: nil, environment: ["REDIS_URL": "redis://b:2"]).host == "b")
        #expect(try RedisURL.resolve(explicit: nil, environment: [:]) == RedisURL.defaultURL)
        #expect(try RedisURL.resolve(explicit: nil, environment: ["REDIS_URL": ""]) == RedisURL.defaultURL)
        let error = #expect(throws: RedisError.self) {
            try RedisURL.resolve(explicit: nil, environment: ["REDIS_URL": "nonsense"])
        }
        #expect(error?.message.hasPrefix("REDIS_URL: ") == true)
    }

    @Test func formatsIPv6Endpoints() {
        #expect(RedisURL(host: "::1", port: 7).endpoint == "[::1]:7")
        #expect(RedisURL(host: "::1", port: 7).description == "redis://[::1]:7")
    }

    @Test func passwordsInALineAreMasked() {
        #expect(RedisURL.maskingPasswords(in: "\\connect redis://:hunter2@host:1") == "\\connect redis://:***@host:1")
        #expect(RedisURL.maskingPasswords(in: "\\c 'redis://u:p@w@h/2' x") == "\\c 'redis://u:***@h/2' x")
        #expect(RedisURL.maskingPasswords(in: "\\connect redis://host:1") == "\\connect redis://host:1")
    }
}

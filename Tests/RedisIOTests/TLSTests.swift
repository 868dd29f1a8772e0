import Foundation
import TestSupport
import Testing

@testable import RedisIO

/// TLS for real: stunnel with a test CA in front of the test server, and Debian's own
/// TLS-capable redis-server 7.0 as a second implementation. Every check a certificate can
/// fail is met once, with its message.
@Suite struct TLSTests {
    /// Commands, a long pipeline, a 512 KiB binary value each way and the chunk engine's raw
    /// channel, all over TLS, against both TLS implementations.
    @Test(arguments: [TestTLS.Endpoint.main, .debian])
    func commandsPipelinesAndRawChunksTravelEncrypted(endpoint: TestTLS.Endpoint) throws {
        let connection = try RedisConnection(TestTLS.configuration(endpoint))
        #expect(connection.usesTLS)
        let key = "tls-test:\(UUID().uuidString)"
        defer { _ = try? connection.call("DEL", key, key + ":raw", key + ":n") }
        var generator = SplitMix64(seed: 14)
        let value = (0..<(512 << 10)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try connection.call(RedisCommand(arguments: [Array("SET".utf8), Array(key.utf8), value]))
        #expect(try connection.call("GET", key) == .bulk(value))

        let replies = try connection.pipeline((0..<10_000).map { _ in RedisCommand("INCR", key + ":n") })
        #expect(replies.last == .integer(10_000))

        let back = UnsafeMutableRawBufferPointer.allocate(byteCount: value.count, alignment: 16)
        defer { back.deallocate() }
        let bulk = try value.withUnsafeBytes { bytes in
            try connection.withRawChannel { channel -> RawChannel.Bulk in
                try channel.send(["SET", key + ":raw"], body: bytes)
                try channel.send(["GET", key + ":raw"])
                #expect(try channel.readStatus() == nil)
                return try channel.readBulk(into: back)
            }
        }
        #expect(bulk == .value)
        #expect(back.elementsEqual(value))
        #expect(try connection.call("PING") == .status("PONG"), "the connection is whole after the raw exchange")
    }

    /// An idle pooled TLS connection is lent again, not mistaken for one the server closed:
    /// the idle check looks through TLS records without taking any bytes.
    @Test func anIdleTLSConnectionIsReused() throws {
        let pool = RedisPool(try TestTLS.configuration(.main), maximumConnections: 1)
        defer { pool.close() }
        let first = try pool.withConnection { try $0.call("CLIENT", "ID") }
        Thread.sleep(forTimeInterval: 0.2)
        let second = try pool.withConnection { try $0.call("CLIENT", "ID") }
        #expect(first == second)
    }

    /// Each way a server's certificate can fail, refused at connect with the check named.
    @Test func everyCertificateCheckRefusesWithItsReason() throws {
        func refusal(_ endpoint: TestTLS.Endpoint, _ options: TLSOptions? = nil) throws -> RedisError? {
            let configuration = try TestTLS.configuration(endpoint, options: options)
            return #expect(throws: RedisError.self) { try RedisConnection(configuration) }
        }
        let url = try TestTLS.url(.main)
        let ca = try TestTLS.file("ca.pem")

        let expired = try refusal(.expired)
        #expect(expired?.kind == .tls)
        #expect(expired?.message == "TLS: the server's certificate has expired")

        let otherCA = try refusal(.otherCA)
        #expect(
            otherCA?.message
                == "TLS: the server's certificate is not signed by the CAs in \(ca) (unable to get local issuer certificate); --tls-ca names the CA to trust"
        )

        var wrongName = try TestTLS.options()
        wrongName.serverName = "db.example.org"
        let mismatch = try refusal(.main, wrongName)
        #expect(
            mismatch?.message
                == "TLS: the server's certificate is not for 'db.example.org' (hostname mismatch); --tls-server-name sets the name to expect"
        )
        #expect(mismatch?.endpoint == url.endpoint)

        let systemTrust = try refusal(.main, TLSOptions())
        #expect(systemTrust?.message.contains("is not signed by the system's trusted CAs") == true)

        // Without a client certificate the server ends the handshake; TLS 1.3 reports that
        // with the first reply, so the connection's first command meets it.
        let anonymous = try RedisConnection(TestTLS.configuration(.clientCertificate))
        let noCertificate = #expect(throws: RedisError.self) { try anonymous.call("PING") }
        #expect(noCertificate?.kind == .tls)
        // The refusal arrives as TLS 1.3's alert or, when the server closes first, as a close.
        #expect(
            noCertificate?.message.contains("client certificate (give --tls-cert and --tls-key)") == true
                || noCertificate?.message.contains("if it requires a client certificate, give --tls-cert and --tls-key")
                    == true,
            "\(noCertificate?.message ?? "")")
        let identified = try RedisConnection(
            TestTLS.configuration(.clientCertificate, options: TestTLS.options(asClient: true)))
        #expect(try identified.call("PING") == .status("PONG"))

        var unchecked = TLSOptions(verifiesServer: false)
        unchecked.serverName = "anything.example"
        #expect(
            try RedisConnection(TestTLS.configuration(.otherCA, options: unchecked)).call("PING") == .status("PONG"))
    }

    @Test func aPlainPortAndUnreadableFilesAreNamed() throws {
        var plain = RedisConfiguration(
            url: try TestRedis.url(), connectTimeout: 1, commandTimeout: 5, tls: try TestTLS.options())
        plain.url.usesTLS = true
        let silent = #expect(throws: RedisError.self) { try RedisConnection(plain) }
        #expect(silent?.kind == .tls)
        #expect(
            silent?.message
                == "TLS: no answer to the TLS handshake within 1 s; the port may not speak TLS (redis:// connects without it)"
        )

        let missing = TLSOptions(caFile: "/nonexistent/ca.pem")
        let unreadable = #expect(throws: RedisError.self) {
            try RedisConnection(TestTLS.configuration(.main, options: missing))
        }
        #expect(unreadable?.kind == .tlsSettings)
        #expect(unreadable?.message.hasPrefix("TLS: cannot use the CAs in /nonexistent/ca.pem: ") == true)

        var mismatched = try TestTLS.options(asClient: true)
        mismatched.keyFile = try TestTLS.file("server.key")
        let wrongKey = #expect(throws: RedisError.self) {
            try RedisConnection(TestTLS.configuration(.main, options: mismatched))
        }
        #expect(wrongKey?.kind == .tlsSettings)
        #expect(
            wrongKey?.message
                == "TLS: the client key \(try TestTLS.file("server.key")) does not belong to the certificate \(try TestTLS.file("client.pem"))"
        )

        // Files that are not what they claim, and an encrypted key (which must not prompt).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tls-files-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let garbage = scratch.appendingPathComponent("garbage.pem").path
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let notPEM = #expect(throws: RedisError.self) {
            try RedisConnection(TestTLS.configuration(.main, options: TLSOptions(caFile: garbage)))
        }
        #expect(notPEM?.kind == .tlsSettings)
        #expect(
            notPEM?.message.hasPrefix("TLS: cannot use the CAs in \(garbage): ") == true, "\(notPEM?.message ?? "")")
        let encrypted = scratch.appendingPathComponent("encrypted.key").path
        _ = try runProcess(
            "/usr/bin/openssl",
            ["pkey", "-in", try TestTLS.file("client.key"), "-aes256", "-passout", "pass:secret", "-out", encrypted])
        var locked = try TestTLS.options(asClient: true)
        locked.keyFile = encrypted
        let lockedKey = #expect(throws: RedisError.self) {
            try RedisConnection(TestTLS.configuration(.clientCertificate, options: locked))
        }
        #expect(
            lockedKey?.message.contains("the key is encrypted; dql needs it unencrypted") == true,
            "\(lockedKey?.message ?? "")")
    }
}

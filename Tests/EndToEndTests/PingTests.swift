import Foundation
import TestSupport
import Testing

/// `dql` as a user runs it: exit codes, stdout for data, stderr for diagnostics.
@Suite struct PingTests {
    @Test func printsItsVersion() throws {
        let result = try DQLBinary.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("dql 0."))
    }

    @Test func pingsTheTestServerAndListsItsModules() throws {
        let url = try TestRedis.url()
        let result = try DQLBinary.run(["ping", "--url", url.description])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("PONG from \(url)"))
        #expect(result.stdout.contains("Redis 8.2"))
        #expect(result.stdout.contains("search 2.10"))
        #expect(result.stdout.contains("ReJSON 2.8"))
        #expect(result.stderr.isEmpty)
    }

    @Test func takesTheServerFromREDIS_URL() throws {
        let url = try TestRedis.url()
        let result = try DQLBinary.run(["ping"], environment: ["REDIS_URL": url.description])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("PONG from \(url)"))
    }

    @Test func unreachableServerExitsWithTheConnectionCode() throws {
        let port = try freePort()
        let result = try DQLBinary.run(["ping", "--url", "redis://127.0.0.1:\(port)"])
        #expect(result.status == 69)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "dql: redis 127.0.0.1:\(port): cannot connect: Connection refused\n")
    }

    @Test func malformedURLExitsWithTheUsageCode() throws {
        let result = try DQLBinary.run(["ping", "--url", "redis://user:topsecret@host:port"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("port 'port' is not a number"))
        #expect(!result.stderr.contains("topsecret"))
    }

    @Test func wrongPasswordNeverAppearsInOutput() throws {
        let url = try TestRedis.url()
        let result = try DQLBinary.run(["ping", "--url", "redis://nobody:topsecret@\(url.endpoint)"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("authentication as user 'nobody' failed"))
        #expect(!(result.stderr + result.stdout).contains("topsecret"))
    }
}

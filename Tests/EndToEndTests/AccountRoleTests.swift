import Foundation
import RedisIO
import TestSupport
import Testing

/// Least privilege: accounts made from exactly what `dql acl reader|writer` prints (piped
/// into redis-cli), a reader that can run every reading statement and is refused every write
/// with nothing written, and a writer confined to its prefix.
@Suite struct AccountRoleTests {
    /// Creates the account from `dql acl ROLE` output; returns a URL that logs in as it.
    func makeAccount(_ role: String, prefix: String, fixture: ShellFixture) throws -> (url: String, user: String) {
        let user = "dql-\(role)-\(UUID().uuidString.prefix(8))"
        let password = "pw-\(UUID().uuidString)"
        let printed = try fixture.run(
            ["acl", role, "--prefix", prefix, "--user", user, "--password-stdin"], input: password + "\n")
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(!printed.stdout.contains(password), "only the password's hash is printed")
        let url = fixture.url
        let applied = try ProcessResult.run(
            "/usr/bin/redis-cli", ["-h", url.host, "-p", String(url.port)], input: printed.stdout)
        #expect(applied.stdout == "OK\n", "\(applied.stdout) \(applied.stderr)")
        return ("redis://\(user):\(password)@\(url.host):\(url.port)", user)
    }

    func dropAccount(_ user: String) {
        _ = try? TestRedis.connection().call("ACL", "DELUSER", user)
    }

    /// Keys under the prefix and their values' digests, for "nothing changed".
    func snapshot(_ prefix: String) throws -> [String: Int64] {
        let connection = try TestRedis.connection()
        var result: [String: Int64] = [:]
        for key in try TestRedis.scanKeys("\(prefix):*", connection) {
            result[key] = try connection.call("MEMORY", "USAGE", key).integer ?? -1
        }
        return result
    }

    @Test func aReaderReadsEverythingAndWritesNothing() throws {
        let fixture = try ShellFixture()
        let (url, user) = try makeAccount("reader", prefix: fixture.prefix, fixture: fixture)
        defer { dropAccount(user) }
        let out = fixture.directory.appendingPathComponent("out").path
        let reading = try fixture.run(
            [
                "--format", "csv", "-c", "count", "-c", "count by modality", "-c", "find name where modality = 'MR'",
                "-c", "show 'CT_small.dcm'", "-c", "fetch 'CT_small.dcm' to '\(out)'", "-c", "fields", "-c", "stats",
                "-c", "explain find where modality = 'MR'",
            ], environment: ["REDIS_URL": url])
        #expect(reading.status == 0, "\(reading.stderr)")
        #expect(!reading.stderr.contains("NOPERM"), "\(reading.stderr)")
        #expect(reading.stdout.hasPrefix("count\r\n\(ShellFixture.corpusNames.count)\r\n"))
        #expect(FileManager.default.fileExists(atPath: out + "/CT_small.dcm"))

        let before = try snapshot(fixture.prefix)
        let extra = try Corpus.path("pydicom/test_files/SC_rgb_small_odd.dcm")
        for statement in ["load '\(extra)'", "delete where modality = 'MR'", "vacuum"] {
            let writing = try fixture.run(["-y", "-c", statement], environment: ["REDIS_URL": url])
            #expect(writing.status == 1, "\(statement): \(writing.stderr)")
            #expect(
                writing.stderr.contains(
                    "error: the account '\(user)' may not change the store under prefix '\(fixture.prefix)' on \(fixture.url.endpoint) (NOPERM"
                ),
                "\(statement): \(writing.stderr)")
            #expect(writing.stderr.contains("; nothing was written"))
            #expect(
                writing.stderr.contains(
                    "help: load and delete need an account that may write under the prefix (index, unindex, vacuum and migrate an owner's): check --prefix, or `dql acl writer --prefix \(fixture.prefix)` prints the rules for one"
                ))
        }
        #expect(try snapshot(fixture.prefix) == before, "the store is unchanged")
    }

    /// An owner makes the index (a first load) and vacuums; a writer loads and deletes into
    /// that index, is sent to an owner for index creation and vacuum, and can reach nothing
    /// outside its prefix, not even through an index of its own naming another prefix.
    @Test func ownersMakeTheIndexWritersStayInTheirPrefix() throws {
        let fixture = try ShellFixture(load: false)
        let (ownerURL, owner) = try makeAccount("owner", prefix: fixture.prefix, fixture: fixture)
        defer { dropAccount(owner) }
        let (url, user) = try makeAccount("writer", prefix: fixture.prefix, fixture: fixture)
        defer { dropAccount(user) }
        let ct = try Corpus.path("pydicom/test_files/CT_small.dcm")
        let mr = try Corpus.path("pydicom/test_files/MR_small.dcm")
        let rt = try Corpus.path("pydicom/test_files/rtplan.dcm")

        let first = try fixture.run(["-c", "load '\(ct)'"], environment: ["REDIS_URL": url])
        #expect(first.status == 1)
        #expect(
            first.stderr.contains(
                "help: the index under this prefix is missing or from an older dql; creating it needs an owner account (`dql acl owner`)"
            ), "\(first.stderr)")
        #expect(try snapshot(fixture.prefix).isEmpty, "nothing written")

        let owned = try fixture.run(["-c", "load '\(ct)'"], environment: ["REDIS_URL": ownerURL])
        #expect(owned.status == 0, "\(owned.stderr)")
        let result = try fixture.run(
            [
                "-y", "--format", "csv", "-c", "load '\(mr)'", "-c", "load '\(rt)'", "-c", "count",
                "-c", "delete where name = 'MR_small.dcm'", "-c", "count",
            ], environment: ["REDIS_URL": url])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains("count\r\n3\r\n") && result.stdout.hasSuffix("count\r\n2\r\n"), "\(result.stdout)")
        let vacuum = try fixture.run(["-c", "vacuum"], environment: ["REDIS_URL": url])
        #expect(vacuum.status == 1)
        #expect(vacuum.stderr.contains("help: vacuum scans the whole keyspace, which needs an owner account"))
        // An owner's vacuum asks how long the claims it finds have left: a live claim's chunks
        // stay, an orphan's go.
        let admin = try TestRedis.connection()
        let orphan = "\(fixture.prefix):chunk:\(String(repeating: "e", count: 64)):0"
        let leased = String(repeating: "c", count: 64)
        try admin.call("SET", orphan, "x")
        try admin.call("SET", "\(fixture.prefix):chunk:\(leased):0", "x")
        try admin.call("SET", "\(fixture.prefix):{m}:loading:\(leased)", "token", "EX", "30")
        let vacuumed = try fixture.run(["--format", "csv", "-c", "vacuum"], environment: ["REDIS_URL": ownerURL])
        #expect(vacuumed.status == 0, "\(vacuumed.stderr)")
        #expect(try admin.call("EXISTS", orphan).integer == 0)
        #expect(try admin.call("EXISTS", "\(fixture.prefix):chunk:\(leased):0").integer == 1)
        // Indexing an attribute changes the index: the owner's. Writers load into it, and
        // queries on it work for them (from the index, or from the headers).
        let index = try fixture.run(["-c", "index SliceThickness"], environment: ["REDIS_URL": url])
        #expect(index.status == 1)
        #expect(
            index.stderr.contains("help: index, unindex and migrate change the index, which needs an owner account"))
        #expect(try fixture.run(["-c", "index SliceThickness"], environment: ["REDIS_URL": ownerURL]).status == 0)
        let indexed = try fixture.run(
            [
                "--format", "csv", "-c", "load '\(mr)'", "-c", "count where SliceThickness < 1", "-c",
                "count where KVP > 0",
            ],
            environment: ["REDIS_URL": url])
        #expect(indexed.status == 0, "\(indexed.stderr)")
        #expect(indexed.stdout.hasSuffix("count\r\n1\r\ncount\r\n1\r\n"), "\(indexed.stdout)")

        // The writer's own index over another prefix: refused (ACL cannot confine PREFIX).
        let password = String(url.split(separator: ":")[2].split(separator: "@")[0])
        let attack = try ProcessResult.run(
            "/usr/bin/redis-cli",
            [
                "-h", fixture.url.host, "-p", String(fixture.url.port), "--user", user, "--pass", password,
                "--no-auth-warning", "FT.CREATE", "\(fixture.prefix):{m}:evil", "ON", "JSON", "PREFIX", "1", "other:",
                "SCHEMA", "$.name", "AS", "name", "TEXT",
            ])
        #expect(attack.stdout.contains("NOPERM"), "\(attack.stdout) \(attack.stderr)")

        // Prefixes nested in this one's name space (prefixes may hold ':'), shaped like its
        // chunk keys, with data of their own: neither readable nor deletable by the writer.
        let hexLike = String(repeating: "e", count: 64)
        let uuidLike = "new-" + String(repeating: "a", count: 36)
        for victim in ["\(fixture.prefix):chunk:\(hexLike)", "\(fixture.prefix):chunk:\(uuidLike)"] {
            defer { TestRedis.removeStore(prefix: victim, url: fixture.url) }
            #expect(try fixture.run(["--prefix", victim, "-c", "load '\(ct)'"]).status == 0, "loaded as admin")
            let before = try TestRedis.scanKeys("\(victim):*", TestRedis.connection()).sorted()
            let read = try fixture.run(["--prefix", victim, "-c", "find name"], environment: ["REDIS_URL": url])
            #expect(read.status == 1 && !read.stdout.contains("CT_small"), "\(read.stdout) \(read.stderr)")
            let delete = try fixture.run(
                ["-y", "--prefix", victim, "-c", "delete where name = 'CT_small.dcm'"], environment: ["REDIS_URL": url])
            #expect(delete.status == 1, "\(delete.stderr)")
            #expect(try TestRedis.scanKeys("\(victim):*", TestRedis.connection()).sorted() == before, "untouched")
        }

        // Another prefix, and one nested in this one's name space (prefixes may hold ':').
        for elsewhere in ["\(fixture.prefix)-other", "\(fixture.prefix):chunk", "\(fixture.prefix):durable"] {
            defer { TestRedis.removeStore(prefix: elsewhere, url: fixture.url) }
            let outside = try fixture.run(
                ["--prefix", elsewhere, "-c", "load '\(ct)'"], environment: ["REDIS_URL": url])
            #expect(outside.status == 1, "\(elsewhere)")
            #expect(
                outside.stderr.contains(
                    "error: the account '\(user)' may not change the store under prefix '\(elsewhere)'"),
                "\(outside.stderr)")
            #expect(
                try TestRedis.scanKeys("\(elsewhere):{m}:*", TestRedis.connection()).isEmpty,
                "nothing written outside the prefix")
            let reading = try fixture.run(["--prefix", elsewhere, "-c", "count"], environment: ["REDIS_URL": url])
            #expect(reading.status != 0)
            #expect(
                reading.stderr.contains(
                    "error: the account '\(user)' may not do this under prefix '\(elsewhere)'")
                    && reading.stderr.contains("(NOPERM"), "\(reading.stderr)")
        }
    }

    @Test func theRulesNameEveryCommandAndNoPassword() throws {
        let fixture = try ShellFixture(load: false)
        let reader = try fixture.run(["acl", "reader", "--prefix", "scans"])
        #expect(reader.status == 0)
        #expect(
            reader.stdout
                == "ACL SETUSER dql-reader reset on ~scans:{m}:* ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:????????????????????????????????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:chunk:new-????????????????????????????????????:[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ~scans:durable:{*} ~scans:doc:{s*}* ~scans:idx:{s*}* ~scans:loading:{s*}* ~scans:loadrun:{s*}* ~scans:stage:{s*}* resetchannels -@all +ping +info +dbsize +module|list +cluster|slots +cluster|shards +cluster|info +asking +readonly +client|setname +get +getrange +exists +memory|usage +ft.search +ft.aggregate +ft.info +ft.explain +ft.config|get +json.get +hgetall\n"

        )
        #expect(reader.stderr.contains("the account has no password yet"))
        let defaultUser = try fixture.run(["acl", "reader", "--user", "default"])
        #expect(defaultUser.status == 64)
        #expect(defaultUser.stderr.contains("the account 'default' is the one connections get before they log in"))
        let wrong = try fixture.run(["acl", "admin"])
        #expect(wrong.status == 64)
        #expect(wrong.stderr.hasPrefix("Error: the role is 'reader', 'writer' or 'owner', not 'admin'"))
    }
}

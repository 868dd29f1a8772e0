import Foundation
import RedisIO
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Loads that do not finish: killed, cancelled with Ctrl-C, or cut off from the server. None
/// may leave a visible document, and whatever chunks remain must be reclaimable by `vacuum`.
@Suite(.serialized) struct LoadInterruptionTests {
    /// Starts `dql` without waiting for it.
    static func launch(_ arguments: [String], environment: [String: String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DQLBinary.path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }

    /// Waits until the load has written some chunks (under whatever id: a large new file is
    /// uploaded under a provisional id while it is hashed).
    static func waitForChunks(
        of file: String, _ prefix: String, _ connection: RedisConnection, process: Process
    ) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning {
            if let lease = try connection.keys(matching: "\(prefix):{m}:loading:*").first {
                let id = String(lease.dropFirst("\(prefix):{m}:loading:".count))
                if try connection.call("EXISTS", "\(prefix):chunk:\(id):200").integer == 1 { return }
            }
            usleep(1_000)
        }
        throw TestSetupError("the load wrote no chunks in time (running: \(process.isRunning))")
    }

    static func waitForLeaseToExpire(_ prefix: String, _ connection: RedisConnection) throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try TestRedis.scanKeys("\(prefix):{m}:loading:*", connection).isEmpty { return }
            usleep(50_000)
        }
        throw TestSetupError("the lease did not expire")
    }

    func start(_ fixture: ShellFixture) throws -> (Process, Pipe, String) {
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 96)
        let (process, errors) = try Self.launch(
            ["-c", "load '\(big)' chunk 8KB connections 1"],
            environment: fixture.environment.merging(["DQL_LOAD_LEASE_SECONDS": "2"]) { $1 })
        return (process, errors, big)
    }

    @Test func aKilledLoadLeavesNoDocumentAndVacuumRemovesItsChunks() throws {
        let fixture = try ShellFixture(load: false)
        let connection = try TestRedis.connection()
        let (process, _, big) = try start(fixture)
        try Self.waitForChunks(of: big, fixture.prefix, connection, process: process)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        #expect(try fixture.run(["--format", "csv", "-c", "count"]).stdout == "count\r\n0\r\n", "nothing visible")
        let left = try TestRedis.scanKeys("\(fixture.prefix):chunk:*", connection)
        #expect(left.count > 200, "the killed load left its chunks")
        let earlyRun = try fixture.run(["--format", "json", "-c", "vacuum"])
        let early = try jsonObject(earlyRun.stdout)
        #expect(early["chunksRemoved"] as? Int == 0, "the lease still protects them")
        // It says so: how many chunks the claim keeps, and for how long.
        #expect(early["leasedLoads"] as? Int == 1 && early["leasedChunks"] as? Int == left.count, "\(early)")
        #expect((1...2).contains(early["leaseSecondsLeft"] as? Int ?? 0), "\(early)")
        #expect(
            earlyRun.stderr.contains("\(left.count) chunks of 1 load without a document are kept"), "\(earlyRun.stderr)"
        )

        try Self.waitForLeaseToExpire(fixture.prefix, connection)
        let vacuum = try jsonObject(try fixture.run(["--format", "json", "-c", "vacuum"]).stdout)
        #expect(vacuum["chunksRemoved"] as? Int == left.count)
        #expect(vacuum["interruptedLoads"] as? Int == 1)
        #expect(try TestRedis.scanKeys("\(fixture.prefix):chunk:*", connection).isEmpty)
    }

    @Test func ctrlCDuringALoadRollsItBack() throws {
        let fixture = try ShellFixture(load: false)
        let connection = try TestRedis.connection()
        let (process, errors, big) = try start(fixture)
        try Self.waitForChunks(of: big, fixture.prefix, connection, process: process)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("load cancelled; the files in progress were rolled back"))
        #expect(try fixture.run(["--format", "csv", "-c", "count"]).stdout == "count\r\n0\r\n")
        #expect(try TestRedis.scanKeys("\(fixture.prefix):chunk:*", connection).isEmpty, "its chunks were deleted")
        #expect(try TestRedis.scanKeys("\(fixture.prefix):{m}:loading:*", connection).isEmpty, "and its lease released")
    }

    /// A server that stops answering (frozen, not gone) held a load for ten minutes and more:
    /// SIGTERM waited for reads that would each time out after a minute, and the clean-up
    /// after them waited again for every file. SIGTERM now ends dql within its grace period.
    @Test(.timeLimit(.minutes(2))) func sigtermEndsALoadStuckOnAFrozenServer() throws {
        let server = try ScratchServer()
        let fixture = try ShellFixture(load: false)
        let environment = fixture.environment.merging(["REDIS_URL": server.url.description]) { $1 }
        let connection = try RedisConnection(url: server.url)
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 96)
        let (process, errors) = try Self.launch(
            ["-c", "load '\(big)' chunk 8KB connections 1"], environment: environment)
        try Self.waitForChunks(of: big, fixture.prefix, connection, process: process)
        try server.signal(SIGSTOP)
        defer { try? server.signal(SIGCONT) }
        // The test's time limit is the hang guard: the old behaviour took more than ten minutes.
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        _ = errors.fileHandleForReading.readDataToEndOfFile()
        #expect(process.terminationStatus == 143)
        try server.signal(SIGCONT)
        #expect(
            try fixture.run(["--format", "csv", "-c", "count"], environment: environment).stdout == "count\r\n0\r\n")
    }

    /// Ctrl-C while dql waits on a server that accepted the connection and says nothing: the
    /// wait ends at once with 130, for a reply and for a TLS handshake alike (it used to last
    /// until the 60 s or 5 s timeout, then exit 69).
    @Test(.timeLimit(.minutes(2)), arguments: ["redis", "rediss"])
    func ctrlCEndsAWaitOnASilentServer(scheme: String) throws {
        let silent = try LoopbackSocket(listening: true)
        let fixture = try ShellFixture(load: false)
        let (process, errors) = try Self.launch(
            ["--url", "\(scheme)://127.0.0.1:\(silent.port)", "--connect-timeout", "30", "-c", "count"],
            environment: fixture.environment)
        usleep(1_000_000)  // connected and waiting (the kernel accepted into the backlog)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("interrupted while waiting to"), "\(stderr)")
    }

    @Test func aDroppedConnectionStopsTheLoadWithoutAVisibleFile() throws {
        let server = try ScratchServer()
        let fixture = try ShellFixture(load: false)
        let environment = fixture.environment.merging(["REDIS_URL": server.url.description]) { $1 }
        let connection = try RedisConnection(url: server.url)
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 96)
        let (process, errors) = try Self.launch(
            ["-c", "load '\(big)' chunk 8KB connections 1"],
            environment: environment.merging(["DQL_LOAD_LEASE_SECONDS": "2"]) { $1 })
        try Self.waitForChunks(of: big, fixture.prefix, connection, process: process)
        try connection.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 69, "\(stderr)")
        #expect(stderr.contains("load stopped") && stderr.contains(server.url.endpoint))
        #expect(stderr.contains("files in progress may have been stored before the connection was lost"), "\(stderr)")

        let count = try DQLBinary.run(["--format", "csv", "-c", "count"], environment: environment)
        #expect(count.stdout == "count\r\n0\r\n", "\(count.stderr)")
        try Self.waitForLeaseToExpire(fixture.prefix, connection)
        _ = try DQLBinary.run(["-c", "vacuum"], environment: environment)
        #expect(try TestRedis.scanKeys("\(fixture.prefix):chunk:*", connection).isEmpty)
    }
}

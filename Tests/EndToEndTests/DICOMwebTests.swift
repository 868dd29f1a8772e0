import Crypto
import Foundation
import RedisIO
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `dql serve` used by a real DICOMweb client (dicomweb-client) and checked against pydicom's
/// reading of the same files (scripts/dicomweb_check.py): QIDO-RS matching and paging, WADO-RS
/// retrieve, metadata and frames, STOW-RS, bad requests; then credentials, CORS, the access
/// log, a graceful stop, and a Redis server that goes away.
@Suite(.serialized) struct DICOMwebTests {
    /// A running `dql serve`, its log on a file.
    final class Server {
        let process = Process()
        let log: URL
        private(set) var url = ""

        init(_ fixture: ShellFixture, _ arguments: [String] = [], environment: [String: String] = [:]) throws {
            log = fixture.directory.appendingPathComponent("serve-\(UUID().uuidString.prefix(6)).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: DQLBinary.path)
            process.arguments = ["serve", "--listen", "127.0.0.1:0"] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 }
                .merging(environment) { $1 }
            let handle = try FileHandle(forWritingTo: log)
            process.standardError = handle
            process.standardOutput = handle
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if let range = text.range(of: #"at (http://\S+)"#, options: .regularExpression) {
                    url = String(text[range].dropFirst(3))
                    return
                }
                if !process.isRunning { break }
                usleep(20_000)
            }
            throw TestSetupError("dql serve did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        }

        var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// SIGTERM, then its exit status.
        func stop() -> Int32 {
            guard process.isRunning else { return process.terminationStatus }
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }

        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    /// A generated series of `instances` CT slices of `side` × `side` 16-bit pixels, loaded;
    /// returns its folder.
    static func loadSeries(into fixture: ShellFixture, instances: Int, side: Int) throws -> URL {
        let folder = fixture.directory.appendingPathComponent("large")
        try ProjectScripts.generateArchive(
            folder,
            [
                "--patients", "1", "--studies", "1", "--series", "1", "--instances", String(instances), "--rows",
                String(side), "--cols", String(side),
            ])
        let load = try fixture.run(["-c", "load '\(folder.path)' recursive"])
        guard load.status == 0 else { throw TestSetupError("load failed: \(load.stderr)") }
        return folder
    }

    /// Runs a group of scripts/dicomweb_check.py against `url`.
    static func check(
        _ group: String, _ url: String, _ directory: URL, environment: [String: String] = [:]
    ) throws
        -> ProcessResult
    {
        guard let venv = ProcessInfo.processInfo.environment["DQL_TEST_VENV"] else {
            throw TestSetupError("DQL_TEST_VENV is not set (scripts/test.sh sets it)")
        }
        let script = repositoryRoot.appendingPathComponent("scripts/dicomweb_check.py").path
        return try ProcessResult.run(
            "\(venv)/bin/python", [script, "check", url, directory.path, group],
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }

    /// The test set (a generated archive and corpus files in every pixel encoding), loaded.
    /// `part`: only that folder of the set (`archive`).
    static func loadedFixture(only part: String = "") throws -> ShellFixture {
        let fixture = try ShellFixture(load: false)
        let set = fixture.directory.appendingPathComponent("set")
        try ProjectScripts.run("dicomweb_check.py", ["prepare", set.path])
        let load = try fixture.run(["-c", "load '\(set.appendingPathComponent(part).path)' recursive"])
        guard load.status == 0 else { throw TestSetupError("load failed: \(load.stderr)") }
        return fixture
    }

    @Test func aDICOMwebClientReadsAndStoresWhatPydicomReads() throws {
        let fixture = try Self.loadedFixture()
        let server = try Server(fixture)
        for group in ["qido", "retrieve", "metadata", "frames", "stow", "errors"] {
            let result = try Self.check(group, server.url, fixture.directory.appendingPathComponent("set"))
            #expect(result.status == 0, "\(group): \(result.stdout)\(result.stderr.suffix(2000))")
            #expect(result.stdout.hasPrefix("ok \(group)"), "\(group): \(result.stdout)")
        }
        // Every request was logged, with its status; the server stops cleanly on SIGTERM.
        #expect(server.text.contains("GET /dicom-web/studies?PatientID="))
        #expect(server.text.contains(" 406 "))
        #expect(server.stop() == 0)
        #expect(server.text.contains("dql: stopped serving"))
    }

    @Test func orthancAndDqlAnswerTheSameSearchesAlike() throws {
        let fixture = try Self.loadedFixture(only: "archive")
        let server = try Server(fixture)
        let port = String(try freePort())
        let orthancDirectory = fixture.directory.appendingPathComponent("orthanc").path
        let script = repositoryRoot.appendingPathComponent("scripts/orthanc.sh").path
        let orthanc = try runProcess(script, ["start", "--port", port, "--dir", orthancDirectory])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? runProcess(script, ["stop", "--dir", orthancDirectory]) }
        let result = try Self.check(
            "orthanc", server.url, fixture.directory.appendingPathComponent("set"),
            environment: ["DQL_CHECK_ORTHANC": orthanc])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr.suffix(2000))")
        #expect(server.stop() == 0)
    }

    @Test func aDamagedFileIsNeverSentWhole() throws {
        let fixture = try Self.loadedFixture(only: "archive")
        let server = try Server(fixture)
        let archive = fixture.directory.appendingPathComponent("set/archive")
        guard
            let path = FileManager.default.enumerator(atPath: archive.path)?.compactMap({ $0 as? String })
                .first(where: { $0.hasSuffix(".dcm") })
        else { throw TestSetupError("no file in the archive") }
        let bytes = try Data(contentsOf: archive.appendingPathComponent(path))
        let id = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let connection = try TestRedis.connection()
        defer { connection.close() }
        // The study of that file, from the server itself.
        let studies = try ProcessResult.run("/usr/bin/curl", ["-s", "\(server.url)/studies"]).stdout
        #expect(studies.contains("0020000D"))
        func stored(_ path: String) throws -> String {
            (try connection.call("JSON.GET", "\(fixture.prefix):{m}:file:\(id)", path).string ?? "")
                .trimmingCharacters(in: CharacterSet(charactersIn: "[]\""))
        }
        let study = try stored("$.studyUid")
        let instance =
            "\(server.url)/studies/\(study)/series/\(try stored("$.seriesUid"))/instances/\(try stored("$.sopUid"))"
        let answered = [
            "\(instance)/frames/1", "\(instance)/bulkdata/7FE00010", "\(instance)/bulkdata?offset=0&length=132",
        ]
        func retrieve() throws -> ProcessResult {
            try ProcessResult.run(
                "/usr/bin/curl",
                ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(server.url)/studies/\(study)"])
        }
        let whole = try retrieve()
        #expect(whole.status == 0, "\(whole.stdout)")
        let patientName = try stored("$.patientName")
        for url in answered {
            let intact = try ProcessResult.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
            #expect(intact.stdout == "200", "\(url): \(intact.stdout)")
        }
        _ = try connection.call("SETRANGE", "\(fixture.prefix):chunk:\(id):0", "300", "damaged")
        // A small study is read and checked before the answer starts: an error that says why.
        let damaged = try ProcessResult.run(
            "/usr/bin/curl", ["-s", "-w", " %{http_code}", "\(server.url)/studies/\(study)"])
        #expect(damaged.stdout.hasSuffix(" 500"), "\(damaged.stdout.suffix(300))")
        #expect(damaged.stdout.contains("do not match its checksum: they are damaged"), "\(damaged.stdout.suffix(300))")
        // Frames and bulk data of it too: never a slice of damaged bytes with a 200.
        for url in answered {
            let refused = try ProcessResult.run("/usr/bin/curl", ["-s", "-w", " %{http_code}", url])
            #expect(refused.stdout.hasSuffix(" 500"), "\(url): \(refused.stdout.suffix(300))")
            #expect(refused.stdout.contains("they are damaged"), "\(url): \(refused.stdout.suffix(300))")
        }
        // The Patient Name in the header, damaged too: metadata (read from the header alone)
        // shows it until a check of the whole file finds the damage; once the file is mended
        // (the chunk as it was), it is shown as it is: what was cached from its damaged header
        // went when the damage was found. (A server of its own: this one has the header cached.)
        let chunk = try connection.call("GET", "\(fixture.prefix):chunk:\(id):0").bytes ?? []
        guard let at = Self.range(of: Array(patientName.utf8), in: chunk) else {
            throw TestSetupError("no Patient Name \(patientName) in the first chunk")
        }
        _ = try connection.call("SETRANGE", "\(fixture.prefix):chunk:\(id):0", String(at), "EVIL")
        do {
            let fresh = try Server(fixture)
            let metadata = "\(instance.replacingOccurrences(of: server.url, with: fresh.url))/metadata"
            let shown = try ProcessResult.run("/usr/bin/curl", ["-s", metadata]).stdout
            #expect(shown.contains("EVIL"), "\(shown.prefix(300))")
            let found = try ProcessResult.run(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    metadata.replacingOccurrences(of: "/metadata", with: "/frames/1"),
                ])
            #expect(found.stdout == "500")
            var mended = chunk
            mended.replaceSubrange(300..<307, with: Array(bytes[300..<307]))
            mended.replaceSubrange(at..<(at + 4), with: Array(patientName.utf8.prefix(4)))
            _ = try connection.call(
                RedisCommand(arguments: [Array("SET".utf8), Array("\(fixture.prefix):chunk:\(id):0".utf8), mended]))
            let again = try ProcessResult.run("/usr/bin/curl", ["-s", metadata]).stdout
            #expect(!again.contains("EVIL") && again.contains(patientName.prefix(4)), "\(again.prefix(300))")
            #expect(fresh.stop() == 0)
        }
        _ = try connection.call("SETRANGE", "\(fixture.prefix):chunk:\(id):0", "300", "damaged")
        // The access log says why it answered 500.
        #expect(
            server.text.split(separator: "\n").contains {
                $0.contains("/frames/1 500 - ") && $0.contains("they are damaged")
            },
            "\(server.text.suffix(1500))")
        // A study larger than a read (4 MiB) is streamed: the damaged file, last, is cut short.
        // curl: 18, the transfer ended before Content-Length: the client knows it is short.
        let large = try Self.loadSeries(into: fixture, instances: 3, side: 1024)
        let files = (FileManager.default.enumerator(atPath: large.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".dcm") }.sorted()
        let last = try #require(files.last)
        let lastId = SHA256.hash(data: try Data(contentsOf: large.appendingPathComponent(last)))
            .map { String(format: "%02x", $0) }.joined()
        let largeStudy =
            (try connection.call("JSON.GET", "\(fixture.prefix):{m}:file:\(lastId)", "$.studyUid").string ?? "")
            .trimmingCharacters(in: CharacterSet(charactersIn: "[]\""))
        let streamed = try ProcessResult.run(
            "/usr/bin/curl",
            ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(server.url)/studies/\(largeStudy)"])
        #expect(streamed.status == 0, "\(streamed.stdout)")
        _ = try connection.call("SETRANGE", "\(fixture.prefix):chunk:\(lastId):0", "300", "damaged")
        let cut = try ProcessResult.run(
            "/usr/bin/curl",
            ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(server.url)/studies/\(largeStudy)"])
        #expect(cut.status == 18, "\(cut.status) \(cut.stdout)")
        // The access log says the answer was cut, and how much of it went out.
        let logged = server.text.split(separator: "\n").filter { $0.contains("GET /dicom-web/studies/\(largeStudy) ") }
        #expect(logged.count == 2, "\(logged)")
        #expect(
            logged.first?.contains(" 200 \(streamed.stdout.split(separator: " ").last ?? "?")B ") == true, "\(logged)")
        #expect(
            logged.last?.contains(" 200 cut after ") == true && logged.last?.contains("they are damaged") == true,
            "\(logged)")
        // Damaged at the start: found before the answer begins, so a 500 that says why, not a
        // 200 cut after 0 bytes (found by a hostile round).
        for name in files {
            let fileId = SHA256.hash(data: try Data(contentsOf: large.appendingPathComponent(name)))
                .map { String(format: "%02x", $0) }.joined()
            _ = try connection.call("SETRANGE", "\(fixture.prefix):chunk:\(fileId):0", "300", "damaged")
        }
        let refused = try ProcessResult.run(
            "/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "\(server.url)/studies/\(largeStudy)"])
        #expect(refused.status == 0, "\(refused.status)")
        #expect(refused.stdout.hasSuffix("\n500"), "\(refused.stdout.suffix(300))")
        #expect(refused.stdout.contains("do not match its checksum: they are damaged"), "\(refused.stdout.suffix(300))")
        #expect(server.stop() == 0)
    }

    /// QIDO gives no RetrieveURL the retrieve routes would refuse: a file loaded with a study
    /// UID that is not a UID is found, but not offered for retrieval.
    @Test func aFileWithAMalformedUIDHasNoRetrieveURL() throws {
        let fixture = try ShellFixture(load: false)
        let folder = fixture.directory.appendingPathComponent("odd")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try SmallDicom.write(
            SmallDicom.instance(
                patientId: "ODDUID", patientName: "Odd^Uid", studyUid: "study-one", seriesUid: "1.2.3.4",
                sopUid: "1.2.3.4.5"), to: folder.appendingPathComponent("odd.dcm").path)
        try SmallDicom.write(
            SmallDicom.instance(
                patientId: "ODDUID", patientName: "Odd^Uid", studyUid: "1.2.3", seriesUid: "1.2.3.5",
                sopUid: "1.2.3.5.6"), to: folder.appendingPathComponent("fine.dcm").path)
        // Digits and dots, but `..` would be a path step in a URL.
        try SmallDicom.write(
            SmallDicom.instance(
                patientId: "DOTS", patientName: "Dot^Dot", studyUid: "..", seriesUid: "1..2", sopUid: "1.2."),
            to: folder.appendingPathComponent("dots.dcm").path)
        let load = try fixture.run(["-c", "load '\(folder.path)'"])
        #expect(load.status == 0, "\(load.stderr)")
        let server = try Server(fixture)
        for level in ["studies", "series", "instances"] {
            let answer = try ProcessResult.run("/usr/bin/curl", ["-s", "\(server.url)/\(level)?PatientID=ODDUID"])
                .stdout
            #expect(answer.contains("study-one"), "\(level): \(answer)")
            // Only the well-formed file's study, series or instance has one.
            #expect(answer.components(separatedBy: "00081190").count == 2, "\(level): \(answer)")
            #expect(!answer.contains("studies/study-one"), "\(level): \(answer)")
            let dots = try ProcessResult.run("/usr/bin/curl", ["-s", "\(server.url)/\(level)?PatientID=DOTS"]).stdout
            #expect(dots.contains("\"..\"") && !dots.contains("00081190"), "\(level): \(dots)")
        }
        // A Host header that is not a host and a port is not copied into a RetrieveURL.
        let forged = try ProcessResult.run(
            "/usr/bin/curl", ["-s", "-H", "Host: evil.example\"><script>", "\(server.url)/studies?PatientID=ODDUID"]
        ).stdout
        #expect(forged.contains("00081190") && !forged.contains("evil") && !forged.contains("<script>"), "\(forged)")
        let port = server.url.split(separator: ":").last?.prefix { $0.isNumber } ?? ""
        #expect(forged.contains("http://127.0.0.1:\(port)/dicom-web/studies/1.2.3"), "\(forged)")
        #expect(server.stop() == 0)
    }

    /// Where `needle` first occurs in `haystack`.
    static func range(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    /// SIGTERM waits for the requests under way, for at most the idle timeout; a second one
    /// stops at once. A client that stopped reading held the first for ever.
    @Test(.timeLimit(.minutes(2))) func aSecondSignalStopsAtOnce() throws {
        let fixture = try ShellFixture(load: false)
        _ = try Self.loadSeries(into: fixture, instances: 1, side: 4096)
        let uids = try #require(
            parseCSV(try fixture.run(["--format", "csv", "-c", "find studyUid, seriesUid, sopUid"]).stdout).dropFirst()
                .first)
        let instance = "/studies/\(uids[0])/series/\(uids[1])/instances/\(uids[2])"
        // Each server is sent SIGTERM while a client reads 1 KB a second of a 32 MB instance:
        // a second signal stops it at once; one is enough once the idle timeout has passed.
        for (arguments, signals, said) in [
            ([String](), 2, "dql: a second signal: stopped at once, without finishing the requests under way"),
            (
                ["--idle-timeout", "4"], 1,
                "dql: requests still under way 4 s after the signal (clients not reading their answers): stopped"
            ),
        ] {
            let server = try Server(fixture, arguments)
            let client = Process()
            client.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            client.arguments = [
                "-s", "-o", "/dev/null", "--limit-rate", "1k", "-H", "Accept: application/dicom", server.url + instance,
            ]
            // Its output nowhere near the test runner's (which waits for its pipes to close).
            client.standardOutput = FileHandle.nullDevice
            client.standardError = FileHandle.nullDevice
            try client.run()
            defer {
                kill(client.processIdentifier, SIGKILL)
                client.waitUntilExit()
            }
            Thread.sleep(forTimeInterval: 1)
            kill(server.process.processIdentifier, SIGTERM)
            Thread.sleep(forTimeInterval: 1)
            #expect(server.process.isRunning, "the first signal waits for the request under way")
            if signals == 2 { kill(server.process.processIdentifier, SIGTERM) }
            let deadline = Date().addingTimeInterval(20)
            while server.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            #expect(!server.process.isRunning)
            #expect(server.process.terminationStatus == 1)
            #expect(server.text.contains(said), "\(server.text.suffix(500))")
        }
    }

    @Test func credentialsAndCORS() throws {
        let fixture = try ShellFixture()
        let server = try Server(
            fixture, ["--token", "s3cret-token"], environment: ["DQL_SERVE_USER": "viewer:pass word"])
        let result = try Self.check(
            "operations", server.url, fixture.directory,
            environment: ["DQL_CHECK_TOKEN": "s3cret-token", "DQL_CHECK_USER": "viewer:pass word"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr.suffix(2000))")
        #expect(server.text.contains("GET /dicom-web/studies 401"))
        // HEAD is GET without the body; a method not served is 405 and says which are.
        let head = try ProcessResult.run(
            "/usr/bin/curl",
            ["-s", "-I", "-H", "Authorization: Bearer s3cret-token", "\(server.url)/studies?limit=1"])
        #expect(head.stdout.hasPrefix("HTTP/1.1 200"), "\(head.stdout)")
        #expect(head.stdout.lowercased().contains("content-type: application/dicom+json"), "\(head.stdout)")
        let length = head.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
        #expect(length.map { Int($0.split(separator: " ").last ?? "") ?? 0 > 2 } == true, "\(head.stdout)")
        let put = try ProcessResult.run(
            "/usr/bin/curl",
            ["-s", "-i", "-X", "PUT", "-H", "Authorization: Bearer s3cret-token", "\(server.url)/studies/1.2.3"])
        #expect(put.stdout.hasPrefix("HTTP/1.1 405"), "\(put.stdout)")
        #expect(put.stdout.contains("Allow: GET, HEAD, POST, OPTIONS"), "\(put.stdout)")
        #expect(server.text.contains("HEAD /dicom-web/studies?limit=1 200 - "), "\(server.text.suffix(500))")
        #expect(server.stop() == 0)
    }

    @Test func aRedisServerThatGoesAwayIs503AndServingGoesOn() throws {
        let scratch = try ScratchServer()
        try scratch.start()
        let fixture = try ShellFixture(url: scratch.url)
        let server = try Server(fixture)
        func status() throws -> (Int32, String) {
            let result = try ProcessResult.run(
                "/usr/bin/curl", ["-s", "-o", "/dev/stdout", "-w", "\n%{http_code}", "\(server.url)/studies"])
            let lines = result.stdout.split(separator: "\n")
            return (Int32(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }
        #expect(try status().0 == 200)
        try scratch.stop()
        let (code, body) = try status()
        #expect(code == 503, "\(body)")
        #expect(body.contains("cannot be reached"), "\(body)")
        try scratch.start()
        var recovered: Int32 = 0
        for _ in 0..<50 where recovered != 200 {
            recovered = try status().0
            if recovered != 200 { usleep(100_000) }
        }
        #expect(recovered == 200)
        #expect(server.stop() == 0)
    }

    @Test func aStalledUploadDoesNotHoldTheServerOrItsStop() throws {
        let fixture = try ShellFixture(load: false)
        let server = try Server(fixture, ["--idle-timeout", "2"])
        let port = UInt16(server.url.split(separator: ":").last?.split(separator: "/").first ?? "") ?? 0
        // The headers of an upload and a few bytes of its body, then nothing.
        let connection = try RawHTTPConnection(port: port)
        try connection.send(
            "POST /dicom-web/studies HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/related; type=\"application/dicom\"; boundary=B\r\nContent-Length: 100000\r\n\r\n--B\r\n"
        )
        // Another upload that the client gives up on: the client's doing, logged as a 400.
        let abandoned = try RawHTTPConnection(port: port)
        try abandoned.send(
            "POST /dicom-web/studies HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/related; type=\"application/dicom\"; boundary=B\r\nContent-Length: 100000\r\n\r\n--B\r\n"
        )
        abandoned.close()
        let deadline = Date().addingTimeInterval(10)
        while !server.text.contains("POST /dicom-web/studies 400") && Date() < deadline { usleep(50_000) }
        #expect(server.text.contains("POST /dicom-web/studies 400 - "), "\(server.text.suffix(500))")
        #expect(!server.text.contains(" 500 "), "\(server.text.suffix(500))")
        usleep(300_000)
        let started = Date()
        // The connection stays open (stalled) while the server stops.
        withExtendedLifetime(connection) { #expect(server.stop() == 0) }
        #expect(Date().timeIntervalSince(started) < 30, "SIGTERM waited for the stalled upload")
    }

    /// A client that sends `Expect: 100-continue` (curl does for bodies over 1 MiB) is told to
    /// go on before it sends its body, not left to wait; one whose credentials are missing is
    /// told 401 at once instead, before any body is sent.
    @Test func anUploadThatExpects100ContinueIsToldToGoOn() throws {
        let fixture = try ShellFixture(load: false)
        for token in [nil, "s3cret-token"] {
            let server = try Server(fixture, token.map { ["--token", $0] } ?? [])
            let port = UInt16(server.url.split(separator: ":").last?.split(separator: "/").first ?? "") ?? 0
            let connection = try RawHTTPConnection(port: port)
            let body = Array("--B\r\nContent-Type: application/dicom\r\n\r\nnot DICOM\r\n--B--\r\n".utf8)
            try connection.send(
                "POST /dicom-web/studies HTTP/1.1\r\nHost: x\r\nExpect: x-other, 100-Continue\r\nContent-Type: multipart/related; type=\"application/dicom\"; boundary=B\r\nContent-Length: \(body.count)\r\n\r\n"
            )
            let first = try connection.readHead()
            if token == nil {
                #expect(first.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(first)")
                try connection.send(body)
                // The part is not DICOM: the store answers what failed (409), nothing stored.
                let answer = try connection.readHead()
                #expect(answer.hasPrefix("HTTP/1.1 409"), "\(answer)")
            } else {
                #expect(first.hasPrefix("HTTP/1.1 401"), "\(first)")
            }
            #expect(server.stop() == 0)
        }
    }

    /// One HTTP/1.1 connection spoken by hand, to see each response head as it comes.
    final class RawHTTPConnection {
        let descriptor: Int32
        private var received: [UInt8] = []

        init(port: UInt16) throws {
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else { throw TestSetupError("cannot connect to port \(port)") }
        }

        private var closed = false

        deinit { close() }

        /// Closes the connection (a client going away).
        func close() {
            guard !closed else { return }
            closed = true
            Glibc.close(descriptor)
        }

        func send(_ text: String) throws { try send(Array(text.utf8)) }

        func send(_ bytes: [UInt8]) throws {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
            guard sent == bytes.count else { throw TestSetupError("sent \(sent) of \(bytes.count) bytes") }
        }

        /// The next response head (up to its blank line), waiting at most 10 s for it; its body,
        /// if any, stays unread.
        func readHead() throws -> String {
            let deadline = Date().addingTimeInterval(10)
            while true {
                if let end = DICOMwebTests.range(of: Array("\r\n\r\n".utf8), in: received) {
                    let head = String(decoding: received[..<(end + 4)], as: UTF8.self)
                    received.removeFirst(end + 4)
                    return head
                }
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
                guard left > 0, poll(&poller, 1, left) == 1 else {
                    throw TestSetupError(
                        "no response head within 10 s; had \(String(decoding: received, as: UTF8.self))")
                }
                var buffer = [UInt8](repeating: 0, count: 65536)
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { throw TestSetupError("the server closed the connection") }
                received += buffer[..<count]
            }
        }
    }

    @Test func overAReaderAccountReadsWorkAndStoresAre403() throws {
        let fixture = try Self.loadedFixture(only: "archive")
        let account = try AccountRoleTests().makeAccount("reader", prefix: fixture.prefix, fixture: fixture)
        defer { AccountRoleTests().dropAccount(account.user) }
        let server = try Server(fixture, environment: ["REDIS_URL": account.url])
        let search = try ProcessResult.run(
            "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(server.url)/studies"])
        #expect(search.stdout == "200")
        let before = try AccountRoleTests().snapshot(fixture.prefix)
        let body = fixture.directory.appendingPathComponent("body")
        let file = try Data(
            contentsOf: fixture.directory.appendingPathComponent("set/archive/P0000/S000/SE000/IM00000.dcm"))
        try (Data("--B\r\nContent-Type: application/dicom\r\n\r\n".utf8) + file + Data("\r\n--B--\r\n".utf8))
            .write(to: body)
        let store = try ProcessResult.run(
            "/usr/bin/curl",
            [
                "-s", "-w", "\n%{http_code}", "-H",
                "Content-Type: multipart/related; type=\"application/dicom\"; boundary=B",
                "--data-binary", "@\(body.path)", "\(server.url)/studies",
            ])
        #expect(store.stdout.hasSuffix("\n403"), "\(store.stdout)")
        #expect(store.stdout.contains("may not change the store"), "\(store.stdout)")
        #expect(try AccountRoleTests().snapshot(fixture.prefix) == before, "a refused store changed the store")
        #expect(server.stop() == 0)
    }

    @Test func badOptionsAreRefusedBeforeServing() throws {
        let fixture = try ShellFixture(load: false)
        for (arguments, message) in [
            (["--listen", "nowhere"], "--listen takes HOST:PORT"), (["--root", "dicom-web"], "--root is a path"),
            (["--connections", "0"], "--connections is from 1 to 256"),
            (["--max-upload", "lots"], "--max-upload is a size"),
            (["--user", "nopassword"], "--user takes USER:PASSWORD"),
            (["--public-url", "ftp://x"], "--public-url is an http(s) URL"), (["--token", ""], "--token is empty"),
        ] {
            let result = try fixture.run(["serve"] + arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let taken = try Server(fixture)
        let port = taken.url.split(separator: ":").last?.split(separator: "/").first.map(String.init) ?? ""
        let busy = try fixture.run(["serve", "--listen", "127.0.0.1:\(port)"])
        #expect(busy.status == 64, "\(busy.stderr)")
        #expect(busy.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(busy.stderr)")
        #expect(taken.stop() == 0)
    }
}

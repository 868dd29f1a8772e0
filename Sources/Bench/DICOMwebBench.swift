import ArgumentParser
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// `dql serve` against Orthanc 1.10 with its DICOMweb plugin (Debian's packages, started by
/// scripts/orthanc.sh), same machine, same files, same run: each endpoint asked of both in
/// alternation over a kept-alive connection (scripts/bench_dicomweb.py), medians and the
/// spread of the rounds' ratios; and ingest of a 2,000-slice archive by STOW-RS into dql
/// against Orthanc's REST ingest and its STOW-RS.
struct DICOMwebBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicomweb",
        abstract: "DICOMweb endpoints and ingest: dql serve vs Orthanc, side by side."
    )

    @Option(help: "Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379).")
    var url: String?

    @Option(help: "Rounds of each small request (large ones take fewer, as the spec says).")
    var rounds = 100

    @Flag(help: "Leave out the ingest of 2,000 slices (the longest part).")
    var noIngest = false

    @Option(help: "Where the generated archives are kept between runs (default: the system temporary directory).")
    var workDirectory: String?

    @Option(help: "Python with pydicom (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    @Option(help: "The dql executable (default: next to dql-bench).")
    var dql: String?

    func run() throws {
        let redisURL = try RedisURL.resolve(explicit: url, environment: ProcessInfo.processInfo.environment)
        let dqlPath = dqlExecutable(dql)
        let base = URL(fileURLWithPath: workDirectory ?? FileManager.default.temporaryDirectory.path)
        let series = try generatedArchive(
            python: python, base.appendingPathComponent("dql-bench-dicomweb-series"),
            ["--patients", "1", "--studies", "1", "--series", "1", "--instances", "500"])
        let studies = try generatedArchive(
            python: python, base.appendingPathComponent("dql-bench-dicomweb-studies"),
            ["--patients", "40", "--studies", "5", "--series", "2", "--instances", "2", "--rows", "16", "--cols", "16"])
        let scratch = base.appendingPathComponent("dql-bench-dicomweb-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let prefix = "dqlbench-\(UUID().uuidString.prefix(8))"
        defer { try? ArchiveBench.remove(prefix: prefix, from: redisURL) }
        let environment = ["REDIS_URL": redisURL.description, "DQL_PREFIX": prefix, "NO_COLOR": "1"]
        for archive in [series, studies] {
            let load = try MeasuredRun.run(
                [dqlPath, "-c", "load '\(archive.path)' recursive"], environment: environment, in: scratch.path)
            guard load.stdout.hasPrefix("loaded") else { throw ValidationError("dql load: \(load.stdout)") }
        }
        let server = try ServeProcess(
            dqlPath, environment: environment, log: scratch.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let orthancDirectory = scratch.appendingPathComponent("orthanc").path
        let orthancScript = "\(repositoryRoot)/scripts/orthanc.sh"
        let orthanc = try runCapturing(
            orthancScript, ["start", "--port", String(try Self.freePort()), "--dir", orthancDirectory]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? runCapturing(orthancScript, ["stop", "--dir", orthancDirectory]) }
        for archive in [series, studies] {
            _ = try runCapturing(
                python, ["\(repositoryRoot)/scripts/bench_dicomweb.py", "ingest", orthanc, archive.path, "rest"])
        }
        print("dql serve \(server.url) (Redis \(redisURL)) vs Orthanc 1.10 + DICOMweb 1.7 \(orthanc)")
        print("500 CT slices of 256x256 (132 KB) in one series; 200 small studies for the searches")

        let specPath = scratch.appendingPathComponent("spec.json").path
        let specText = try runCapturing(
            python, ["\(repositoryRoot)/scripts/bench_dicomweb.py", "spec", series.path, studies.path])
        try specText.write(toFile: specPath, atomically: true, encoding: .utf8)
        let output = try runCapturing(
            python,
            ["\(repositoryRoot)/scripts/bench_dicomweb.py", "time", server.url, orthanc, String(rounds), specPath])
        guard let results = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
            let spec = try JSONSerialization.jsonObject(with: Data(specText.utf8)) as? [String: Any],
            let requests = spec["requests"] as? [[String: Any]]
        else { throw ValidationError("unexpected output from bench_dicomweb.py: \(output.prefix(300))") }
        print(
            "endpoint".padding(toLength: 38, withPad: " ", startingAt: 0)
                + "      dql   Orthanc   Orthanc/dql (rounds)      goal")
        for request in requests {
            guard let name = request["name"] as? String, let entry = results[name] as? [String: Any],
                let mine = entry["dql"] as? [Double], let theirs = entry["orthanc"] as? [Double]
            else { continue }
            let ratios = zip(mine, theirs).map { $1 / $0 }.sorted()
            let goal = request["goal"] as? Double ?? 0
            let ratio = median(ratios)
            print(
                name.padding(toLength: 38, withPad: " ", startingAt: 0)
                    + String(format: "%7.2f ms %7.2f ms", median(mine) * 1000, median(theirs) * 1000)
                    + String(
                        format: "   %5.2fx (%.2f–%.2f)", ratio, ratios[ratios.count / 10],
                        ratios[ratios.count * 9 / 10])
                    + String(format: "   %.0fx %@", goal, ratio >= goal ? "met" : "not met"))
        }
        if let reconnects = results["reconnects"] as? [String: Int], reconnects.values.contains(where: { $0 > 0 }) {
            print("(kept-alive connections the servers closed and the client reopened: \(reconnects))")
        }
        print("(medians; the spread is the 10th–90th percentile of the rounds' ratios; one client, whole bodies read)")

        guard !noIngest else { return }
        let slices = try generatedArchive(
            python: python, base.appendingPathComponent("dql-bench-archive-4x5x5x20-256"),
            [
                "--patients", "4", "--studies", "5", "--series", "5", "--instances", "20", "--rows", "256", "--cols",
                "256",
            ])
        func ingest(_ target: String, _ mode: String) throws -> Double {
            let text = try runCapturing(
                python, ["\(repositoryRoot)/scripts/bench_dicomweb.py", "ingest", target, slices.path, mode, "50"])
            guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                let seconds = object["seconds"] as? Double
            else { throw ValidationError("unexpected ingest output: \(text)") }
            return seconds
        }
        let dqlStow = try ingest(server.url, "stow")
        let orthancRest = try ingest(orthanc, "rest")
        // Orthanc has them now: its STOW-RS of the same files stores nothing new, so it goes
        // to a second Orthanc of its own.
        let secondDirectory = scratch.appendingPathComponent("orthanc-stow").path
        let second = try runCapturing(
            orthancScript, ["start", "--port", String(try Self.freePort()), "--dir", secondDirectory]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? runCapturing(orthancScript, ["stop", "--dir", secondDirectory]) }
        let orthancStow = try ingest(second, "stow")
        print("ingest of 2,000 CT slices (264 MB) from one client:")
        print(String(format: "  dql STOW-RS, 50 a request      %6.2f s  %5.0f files/s", dqlStow, 2000 / dqlStow))
        print(
            String(format: "  Orthanc REST, one a request    %6.2f s  %5.0f files/s", orthancRest, 2000 / orthancRest))
        print(
            String(format: "  Orthanc STOW-RS, 50 a request  %6.2f s  %5.0f files/s", orthancStow, 2000 / orthancStow))
        print(
            String(
                format: "  dql vs Orthanc REST %.2fx, vs Orthanc STOW-RS %.2fx (goal 2x)", orthancRest / dqlStow,
                orthancStow / dqlStow))
    }

    /// A port nothing listens on now.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ValidationError("cannot open a socket") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw ValidationError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A `dql serve` of the benchmark, its log on a file.
final class ServeProcess {
    let process = Process()
    private(set) var url = ""

    init(_ dql: String, environment: [String: String], log: URL) throws {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: dql)
        process.arguments = ["serve", "--quiet", "--listen", "127.0.0.1:0"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let handle = try FileHandle(forWritingTo: log)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"at (http://\S+)"#, options: .regularExpression) {
                url = String(text[range].dropFirst(3))
                return
            }
            usleep(20_000)
        }
        throw ValidationError("dql serve did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}

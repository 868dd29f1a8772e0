import Foundation
import RedisIO
import TestSupport

/// A private store for one end-to-end test: a unique key prefix on the test server, a scratch
/// directory, and a few corpus files loaded through `dql` itself.
final class ShellFixture {
    static let corpusNames = [
        "pydicom/test_files/CT_small.dcm", "pydicom/test_files/MR_small.dcm", "pydicom/test_files/JPGExtended.dcm",
        "pydicom/test_files/J2K_pixelrep_mismatch.dcm", "pydicom/test_files/rtplan.dcm",
        "pydicom-data/emri_small.dcm",
    ]

    let prefix = "e2e-\(UUID().uuidString.prefix(8))"
    let directory: URL
    let environment: [String: String]
    /// The server or cluster the store is on (plain: the fixture cleans up through it).
    let url: RedisURL

    /// `overTLS`: dql reaches the test server through its TLS endpoint, trusting the test CA
    /// from `DQL_TLS_CA` (the fixture still cleans up over the plain port).
    init(load: Bool = true, url: RedisURL? = nil, overTLS: Bool = false) throws {
        self.url = try url ?? TestRedis.url()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(prefix)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var environment = [
            "REDIS_URL": self.url.description, "DQL_PREFIX": prefix, "NO_COLOR": "1",
            "DQL_HISTORY": directory.appendingPathComponent("history").path,
        ]
        if overTLS {
            // The password-free URL of the TLS endpoint: its description is the URL itself.
            environment["REDIS_URL"] = try TestTLS.url(.main).description
            environment["DQL_TLS_CA"] = try TestTLS.file("ca.pem")
        }
        self.environment = environment
        if load {
            let input = directory.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for name in Self.corpusNames {
                let source = try Corpus.path(name)
                try FileManager.default.copyItem(
                    atPath: source, toPath: input.appendingPathComponent((name as NSString).lastPathComponent).path)
            }
            let result = try run(["-c", "load '\(input.path)'"])
            guard result.status == 0 else { throw TestSetupError("load failed: \(result.stderr)") }
        }
    }

    deinit {
        TestRedis.removeStore(prefix: prefix, url: url)
        try? FileManager.default.removeItem(at: directory)
    }

    func run(
        _ arguments: [String], input: String? = nil, environment extra: [String: String] = [:],
        currentDirectory: String? = nil
    ) throws -> ProcessResult {
        try DQLBinary.run(
            arguments, input: input, environment: environment.merging(extra) { $1 },
            currentDirectory: currentDirectory)
    }

    /// Writes a script into the scratch directory and returns its path.
    func script(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Oracle text of `keyword` for each loaded file, by file name.
    static func oracleValues(_ keyword: String) throws -> [String: String] {
        let oracle = try Corpus.cachedOracle()
        var values: [String: String] = [:]
        for name in corpusNames {
            guard let file = oracle.files.first(where: { $0.name == name }) else { continue }
            if case .strings(let strings)? = file.values?[keyword] {
                values[(name as NSString).lastPathComponent] = strings.joined(separator: "\\")
            } else {
                values[(name as NSString).lastPathComponent] = ""
            }
        }
        return values
    }
}

/// Parses CSV as RFC 4180 (CRLF records, quoted fields, doubled quotes, line breaks inside quotes).
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var characters = Array(text)[...]
    while let character = characters.popFirst() {
        if quoted {
            if character == "\"" {
                if characters.first == "\"" {
                    field.append("\"")
                    characters = characters.dropFirst()
                } else {
                    quoted = false
                }
            } else {
                field.append(character)
            }
        } else if character == "\"" {
            quoted = true
        } else if character == "," {
            row.append(field)
            field = ""
        } else if character == "\n" || character == "\r\n" {
            row.append(field)
            rows.append(row)
            row = []
            field = ""
        } else {
            field.append(character)
        }
    }
    if !field.isEmpty || !row.isEmpty { rows.append(row + [field]) }
    return rows
}

/// Parses an aligned table back: header cells and row cells, split on ` | `.
func parseTable(_ text: String) -> (header: [String], rows: [[String]], footer: String?) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    guard lines.count >= 2 else { return ([], [], nil) }
    func cells(_ line: String) -> [String] {
        line.components(separatedBy: "|").map { $0.trimmingCharacters(in: .whitespaces) }
    }
    var body = Array(lines.dropFirst(2))
    var footer: String?
    if let last = body.last, last.hasPrefix("(") {
        footer = last
        body.removeLast()
    }
    return (cells(lines[0]), body.map(cells), footer)
}

func jsonObject(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw TestSetupError("not a JSON object: \(text)")
    }
    return object
}

import Crypto
import DicomCore
import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// The corpus's metadata documents in a real index answer DQL like the pydicom oracle says.
/// Expectations are computed from the oracle file, never typed in.
@Suite(.serialized) struct CorpusQueryTests {
    struct Loaded {
        var layout: StorageLayout
        /// Oracle records of the distinct files indexed (by SHA-256), with their names.
        var files: [(oracle: Oracle.File, name: String)]
    }

    static func load(_ connection: RedisConnection) throws -> Loaded {
        let oracle = try Corpus.cachedOracle()
        let layout = StorageLayout(prefix: "dqltest-\(UUID().uuidString.prefix(8))")
        try connection.call(
            RedisCommand(
                ["FT.CREATE", layout.indexName] + Schema.indexDefinition(documentPrefix: layout.documentPrefix)))
        var seen: Set<String> = []
        var files: [(Oracle.File, String)] = []
        var commands: [RedisCommand] = []
        // Files pydicom read nothing from (see OracleTests.pydicomLosesElements) have no oracle
        // values to compare with.
        for record in oracle.files where (record.elementCount ?? 0) > 0 {
            guard let file = try? DicomReader.read(contentsOf: record.path, options: .metadataOnly) else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: record.path))
            let id = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            guard seen.insert(id).inserted else { continue }
            let name = URL(fileURLWithPath: record.path).lastPathComponent
            let document = FileDocument(
                file: file, id: id, xxh3: bytes.withUnsafeBytes { ContentCheck.xxh3(of: $0) }, name: name,
                size: bytes.count, chunkSize: 512 * 1024, loadedAt: 0, source: record.path)
            commands.append(RedisCommand(["JSON.SET", layout.documentKey(id: id), "$", document.json.serialized()]))
            files.append((record, name))
        }
        for reply in try connection.pipeline(commands) { _ = try reply.checked() }
        return Loaded(layout: layout, files: files)
    }

    static func oracleText(_ file: Oracle.File, _ keyword: String) -> String? {
        guard case .strings(let values)? = file.values?[keyword] else { return nil }
        let text = values.map(Field.collapsingWhitespace).filter { !$0.isEmpty }
        return text.count == 1 ? text[0] : nil
    }

    /// Runs a count-by plan and returns group value → count (missing values as "").
    static func groups(_ dql: String, _ loaded: Loaded, _ connection: RedisConnection) throws -> [String: Int] {
        guard case .count(let plan) = try Compiler(layout: loaded.layout).compile(dql) else { return [:] }
        let reply = try connection.call(RedisCommand(plan.command(offset: 0)))
        var result: [String: Int] = [:]
        for row in (reply.array ?? []).dropFirst().compactMap(\.array) {
            var fields: [String: String] = [:]
            for index in stride(from: 0, to: row.count - 1, by: 2) {
                if let key = row[index].string { fields[key] = row[index + 1].string ?? "" }
            }
            result[fields[plan.groupNames[0]] ?? "", default: 0] += Int(fields["count"] ?? "0") ?? 0
        }
        return result
    }

    static func names(_ dql: String, _ loaded: Loaded, _ connection: RedisConnection) throws -> [String] {
        guard case .find(let plan) = try Compiler(layout: loaded.layout).compile(dql) else { return [] }
        let reply = try connection.call(RedisCommand(plan.command(offset: 0, count: 10_000)))
        let items = reply.array ?? []
        var names: [String] = []
        for index in stride(from: 2, to: items.count, by: 2) {
            let fields = items[index].array ?? []
            for position in stride(from: 0, to: fields.count - 1, by: 2) where fields[position].string == "name" {
                names.append(fields[position + 1].string ?? "")
            }
        }
        return names.sorted()
    }

    @Test func countsAndFindsMatchTheOracle() throws {
        let connection = try TestRedis.connection()
        let loaded = try Self.load(connection)
        defer { _ = try? connection.send(["FT.DROPINDEX", loaded.layout.indexName, "DD"]) }
        #expect(loaded.files.count > 200)

        for (field, keyword) in [("protocol", "ProtocolName"), ("modality", "Modality"), ("sex", "PatientSex")] {
            var expected: [String: Int] = [:]
            for (file, _) in loaded.files { expected[Self.oracleText(file, keyword) ?? "", default: 0] += 1 }
            let found = try Self.groups("count by \(field)", loaded, connection)
            #expect(found == expected, "count by \(field)")
        }

        let count = try connection.call(RedisCommand(try Compiler(layout: loaded.layout).compile("count").commands[0]))
        #expect(count.array?.first?.integer == Int64(loaded.files.count))

        func expectedNames(_ predicate: (Oracle.File) -> Bool) -> [String] {
            loaded.files.filter { predicate($0.oracle) }.map(\.name).sorted()
        }
        func year(_ file: Oracle.File) -> Int? { Self.oracleText(file, "StudyDate").flatMap { Int($0.prefix(4)) } }
        func rows(_ file: Oracle.File) -> Int? { Self.oracleText(file, "Rows").flatMap { Int($0) } }
        #expect(try Self.names("find name where year = 2019", loaded, connection) == expectedNames { year($0) == 2019 })
        #expect(
            try Self.names("find name where rows >= 512", loaded, connection)
                == expectedNames { (rows($0) ?? 0) >= 512 })
        #expect(
            try Self.names("find name where modality = 'MR' and not sex = 'F'", loaded, connection)
                == expectedNames { Self.oracleText($0, "Modality") == "MR" && Self.oracleText($0, "PatientSex") != "F" }
        )
        #expect(
            try Self.names("find name where protocol='194' and year=2019", loaded, connection)
                == expectedNames { Self.oracleText($0, "ProtocolName") == "194" && year($0) == 2019 })
    }
}

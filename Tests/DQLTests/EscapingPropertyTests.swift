import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// Against the real Redis: documents whose values are drawn from characters that break naive
/// query building are indexed with dql's schema; every DQL condition on them finds exactly the
/// documents it should.
@Suite struct EscapingPropertyTests {
    /// Quotes, braces, pipes, at signs, backslashes, wildcards, dashes, colons, spaces, dots as
    /// in UIDs, parentheses, dollar signs, non-ASCII. Lower case only: TAG matching ignores
    /// ASCII case, which `caseIsIgnoredForText` checks on its own.
    static let alphabet = Array("'\"{}|@\\*-: .()$%~,;!?=<>[]^&#+/0123456789abcxyzéüøß日本語🙂\t")

    static func randomValue(_ random: inout SplitMix64) -> String {
        let length = Int(random.next() % 12)
        return String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
    }

    /// The value as a DQL string literal.
    static func literal(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    struct Document {
        var key: String
        var patient: String
        var protocolName: String
        var rows: Int
        var date: Int
    }

    /// Creates an index with dql's schema under a fresh prefix and loads the documents.
    static func setUp(_ connection: RedisConnection, count: Int, seed: UInt64) throws -> (StorageLayout, [Document]) {
        let layout = StorageLayout(prefix: "dqltest-\(UUID().uuidString.prefix(8))")
        try connection.call(
            RedisCommand(
                ["FT.CREATE", layout.indexName] + Schema.indexDefinition(documentPrefix: layout.documentPrefix)))
        var random = SplitMix64(seed: seed)
        var documents: [Document] = []
        var commands: [RedisCommand] = []
        for index in 0..<count {
            // Stored as dql stores header text: whitespace runs collapsed (the literals compared
            // with them are collapsed the same way).
            let document = Document(
                key: layout.documentKey(id: String(format: "%064x", index)),
                patient: Field.collapsingWhitespace(randomValue(&random)),
                protocolName: Field.collapsingWhitespace(randomValue(&random)), rows: Int(random.next() % 20),
                date: 20180101 + Int(random.next() % 3) * 10000 + Int(random.next() % 12) * 100)
            documents.append(document)
            let json = try JSONSerialization.data(withJSONObject: [
                "patientName": document.patient, "protocol": document.protocolName, "rows": document.rows,
                "studyDate": document.date, "studyYear": document.date / 10000, "name": "file\(index).dcm",
            ])
            commands.append(
                RedisCommand(arguments: [
                    Array("JSON.SET".utf8), Array(document.key.utf8), Array("$".utf8), Array(json),
                ]))
        }
        for reply in try connection.pipeline(commands) { _ = try reply.checked() }
        // Indexing of JSON documents is synchronous with JSON.SET; nothing to wait for.
        return (layout, documents)
    }

    static func tearDown(_ connection: RedisConnection, _ layout: StorageLayout) {
        _ = try? connection.send(["FT.DROPINDEX", layout.indexName, "DD"])
    }

    /// Runs a DQL find and returns the keys found.
    static func keys(_ dql: String, _ compiler: Compiler, _ connection: RedisConnection) throws -> Set<String> {
        guard case .find(var plan) = try compiler.compile(dql) else { throw TestSetupError("not a find: \(dql)") }
        plan.returnAttributes = []
        let reply = try connection.call(RedisCommand(plan.command(offset: 0, count: 10_000)))
        guard let items = reply.array, let total = items.first?.integer else {
            throw TestSetupError("bad reply \(reply)")
        }
        let keys = items.dropFirst().compactMap(\.string)
        #expect(Int(total) == keys.count, "the page holds every match")
        return Set(keys)
    }

    @Test func equalityInAndNotEqualOnNastyText() throws {
        let connection = try TestRedis.connection()
        let (layout, documents) = try Self.setUp(connection, count: 150, seed: 42)
        defer { Self.tearDown(connection, layout) }
        let compiler = Compiler(layout: layout)
        let all = Set(documents.map(\.key))
        var failures: [String] = []
        for document in documents {
            for (field, value) in [("patient", document.patient), ("protocol", document.protocolName)] {
                let expected = Set(
                    documents.filter { (field == "patient" ? $0.patient : $0.protocolName) == value }.map(\.key))
                let equal = try Self.keys("find where \(field) = \(Self.literal(value))", compiler, connection)
                if equal != expected {
                    failures.append(
                        "\(field) = \(value.debugDescription): \(equal.count) found, \(expected.count) expected")
                }
                let notEqual = try Self.keys("find where \(field) != \(Self.literal(value))", compiler, connection)
                if notEqual != all.subtracting(expected) {
                    failures.append(
                        "\(field) != \(value.debugDescription): \(notEqual.count) found, \(all.count - expected.count) expected"
                    )
                }
            }
        }
        for pair in stride(from: 0, to: documents.count - 1, by: 2) {
            let (first, second) = (documents[pair], documents[pair + 1])
            let expected = Set(
                documents.filter { $0.patient == first.patient || $0.patient == second.patient }.map(\.key))
            let found = try Self.keys(
                "find where patient in (\(Self.literal(first.patient)), \(Self.literal(second.patient)))", compiler,
                connection)
            if found != expected {
                failures.append("in (\(first.patient.debugDescription), \(second.patient.debugDescription))")
            }
        }
        #expect(failures.isEmpty, Comment(rawValue: failures.prefix(20).joined(separator: "\n")))
    }

    @Test func numericRangesAndDates() throws {
        let connection = try TestRedis.connection()
        let (layout, documents) = try Self.setUp(connection, count: 120, seed: 7)
        defer { Self.tearDown(connection, layout) }
        let compiler = Compiler(layout: layout)
        var failures: [String] = []
        func check(_ dql: String, _ predicate: (Document) -> Bool) throws {
            let expected = Set(documents.filter(predicate).map(\.key))
            let found = try Self.keys(dql, compiler, connection)
            if found != expected { failures.append("\(dql): \(found.count) found, \(expected.count) expected") }
        }
        for value in 0..<20 {
            try check("find where rows = \(value)") { $0.rows == value }
            try check("find where rows != \(value)") { $0.rows != value }
            try check("find where rows < \(value)") { $0.rows < value }
            try check("find where rows <= \(value)") { $0.rows <= value }
            try check("find where rows > \(value)") { $0.rows > value }
            try check("find where rows >= \(value)") { $0.rows >= value }
            try check("find where rows between \(value) and \(value + 3)") { (value...value + 3).contains($0.rows) }
            try check("find where rows in (\(value), \(value + 5))") { $0.rows == value || $0.rows == value + 5 }
        }
        for year in 2017...2021 {
            try check("find where year = \(year)") { $0.date / 10000 == year }
            try check("find where year < \(year)") { $0.date / 10000 < year }
            try check("find where year >= \(year)") { $0.date / 10000 >= year }
            try check("find where date between \(year)-03-01 and \(year)-08-31") {
                (year * 10000 + 301...year * 10000 + 831).contains($0.date)
            }
        }
        try check("find where rows > 5 and (year = 2018 or not patient = '')") {
            $0.rows > 5 && ($0.date / 10000 == 2018 || $0.patient != "")
        }
        #expect(failures.isEmpty, Comment(rawValue: failures.prefix(20).joined(separator: "\n")))
    }

    /// An empty index with dql's schema under a fresh prefix.
    static func emptyIndex(_ connection: RedisConnection) throws -> StorageLayout {
        let layout = StorageLayout(prefix: "dqltest-\(UUID().uuidString.prefix(8))")
        try connection.call(
            RedisCommand(
                ["FT.CREATE", layout.indexName] + Schema.indexDefinition(documentPrefix: layout.documentPrefix)))
        return layout
    }

    @Test func caseIsIgnoredForText() throws {
        let connection = try TestRedis.connection()
        let layout = try Self.emptyIndex(connection)
        defer { Self.tearDown(connection, layout) }
        try connection.call(
            "JSON.SET", layout.documentKey(id: "a"), "$", #"{"protocol":"T/S/C RF FAST PILOT","modality":"MR"}"#)
        let compiler = Compiler(layout: layout)
        #expect(try Self.keys("find where protocol = 't/s/c rf fast pilot'", compiler, connection).count == 1)
        #expect(try Self.keys("find where protocol like 't/s*'", compiler, connection).count == 1)
        #expect(try Self.keys("find where protocol contains 'Fast'", compiler, connection).count == 1)
        #expect(try Self.keys("find where modality = 'mr'", compiler, connection).count == 1)
        #expect(try Self.keys("find where bodyPart is missing", compiler, connection).count == 1)
        #expect(try Self.keys("find where modality is missing", compiler, connection).isEmpty)
    }

    /// The server lower-cases only ASCII letters, in the index and in queries; `contains`
    /// finds a word whatever the case of its other letters, written as the user likes.
    @Test func containsIgnoresTheCaseOfNonASCIILetters() throws {
        let connection = try TestRedis.connection()
        let layout = try Self.emptyIndex(connection)
        defer { Self.tearDown(connection, layout) }
        for (id, name) in [
            ("a", "Jérôme^Dupont"), ("b", "JÉRÔME^DUPONT"), ("c", "jérôme^dupont"), ("d", "Jerome^Dupont"),
        ] {
            try connection.call("JSON.SET", layout.documentKey(id: id), "$", #"{"patientName":"\#(name)"}"#)
        }
        let compiler = Compiler(layout: layout)
        let accented = Set(["a", "b", "c"].map { layout.documentKey(id: $0) })
        for word in ["JÉRÔME", "Jérôme", "jérôme", "jÉrÔme"] {
            #expect(try Self.keys("find where patient contains '\(word)'", compiler, connection) == accented, "\(word)")
        }
        #expect(try Self.keys("find where patient contains 'dupont'", compiler, connection).count == 4)
        #expect(try Self.keys("find where patient contains 'jerome'", compiler, connection).count == 1)
    }
}

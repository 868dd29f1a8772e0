import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// Every command shape the compiler produces runs on the real server against an index created
/// from the schema: no syntax the server rejects, and the documented results.
@Suite struct ServerAcceptanceTests {
    static let statements = [
        "find", "find *", "find where protocol='194' and year=2019 fetch to ./out", "count by protocol",
        "find name, rows, columns where modality = 'MR' and rows >= 256 order by size desc limit 10",
        "find where patient contains 'tarou' or patientId in ('H31EXAMPLE', 'H32EXAMPLE')",
        "find where date between 2019-01-01 and 2019-06-30 and bodyPart is missing",
        "find where protocol like 'T/S*' limit 5 offset 5", "count",
        "count where manufacturer = 'SIEMENS' by modality, year order by year desc limit 5",
        "count by sex order by sex", "count by year", "show 'CT_small.dcm'", "delete where name = 'x.dcm'",
        "find where not (modality = 'CT' or rows < 3) and size > 1KB order by date",
        "explain find where modality = 'CT'",
    ]

    @Test func everyCompiledCommandRuns() throws {
        let connection = try TestRedis.connection()
        let layout = StorageLayout(prefix: "dqltest-\(UUID().uuidString.prefix(8))")
        try connection.call(
            RedisCommand(
                ["FT.CREATE", layout.indexName] + Schema.indexDefinition(documentPrefix: layout.documentPrefix)))
        defer { _ = try? connection.send(["FT.DROPINDEX", layout.indexName, "DD"]) }
        let documents = [
            #"{"name":"a.dcm","protocol":"194","studyDate":20190305,"studyYear":2019,"modality":"MR","rows":512,"size":9000,"manufacturer":"SIEMENS","sex":"F"}"#,
            #"{"name":"b.dcm","protocol":"T/S/C RF FAST PILOT","studyDate":20180101,"studyYear":2018,"modality":"MR","rows":256,"size":100,"manufacturer":"SIEMENS","sex":"M"}"#,
            #"{"name":"c.dcm","protocol":"T/S/C RF FAST PILOT","studyDate":20190601,"studyYear":2019,"modality":"CT","rows":2,"size":5000,"patientName":"Yamada^Tarou"}"#,
        ]
        for (index, json) in documents.enumerated() {
            try connection.call("JSON.SET", layout.documentKey(id: String(index)), "$", json)
        }
        let compiler = Compiler(layout: layout)
        for statement in Self.statements {
            let plan = try compiler.compile(statement)
            for command in plan.commands {
                let reply = try connection.send(RedisCommand(command))
                #expect(reply.errorMessage == nil, "\(statement): \(reply)")
            }
            if case .explain(_, let explain?) = plan {
                let reply = try connection.send(RedisCommand(explain))
                #expect(reply.string?.contains("TAG:@modality") == true, "\(reply)")
            }
        }
        // The demo's scenario 3 shape: groups with counts, largest first.
        guard case .count(let byProtocol) = try compiler.compile("count by protocol") else { return }
        let rows = try connection.call(RedisCommand(byProtocol.command(offset: 0))).array ?? []
        let groups = rows.dropFirst().compactMap(\.array).map { row in
            Dictionary(
                uniqueKeysWithValues: stride(from: 0, to: row.count - 1, by: 2).compactMap {
                    index -> (String, String)? in
                    guard let key = row[index].string, let value = row[index + 1].string else { return nil }
                    return (key, value)
                })
        }
        #expect(groups.map { $0["protocol"] } == ["T/S/C RF FAST PILOT", "194"])
        #expect(groups.map { $0["count"] } == ["2", "1"])
        // Scenario 2 shape: protocol 194 in 2019 finds exactly a.dcm.
        guard case .find(let scenario2) = try compiler.compile("find where protocol='194' and year=2019") else {
            return
        }
        let found = try connection.call(RedisCommand(scenario2.command(offset: 0, count: 10))).array ?? []
        #expect(found.first?.integer == 1)
        #expect(found.dropFirst().first?.string == layout.documentKey(id: "0"))
    }
}

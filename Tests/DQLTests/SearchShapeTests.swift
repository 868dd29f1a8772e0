import RedisIO
import Testing

@testable import DQL

/// The coordinator's reading of the queries it merges, without a server: what each bucket is
/// asked, the server's order of sort keys, and commands it does not know refused, never
/// trapped on.
@Suite struct SearchShapeTests {
    @Test func aSearchAsksEachBucketForTheRowsUpToTheEndOfThePage() throws {
        let shape = try SearchShape([
            "FT.SEARCH", "idx", "@modality:{CT}", "RETURN", "1", "name", "SORTBY", "size", "DESC", "LIMIT", "20", "10",
            "DIALECT", "2",
        ])
        #expect(
            shape.shardCommand(index: "b1")
                == [
                    "FT.SEARCH", "b1", "@modality:{CT}", "WITHSORTKEYS", "RETURN", "1", "name", "SORTBY", "size",
                    "DESC",
                    "LIMIT", "0", "30", "DIALECT", "2",
                ])
        let count = try SearchShape(["FT.SEARCH", "idx", "*", "LIMIT", "0", "0"])
        #expect(count.shardCommand(index: "b2") == ["FT.SEARCH", "b2", "*", "LIMIT", "0", "0"])
    }

    @Test func sortKeysGoInTheServersOrder() {
        #expect(SearchShape.sortKey("#9", precedes: "#10", descending: false))
        #expect(!SearchShape.sortKey("#9", precedes: "#10", descending: true))
        #expect(SearchShape.sortKey("$Abc", precedes: "$abc", descending: false))
        #expect(SearchShape.sortKey("$b", precedes: nil, descending: false))
        #expect(!SearchShape.sortKey(nil, precedes: "$b", descending: false))
    }

    @Test func mergedPagesAreCutAfterTheMerge() throws {
        let shape = try SearchShape(["FT.SEARCH", "idx", "*", "NOCONTENT", "SORTBY", "size", "LIMIT", "1", "2"])
        func reply(_ rows: [(String, Int)]) -> RedisReply {
            .array(
                [.integer(Int64(rows.count))]
                    + rows.flatMap { [RedisReply.bulk(Array($0.0.utf8)), .bulk(Array("#\($0.1)".utf8))] })
        }
        let merged = try shape.merge([reply([("a", 1), ("c", 5)]), reply([("b", 3), ("d", 7)])])
        #expect(merged == .array([.integer(4), .bulk(Array("b".utf8)), .bulk(Array("c".utf8))]))
    }

    @Test func anAggregateKeepsItsFirstGroupingOnEachBucketAndTheRestHere() throws {
        let shape = try AggregateShape(
            [
                "FT.AGGREGATE", "idx", "*", "TIMEOUT", "100", "GROUPBY", "1", "@modality", "REDUCE", "COUNT_DISTINCT",
                "1",
                "@patientId", "AS", "patients", "REDUCE", "COUNT_DISTINCT", "1", "@studyUid", "AS", "studies", "SORTBY",
                "2", "@patients", "DESC", "MAX", "3", "PARAMS", "2", "p0", "x", "DIALECT", "2",
            ], aligned: "studyUid")
        #expect(
            shape.shardCommand(index: "b1")
                == [
                    "FT.AGGREGATE", "b1", "*", "TIMEOUT", "100", "GROUPBY", "1", "@modality", "REDUCE", "TOLIST", "1",
                    "@patientId", "AS", "patients", "REDUCE", "COUNT_DISTINCT", "1", "@studyUid", "AS", "studies",
                    "PARAMS", "2", "p0", "x", "DIALECT", "2",
                ])
        // Patients in two buckets are counted once; studies (one bucket each) summed.
        func row(_ modality: String, _ patients: [String], _ studies: Int) -> RedisReply {
            .array([
                .bulk(Array("modality".utf8)), .bulk(Array(modality.utf8)), .bulk(Array("patients".utf8)),
                .array(patients.map { .bulk(Array($0.utf8)) }), .bulk(Array("studies".utf8)),
                .bulk(Array(String(studies).utf8)),
            ])
        }
        let merged = try AggregateRows(
            shape.merge(
                [
                    .array([.integer(1), row("CT", ["p1", "p2"], 2)]),
                    .array([.integer(1), row("CT", ["p2", "p3"], 3)]),
                ],
                isNumeric: { _ in false })
        ).rows
        #expect(merged == [["modality": "CT", "patients": "3", "studies": "5"]])
    }

    @Test func commandsItDoesNotKnowAreRefused() {
        for argv in [
            ["FT.AGGREGATE", "idx", "*", "APPLY", "@x", "AS", "y"], ["FT.AGGREGATE", "idx", "*", "GROUPBY", "5", "@a"],
            ["FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@a", "REDUCE", "COUNT", "9"],
            ["FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@a", "SORTBY", "4", "@a"],
            ["FT.AGGREGATE", "idx", "*", "LIMIT", "x", "1"], ["FT.AGGREGATE", "idx", "*"],
        ] {
            #expect(throws: RedisError.self, "\(argv)") { try AggregateShape(argv, aligned: "studyUid") }
        }
        #expect(throws: RedisError.self) { try SearchShape(["FT.SEARCH", "idx", "*", "LIMIT", "1"]) }
    }
}

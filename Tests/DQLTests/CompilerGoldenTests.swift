import Foundation
import Testing

@testable import DQL

/// Statement text → the exact argv sent to Redis.
@Suite struct CompilerGoldenTests {
    let compiler = Compiler()
    let index = "dql:{m}:idx"

    func argv(_ source: String) throws -> [[String]] {
        try compiler.compile(source).commands
    }

    func search(
        _ query: String, params: [String] = [], returning: [String] = defaultReturn, limit: [String] = ["0", "1000"],
        sort: [String] = []
    ) -> [String] {
        // Word searches say VERBATIM (no stemming).
        var argv = ["FT.SEARCH", index, query] + (query.contains("_words:") ? ["VERBATIM"] : [])
        argv += returning.isEmpty ? ["NOCONTENT"] : ["RETURN", String(returning.count)] + returning
        argv += sort + ["LIMIT"] + limit + ["TIMEOUT", "10000"]
        if !params.isEmpty { argv += ["PARAMS", String(params.count)] + params }
        return argv + ["DIALECT", "2"]
    }

    static let defaultReturn = ["name", "patient", "modality", "protocol", "studyDate", "size"]

    // MARK: The user's examples, exactly as written

    @Test func findByProtocolAndYearThenFetch() throws {
        let plan = try compiler.compile("find where protocol='194' and year=2019 fetch to ./out")
        #expect(
            plan.commands == [
                search(
                    "(@protocol:{$p0} @studyYear:[$p1 $p2])",
                    params: ["p0", "194", "p1", "2019", "p2", "2019"],
                    returning: Self.defaultReturn + ["sha256", "$.chunkSize", "$.xxh3"])
            ])
        guard case .find(let find) = plan else { Issue.record("not a find"); return }
        #expect(find.fetchDirectory?.text == "./out")
        #expect(find.limit == nil)
    }

    @Test func countByProtocol() throws {
        #expect(
            try argv("count by protocol") == [
                [
                    "FT.AGGREGATE", index, "*", "TIMEOUT", "10000", "GROUPBY", "1", "@protocol", "REDUCE", "COUNT", "0",
                    "AS",
                    "count", "SORTBY", "4", "@count", "DESC", "@protocol", "ASC", "MAX", "1000", "LIMIT", "0", "1000",
                    "DIALECT", "2",
                ]
            ])
    }

    // MARK: levels

    static let studyReducers = [
        "GROUPBY", "1", "@studyUid", "REDUCE", "FIRST_VALUE", "1", "@studyDate", "AS", "date", "REDUCE", "FIRST_VALUE",
        "1", "@patientId", "AS", "patientId", "REDUCE", "FIRST_VALUE", "1", "@patient", "AS", "patient", "REDUCE",
        "FIRST_VALUE", "1", "@accession", "AS", "accession", "REDUCE", "FIRST_VALUE", "1", "@study", "AS", "study",
        "REDUCE", "FIRST_VALUE", "1", "@referrer", "AS", "referrer", "REDUCE", "TOLIST", "1", "@modality", "AS",
        "modalities", "REDUCE",
        "COUNT_DISTINCT", "1", "@seriesUid", "AS", "numberOfSeries", "REDUCE", "COUNT", "0", "AS", "numberOfInstances",
        "REDUCE", "SUM", "1", "@size", "AS", "size",
    ]

    @Test func findStudiesByTheirKeyIsOneAggregate() throws {
        let query = "(@studyUid:{$p0}) -ismissing(@studyUid)"
        #expect(
            try argv("find studies where studyUid = '1.2' limit 10") == [
                ["FT.AGGREGATE", index, query, "TIMEOUT", "10000"] + Self.studyReducers + [
                    "SORTBY", "4", "@date", "DESC", "@studyUid", "ASC", "MAX", "10", "LIMIT", "0", "10", "PARAMS", "2",
                    "p0", "1.2", "DIALECT", "2",
                ],
                [
                    "FT.AGGREGATE", index, query, "TIMEOUT", "10000", "GROUPBY", "0", "REDUCE", "COUNT_DISTINCT", "1",
                    "@studyUid", "AS", "total", "PARAMS", "2", "p0", "1.2", "DIALECT", "2",
                ],
            ])
        // A patient's studies: that patient's instances, one aggregate; a series' modality: keys
        // first, then the rows of those keys.
        for (statement, byKeys) in [
            ("find studies where patientId = 'P1'", true),
            ("find series where studyUid = '1.2' and patientId = 'P'", true),
            ("find series where modality = 'CT'", false), ("find patients where studyUid = '1.2'", false),
        ] {
            guard case .findLevel(let plan) = try compiler.compile(statement) else {
                Issue.record("not a level find: \(statement)")
                continue
            }
            #expect(plan.selectsByKeys == byKeys, "\(statement)")
        }
    }

    @Test func findStudiesByAnInstanceConditionReadsKeysThenRows() throws {
        #expect(
            try argv("find studies where modality = 'MR' order by numberOfInstances desc") == [
                [
                    "FT.AGGREGATE", index, "(@modality:{$p0}) -ismissing(@studyUid)", "TIMEOUT", "10000", "GROUPBY",
                    "1", "@studyUid", "SORTBY", "2", "@studyUid", "ASC", "MAX", "1000", "LIMIT", "0", "1000", "PARAMS",
                    "2", "p0", "MR", "DIALECT", "2",
                ],
                ["FT.AGGREGATE", index, "@studyUid:{$p0}", "TIMEOUT", "10000"] + Self.studyReducers + [
                    "LIMIT", "0", "1", "PARAMS", "2", "p0", "$KEYS", "DIALECT", "2",
                ],
            ])
    }

    @Test func findSeriesAndPatientsGroupByTheirKeys() throws {
        let series = try argv("find series seriesUid, numberOfInstances where studyUid = '1.2' order by seriesUid")
        #expect(
            series[0].prefix(8) == [
                "FT.AGGREGATE", index, "(@studyUid:{$p0}) -ismissing(@seriesUid)", "TIMEOUT", "10000", "GROUPBY", "1",
                "@seriesUid",
            ])
        #expect(
            Array(series[0].suffix(15)) == [
                "SORTBY", "2", "@seriesUid", "ASC", "MAX", "1000", "LIMIT", "0", "1000", "PARAMS", "2", "p0", "1.2",
                "DIALECT", "2",
            ])
        let patients = try argv("find patients")
        #expect(
            patients[0].prefix(8) == [
                "FT.AGGREGATE", index, "-ismissing(@patientId)", "TIMEOUT", "10000", "GROUPBY", "1", "@patientId",
            ])
        #expect(patients[0].contains("numberOfStudies"))
    }

    @Test func deleteAPatientsStudiesTakesThatPatientsInstancesOfThem() throws {
        guard case .deleteLevel(let plan) = try compiler.compile("delete studies where patientId = 'P'") else {
            Issue.record("not a delete of studies")
            return
        }
        #expect(
            plan.instancePlan(keys: ["1.2", "1.3"], returning: []).command(offset: 0, count: 0) == [
                "FT.SEARCH", index, "((@patientId:{$p0}) -ismissing(@studyUid)) @studyUid:{$p1 | $p2}", "NOCONTENT",
                "LIMIT", "0", "0", "TIMEOUT", "10000", "PARAMS", "6", "p0", "P", "p1", "1.2", "p2", "1.3", "DIALECT",
                "2",
            ])
    }

    @Test func showAStudyIsItsRowThenItsSeries() throws {
        let commands = try argv("show study '1.2.3'")
        #expect(commands.count == 4)
        #expect(
            commands[0] == ["FT.AGGREGATE", index, "(@studyUid:{$p0}) -ismissing(@studyUid)", "TIMEOUT", "10000"]
                + Self.studyReducers + [
                    "SORTBY", "4", "@date", "DESC", "@studyUid", "ASC", "MAX", "1000", "LIMIT", "0", "1000", "PARAMS",
                    "2", "p0", "1.2.3", "DIALECT", "2",
                ])
        #expect(
            commands[2].prefix(8) == [
                "FT.AGGREGATE", index, "(@studyUid:{$p0}) -ismissing(@seriesUid)", "TIMEOUT", "10000", "GROUPBY", "1",
                "@seriesUid",
            ])
        let series = try argv("show series '1.2.3.4'")
        #expect(
            series[2]
                == search(
                    "@seriesUid:{$p0}", params: ["p0", "1.2.3.4"],
                    returning: ["name", "sopUid", "rows", "columns", "frames", "size"], sort: ["SORTBY", "name", "ASC"])
        )
        // `show study` alone is the file named study.
        guard case .show(let lookup) = try compiler.compile("show study") else {
            Issue.record("show study is not a file's show")
            return
        }
        #expect(lookup.given == "study")
    }

    @Test func countAtALevelCountsDistinctKeys() throws {
        #expect(
            try argv("count studies where modality = 'CT'") == [
                [
                    "FT.AGGREGATE", index, "(@modality:{$p0}) -ismissing(@studyUid)", "TIMEOUT", "10000", "GROUPBY",
                    "0", "REDUCE", "COUNT_DISTINCT", "1", "@studyUid", "AS", "count", "PARAMS", "2", "p0", "CT",
                    "DIALECT", "2",
                ]
            ])
        #expect(
            try argv("count series by modality limit 5")[0] == [
                "FT.AGGREGATE", index, "-ismissing(@seriesUid)", "TIMEOUT", "10000", "GROUPBY", "1", "@modality",
                "REDUCE", "COUNT_DISTINCT", "1", "@seriesUid", "AS", "count", "SORTBY", "4", "@count", "DESC",
                "@modality", "ASC", "MAX", "5", "LIMIT", "0", "5", "DIALECT", "2",
            ])
        // `find series, patient`: the Series Description field in a list, not the level.
        guard case .find(let plan) = try compiler.compile("find series, patient") else {
            Issue.record("find series, patient is not a find of files")
            return
        }
        #expect(plan.columns.map(\.name) == ["series", "patient"])
    }

    @Test func deleteAtALevelReadsTheKeysOfTheMatchingRows() throws {
        guard case .deleteLevel(let plan) = try compiler.compile("delete series where modality = 'SR'") else {
            Issue.record("not a delete of series")
            return
        }
        #expect(plan.level == .series && !plan.selectsByKeys)
        #expect(
            plan.keysCommand(offset: 0, count: 1000) == [
                "FT.AGGREGATE", index, "(@modality:{$p0}) -ismissing(@seriesUid)", "TIMEOUT", "10000", "GROUPBY", "1",
                "@seriesUid", "SORTBY", "2", "@seriesUid", "ASC", "MAX", "1000", "LIMIT", "0", "1000", "PARAMS", "2",
                "p0", "SR", "DIALECT", "2",
            ])
        #expect(
            plan.instancePlan(keys: ["1.2", "1.3"], returning: []).command(offset: 0, count: 0) == [
                "FT.SEARCH", index, "@seriesUid:{$p0 | $p1}", "NOCONTENT", "LIMIT", "0", "0", "TIMEOUT", "10000",
                "PARAMS", "4", "p0", "1.2", "p1", "1.3", "DIALECT", "2",
            ])
    }

    // MARK: attributes

    @Test func anAttributeTheIndexDoesNotHoldNarrowsWithTheIndexedTermsAndReadsHeaders() throws {
        guard
            case .scan(let plan) = try compiler.compile(
                "find name, SliceThickness where modality = 'CT' and SliceThickness < 2 order by SliceThickness desc")
        else {
            Issue.record("not a scan")
            return
        }
        #expect(
            plan.commands == [
                search(
                    "@modality:{$p0}", params: ["p0", "CT"],
                    returning: ["sha256", "name", "size", "$.chunkSize", "$.headerLength"])
            ])
        #expect(plan.headerFields.map(\.name) == ["SliceThickness"])
        #expect(plan.residual?.fields.map(\.name) == ["SliceThickness"])
        #expect(plan.order?.field.field.name == "SliceThickness" && plan.order?.direction == .descending)
        // An `or` that touches an attribute is evaluated whole: nothing narrows.
        guard case .scan(let whole) = try compiler.compile("count where modality = 'CT' or (0018,0060) > 100") else {
            Issue.record("not a scan")
            return
        }
        #expect(whole.search.query.text == "*")
        #expect(whole.headerFields.map(\.name) == ["KVP"])
        // A friendly field named by its keyword or tag is the friendly field.
        #expect(try argv("count where (0008,0060) = 'CT'") == argv("count where modality = 'CT'"))
        #expect(try argv("count where PatientSex = 'F'") == argv("count where sex = 'F'"))
    }

    @Test func anIndexedAttributeIsAFieldLikeAnyOther() throws {
        #expect(
            try argv("index SliceThickness") == [
                [
                    "FT.ALTER", index, "SCHEMA", "ADD", "$.a.SliceThickness", "AS", "a_SliceThickness", "NUMERIC",
                    "INDEXMISSING",
                ]
            ])
        #expect(
            try argv("index (0019,10a1)") == [
                [
                    "FT.ALTER", index, "SCHEMA", "ADD", "$.a.x001910A1", "AS", "a_x001910A1", "TAG", "INDEXEMPTY",
                    "INDEXMISSING",
                ]
            ])
        let field = try #require(AttributeFields.field(named: "SliceThickness"))
        let indexed = IndexedAttributes.indexed(field)
        let withIndex = Compiler(indexedAttributes: [try #require(field.tag): indexed])
        #expect(
            try withIndex.compile("count where SliceThickness < 2").commands == [
                [
                    "FT.SEARCH", index, "@a_SliceThickness:[-inf ($p0]", "LIMIT", "0", "0", "TIMEOUT", "10000",
                    "PARAMS",
                    "2", "p0", "2", "DIALECT", "2",
                ]
            ])
        #expect(
            try withIndex.compile("find name, SliceThickness where SliceThickness = 1").commands == [
                search(
                    "@a_SliceThickness:[$p0 $p1]", params: ["p0", "1", "p1", "1"],
                    returning: ["name", "a_SliceThickness"])
            ])
    }

    // MARK: find

    @Test func findEverything() throws {
        #expect(try argv("find") == [search("*")])
        #expect(try argv("FIND;") == [search("*")])
    }

    @Test func findWithProjectionOrderLimitOffset() throws {
        #expect(
            try argv("find name, rows where modality = 'CT' order by size desc limit 5 offset 10")
                == [
                    search(
                        "@modality:{$p0}", params: ["p0", "CT"], returning: ["name", "rows"], limit: ["10", "5"],
                        sort: ["SORTBY", "size", "DESC"])
                ])
    }

    @Test func findStarReturnsEveryField() throws {
        let plan = try compiler.compile("find * limit 1")
        guard case .find(let find) = plan else { Issue.record("not a find"); return }
        #expect(find.columns.count == Schema.fields.count)
        #expect(find.returnAttributes.contains("studyDate"))
        #expect(find.returnAttributes.count == Set(find.returnAttributes).count)
    }

    @Test func limitSmallerThanAPageAsksForExactlyThat() throws {
        #expect(try argv("find limit 3") == [search("*", limit: ["0", "3"])])
    }

    // MARK: Operators

    @Test(
        arguments: [
            ("modality = 'CT'", "@modality:{$p0}", ["p0", "CT"]),
            ("modality != 'CT'", "-@modality:{$p0}", ["p0", "CT"]),
            ("modality <> CT", "-@modality:{$p0}", ["p0", "CT"]),
            ("modality in ('CT', 'MR')", "@modality:{$p0 | $p1}", ["p0", "CT", "p1", "MR"]),
            ("modality not in ('CT')", "-@modality:{$p0}", ["p0", "CT"]),
            ("protocol like 'T/S*'", "@protocol:{w'$p0'}", ["p0", "T/S*"]),
            ("protocol contains 'fast pilot'", "@protocol_words:($p0 $p1)", ["p0", "fast", "p1", "pilot"]),
            ("protocol not contains 'brain'", "-@protocol_words:($p0)", ["p0", "brain"]),
            ("bodyPart is missing", "ismissing(@bodyPart)", []),
            ("bodyPart is not missing", "-ismissing(@bodyPart)", []),
            ("rows = 512", "@rows:[$p0 $p1]", ["p0", "512", "p1", "512"]),
            ("rows != 512", "-@rows:[$p0 $p1]", ["p0", "512", "p1", "512"]),
            ("rows < 512", "@rows:[-inf ($p0]", ["p0", "512"]),
            ("rows <= 512", "@rows:[-inf $p0]", ["p0", "512"]),
            ("rows > 512", "@rows:[($p0 +inf]", ["p0", "512"]),
            ("rows >= 512", "@rows:[$p0 +inf]", ["p0", "512"]),
            ("rows between 64 and 128", "@rows:[$p0 $p1]", ["p0", "64", "p1", "128"]),
            (
                "rows in (1, 2.5)", "(@rows:[$p0 $p1] | @rows:[$p2 $p3])",
                ["p0", "1", "p1", "1", "p2", "2.5", "p3", "2.5"]
            ),
            ("size > 1.5MB", "@size:[($p0 +inf]", ["p0", "1572864"]),
            ("date = 2019-03-05", "@studyDate:[$p0 $p1]", ["p0", "20190305", "p1", "20190305"]),
            ("date = 20190305", "@studyDate:[$p0 $p1]", ["p0", "20190305", "p1", "20190305"]),
            ("date between 2019-01-01 and 2019-06-30", "@studyDate:[$p0 $p1]", ["p0", "20190101", "p1", "20190630"]),
            ("date >= '2019-03-05'", "@studyDate:[$p0 +inf]", ["p0", "20190305"]),
            ("year = 2019", "@studyYear:[$p0 $p1]", ["p0", "2019", "p1", "2019"]),
            ("year < 2019", "@studyYear:[-inf ($p0]", ["p0", "2019"]),
            ("year > 2019", "@studyYear:[($p0 +inf]", ["p0", "2019"]),
            ("year between 2018 and 2019", "@studyYear:[$p0 $p1]", ["p0", "2018", "p1", "2019"]),
            ("patientId = 'x'", "@patientId:{$p0}", ["p0", "x"]),
            ("PatientID = x", "@patientId:{$p0}", ["p0", "x"]),
            ("protocol = 194", "@protocol:{$p0}", ["p0", "194"]),
            // Numbers and dates compared with text are the text as written.
            ("patientId = 007", "@patientId:{$p0}", ["p0", "007"]),
            ("patientId in (1.50, 2019-01-01)", "@patientId:{$p0 | $p1}", ["p0", "1.50", "p1", "2019-01-01"]),
            // like: escaped wildcards without real ones are an exact value; a literal
            // backslash goes to the server as four.
            ("name like 'star\\\\*.dcm'", "@names:{$p0}", ["p0", "star*.dcm"]),
            ("name like 'q\\\\?.dcm'", "@names:{$p0}", ["p0", "q?.dcm"]),
            ("name like 'a\\\\\\\\b*'", "@names:{w'$p0'}", ["p0", "a\\\\\\\\b*"]),
            ("name like 'a\\\\\\\\b'", "@names:{$p0}", ["p0", "a\\\\b"]),
            // contains folds case beyond ASCII: each word in lower and upper case.
            (
                "patient contains 'JÉRÔME dupont'", "@patient_words:(($p0|$p1) $p2)",
                ["p0", "jérôme", "p1", "JÉRÔME", "p2", "dupont"]
            ),
            // Words are cut where the index cuts them: `_` is part of a word, `/` is not.
            ("name contains 'MR_small'", "@name_words:($p0)", ["p0", "mr_small"]),
            (
                "protocol contains 'T1/T2, axial'", "@protocol_words:($p0 $p1 $p2)",
                ["p0", "t1", "p1", "t2", "p2", "axial"]
            ),
        ] as [(String, String, [String])])
    func operatorCompilesToQuery(condition: String, query: String, params: [String]) throws {
        #expect(try argv("find where " + condition) == [search(query, params: params)])
    }

    @Test func booleanStructure() throws {
        #expect(
            try argv("find where modality = 'CT' and (sex = 'F' or sex = 'M') and not rows < 10")
                == [
                    search(
                        "(@modality:{$p0} (@sex:{$p1} | @sex:{$p2}) -@rows:[-inf ($p3])",
                        params: ["p0", "CT", "p1", "F", "p2", "M", "p3", "10"])
                ])
        #expect(try argv("find where not not modality = 'CT'") == [search("@modality:{$p0}", params: ["p0", "CT"])])
        #expect(
            try argv("find where modality = 'CT' or modality = 'MR' or modality = 'US'")
                == [
                    search(
                        "(@modality:{$p0} | @modality:{$p1} | @modality:{$p2})",
                        params: ["p0", "CT", "p1", "MR", "p2", "US"])
                ])
    }

    @Test func nastyValuesStayInParams() throws {
        let nasty = "a'b\"c|d{e}@f\\g*h-i:j k.l é ''"
        let escaped = nasty.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        // Backslashes are doubled: a TAG parameter reads \\ as one backslash.
        let asParameter = nasty.replacingOccurrences(of: "\\", with: "\\\\")
        // The backslash also splits the value into the values of a multi-valued attribute.
        #expect(
            try argv("find where patient = '\(escaped)'") == [
                search(
                    "(@patient:{$p0} | (@patient:{$p1} @patient:{$p2}))",
                    params: ["p0", asParameter, "p1", "a'b\"c|d{e}@f", "p2", "g*h-i:j k.l é ''"])
            ])
    }

    @Test func aValueWithABackslashAlsoMatchesEachOfMultipleValues() throws {
        #expect(
            try argv("find where protocol = 'back\\\\slash'") == [
                search(
                    "(@protocol:{$p0} | (@protocol:{$p1} @protocol:{$p2}))",
                    params: ["p0", "back\\\\slash", "p1", "back", "p2", "slash"])
            ])
        #expect(try argv("find where protocol = 'plain'") == [search("@protocol:{$p0}", params: ["p0", "plain"])])
    }

    // MARK: count

    @Test func countVariants() throws {
        #expect(
            try argv("count") == [["FT.SEARCH", index, "*", "LIMIT", "0", "0", "TIMEOUT", "10000", "DIALECT", "2"]])
        #expect(
            try argv("count where modality = 'MR'")
                == [
                    [
                        "FT.SEARCH", index, "@modality:{$p0}", "LIMIT", "0", "0", "TIMEOUT", "10000", "PARAMS", "2",
                        "p0", "MR", "DIALECT", "2",
                    ]
                ])
        #expect(
            try argv("count by modality, year order by year desc limit 3") == [
                [
                    "FT.AGGREGATE", index, "*", "TIMEOUT", "10000", "GROUPBY", "2", "@modality", "@studyYear", "REDUCE",
                    "COUNT", "0", "AS", "count", "SORTBY", "4", "@studyYear", "DESC", "@modality", "ASC", "MAX", "3",
                    "LIMIT", "0", "3", "DIALECT", "2",
                ],
                [
                    "FT.AGGREGATE", index, "*", "TIMEOUT", "10000", "GROUPBY", "2", "@modality", "@studyYear",
                    "GROUPBY",
                    "0", "REDUCE", "COUNT", "0", "AS", "groups", "DIALECT", "2",
                ],
            ])
        #expect(try argv("count by sex order by count asc").first?.contains("@count") == true)
    }

    // MARK: Other statements

    @Test func showAndFetchByNameOrId() throws {
        #expect(
            try argv("show 'CT_small.dcm'") == [
                [
                    "FT.SEARCH", index, "@names:{$p0}", "NOCONTENT", "LIMIT", "0", "2", "TIMEOUT", "10000", "PARAMS",
                    "2", "p0",
                    "CT_small.dcm", "DIALECT", "2",
                ]
            ])
        #expect(try argv("show CT_small.dcm") == argv("show 'CT_small.dcm'"))
        let id = String(repeating: "ab", count: 32)
        guard case .show(let lookup) = try compiler.compile("show \(id)") else { Issue.record("not show"); return }
        #expect(lookup.id == id)
        #expect(lookup.command == nil)
        guard case .fetch(let byName, let directory, _, _) = try compiler.compile("fetch 'x y.dcm' to '/tmp/out dir'")
        else {
            Issue.record("not fetch")
            return
        }
        #expect(byName.given == "x y.dcm")
        #expect(directory.text == "/tmp/out dir")
    }

    /// One rule for quoted numbers (a number in quotes is the number where the field holds
    /// numbers) and one for bare names (`.` and `-` inside, in conditions as after `show`).
    @Test func quotedNumbersAndBareNamesFollowOneRule() throws {
        #expect(try argv("find where year = '2004'") == argv("find where year = 2004"))
        #expect(try argv("find where rows = '512'") == argv("find where rows = 512"))
        #expect(try argv("find where size between '1' and '2048'") == argv("find where size between 1 and 2048"))
        #expect(try argv("find where name = CT_small.dcm") == argv("find where name = 'CT_small.dcm'"))
        #expect(try argv("find where patientId = PX-0001") == argv("find where patientId = 'PX-0001'"))
        #expect(try argv("show CT_small.dcm") == argv("show 'CT_small.dcm'"))
        // `--` still starts a comment after a name.
        #expect(try argv("find where modality = CT--comment") == argv("find where modality = 'CT'"))
    }

    /// A path where none belongs was named as '' in the message (its token had no text).
    @Test func aMisplacedPathIsNamedInTheError() throws {
        let tokens = try Lexer.tokenize("count where modality = 'CT' /x ~/y")
        #expect(tokens.filter { if case .path = $0.kind { true } else { false } }.map(\.text) == ["/x", "~/y"])
        #expect(throws: DQLError.self) { try compiler.compile("count where modality = 'CT' ~") }
        do {
            _ = try compiler.compile("count where modality = 'CT' ~")
        } catch {
            #expect(error.message == "expected end of statement, found '~'")
        }
    }

    @Test func aPathInAListEndsAtTheList() throws {
        let tokens = try Lexer.tokenize("count where modality in (/x, ~/y)")
        #expect(tokens.filter { if case .path = $0.kind { true } else { false } }.map(\.text) == ["/x", "~/y"])
        #expect(throws: DQLError.self) { try compiler.compile("fetch x.dcm to ./out as 'a/../{name}'") }
        do {
            _ = try compiler.compile("fetch x.dcm to ./out as 'a/../{name}'")
        } catch {
            #expect(error.message == "a '..' part in the fetch layout: every part is a directory or the file")
            #expect(error.range.start.column == 28)
        }
    }

    @Test func fetchTakesWhatToDoWithADifferentFileOfTheSameName() throws {
        guard case .fetch(_, _, _, let existing) = try compiler.compile("fetch x.dcm to ./out overwrite") else {
            Issue.record("not fetch")
            return
        }
        #expect(existing == .overwrite)
        guard case .find(let plan) = try compiler.compile("find where modality = CT fetch to ./out rename") else {
            Issue.record("not find")
            return
        }
        #expect(plan.existingFiles == .rename && plan.fetchDirectory?.text == "./out")
        guard
            case .fetch(_, _, let layout, _) = try compiler.compile(
                "fetch x.dcm to ./out as '{patientId}/{{x}}-{date}/{sopUid}.dcm' rename")
        else {
            Issue.record("not fetch")
            return
        }
        #expect(layout?.components.count == 3 && layout?.fields.map(\.name) == ["patientId", "date", "sopUid"])
        let values: [Field: String] = [
            Schema.field(named: "patientId")!: "../etc", Schema.field(named: "date")!: "2019-03-05",
        ]
        #expect(layout?.path(values: values, fallback: "f.dcm") == ".._etc/{x}-2019-03-05/unknown.dcm")
        guard case .fetch(_, _, _, let unsaid) = try compiler.compile("fetch x.dcm to ./out") else { return }
        #expect(unsaid == nil, "the session's choice (refuse unless --overwrite or --rename)")
    }

    @Test func loadDeleteAndTheRest() throws {
        guard case .load(let load) = try compiler.compile("load ./scans recursive chunk 64KB connections 8 window 4")
        else {
            Issue.record("not a load")
            return
        }
        #expect(load.path.text == "./scans" && load.recursive && load.chunkSize == 65536)
        #expect(load.connections == 8 && load.window == 4)
        guard case .load(let quoted) = try compiler.compile("load '/data/my scans'") else { return }
        #expect(quoted.path.text == "/data/my scans" && !quoted.recursive && quoted.chunkSize == nil)
        #expect(
            try argv("delete where name = 'x.dcm'") == [search("@names:{$p0}", params: ["p0", "x.dcm"], returning: [])])
        #expect(try compiler.compile("vacuum") == .vacuum)
        #expect(try compiler.compile("fields").commands.count == Schema.fields.count - 1)
        #expect(
            try compiler.compile("stats").commands == [
                ["FT.SEARCH", index, "*", "LIMIT", "0", "0", "TIMEOUT", "10000", "DIALECT", "2"],
                [
                    "FT.AGGREGATE", index, "*", "TIMEOUT", "10000", "GROUPBY", "0", "REDUCE", "SUM", "1", "@size", "AS",
                    "bytes", "DIALECT", "2",
                ],
            ])
        #expect(try compiler.compile("set chunk = 512KB") == .set(.chunkSize(524288)))
        #expect(try compiler.compile("set connections 16") == .set(.connections(16)))
        #expect(try compiler.compile("set timeout = 2500") == .set(.timeout(2500)))
        #expect(try compiler.compile("set format = csv") == .set(.format(.csv)))
        #expect(try compiler.compile("set timing on") == .set(.timing(true)))
    }

    @Test func explainCarriesTheInnerCommandsAndQuery() throws {
        let plan = try compiler.compile("explain count where modality = 'CT'")
        guard case .explain(let inner, let serverPlan) = plan else { Issue.record("not explain"); return }
        #expect(plan.commands == inner.commands)
        #expect(serverPlan == ["FT.EXPLAIN", index, "@modality:{$p0}", "PARAMS", "2", "p0", "CT", "DIALECT", "2"])
    }

    @Test func layoutAndTimeoutAreConfigurable() throws {
        let custom = Compiler(layout: StorageLayout(prefix: "lab"), timeoutMilliseconds: 500, pageSize: 50)
        #expect(
            try custom.compile("count").commands == [
                ["FT.SEARCH", "lab:{m}:idx", "*", "LIMIT", "0", "0", "TIMEOUT", "500", "DIALECT", "2"]
            ])
        #expect(StorageLayout(prefix: "lab").chunkKey(id: "ab", index: 3) == "lab:chunk:ab:3")
        #expect(StorageLayout().documentKey(id: "ab") == "dql:{m}:file:ab")
    }

    @Test func severalStatementsPerLineAndComments() throws {
        let statements = try Parser.parse(
            """
            -- a script
            count; count by sex -- trailing comment
            find where modality = 'CT' and
                rows > 10
            stats
            """)
        #expect(statements.count == 4)
        #expect(statements.map(\.range.start.line) == [2, 2, 3, 5])
    }

    /// `find … preview`: the files of the `find` (a sheet's worth at most: 100, or fewer when
    /// the statement says), then the pictures.
    @Test func contactSheetsListTheirFilesAsFindDoes() throws {
        guard
            case .contactSheet(.find(let plan), let options) = try compiler.compile(
                "find where modality = 'MR' preview window lung size 64 to sheet.png")
        else {
            Issue.record("not a contact sheet of a find")
            return
        }
        #expect(plan.limit == 100)
        #expect(options.size == 64 && options.window == .preset("lung") && options.file?.text == "sheet.png")
        #expect(
            try argv("find where modality = 'MR' limit 50 offset 10 preview")
                == [search("@modality:{$p0}", params: ["p0", "MR"], limit: ["10", "50"])])
        // Attributes the index does not hold: the files of the header scan.
        guard case .contactSheet(.scan(let scan), _) = try compiler.compile("find where SliceThickness < 2 preview")
        else {
            Issue.record("not a contact sheet of a scan")
            return
        }
        #expect(scan.limit == 100)
    }

}

import Crypto
import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// `find|count|delete patients|studies|series` against the real server, on the whole corpus
/// and a generated archive (patients × studies × series × instances), compared with the rows
/// computed from pydicom's reading of the same files (scripts/level_oracle.py).
@Suite(.serialized) struct LevelTests {
    /// One stored file as pydicom reads it.
    struct Instance: Decodable {
        var id: String
        var size: Int
        var values: [String: [String]]

        enum CodingKeys: String, CodingKey { case id, size }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            size = try container.decode(Int.self, forKey: .size)
            let all = try decoder.singleValueContainer().decode([String: JSONAny].self)
            values = all.compactMapValues(\.strings)
        }

        /// A single value (several are joined by `\`, as dql shows them).
        func value(_ field: String) -> String? { values[field].map { $0.joined(separator: "\\") } }
    }

    /// Any JSON member, keeping lists of strings.
    struct JSONAny: Decodable {
        var strings: [String]?
        init(from decoder: any Decoder) throws { strings = try? decoder.singleValueContainer().decode([String].self) }
    }

    struct Setup {
        var executor: Executor
        var pool: RedisPool
        var directory: URL
        /// The stored files, as pydicom reads them.
        var instances: [Instance]
    }

    static func setUp(corpus: Bool) throws -> Setup {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 4)
        let executor = Executor(client: RedisClient(pool: pool), layout: StorageTests.layout())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-levels-\(UUID().uuidString.prefix(8))")
        try ProjectScripts.generateArchive(
            directory,
            ["--patients", "3", "--studies", "2", "--series", "3", "--instances", "3", "--rows", "8", "--cols", "8"])
        let roots = [directory.path] + (corpus ? try Corpus.roots() : [])
        for root in roots { _ = try executor.run("load '\(root)' recursive") }
        let stored = Set(try rows(executor, "find id").map { $0[0] ?? "" })
        let read = try JSONDecoder().decode(
            [Instance].self, from: Data(try ProjectScripts.run("level_oracle.py", roots).utf8))
        let instances = read.filter { stored.contains($0.id) }
        // Every stored file was read by pydicom too, so the expectations cover all of them.
        #expect(Set(instances.map(\.id)) == stored)
        return Setup(executor: executor, pool: pool, directory: directory, instances: instances)
    }

    static func tearDown(_ setup: Setup) {
        try? setup.pool.withConnection { StorageTests.dropAll(setup.executor.layout, $0) }
        setup.pool.close()
        try? FileManager.default.removeItem(at: setup.directory)
    }

    static func found(_ executor: Executor, _ dql: String) throws -> FoundRows {
        guard case .rows(let found) = try executor.run(dql).first else {
            throw TestSetupError("\(dql) returned no rows")
        }
        return found
    }

    static func rows(_ executor: Executor, _ dql: String) throws -> [[String?]] {
        try found(executor, dql).rows
    }

    static func count(_ executor: Executor, _ dql: String) throws -> Int? {
        guard case .count(let count) = try executor.run(dql).first else { return nil }
        return count
    }

    /// What a row of a level holds, from the instances it groups.
    struct ExpectedRow: Equatable {
        var key: String
        var studies: Int
        var series: Int
        var instances: Int
        var size: Int
        var modalities: String
    }

    static func expectedRows(_ instances: [Instance], key field: String) -> [String: ExpectedRow] {
        var groups: [String: [Instance]] = [:]
        for instance in instances {
            if let key = instance.value(field) { groups[key, default: []].append(instance) }
        }
        return groups.mapValues { members in
            ExpectedRow(
                key: members[0].value(field) ?? "",
                studies: Set(members.compactMap { $0.value("studyUid") }).count,
                series: Set(members.compactMap { $0.value("seriesUid") }).count, instances: members.count,
                size: members.reduce(0) { $0 + $1.size },
                modalities: Set(members.compactMap { $0.value("modality") }).sorted().joined(separator: "\\"))
        }
    }

    /// dql's rows of a level, by key, as ``ExpectedRow``s.
    static func actualRows(_ found: FoundRows) -> [String: ExpectedRow] {
        func column(_ row: [String?], _ name: String) -> String? {
            found.columns.firstIndex(of: name).flatMap { row[$0] }
        }
        let keyColumn = found.level.keyField?.name ?? ""
        var result: [String: ExpectedRow] = [:]
        for row in found.rows {
            let key = column(row, keyColumn) ?? ""
            result[key] = ExpectedRow(
                key: key, studies: Int(column(row, "numberOfStudies") ?? "") ?? 1,
                series: Int(column(row, "numberOfSeries") ?? "") ?? 1,
                instances: Int(column(row, "numberOfInstances") ?? "") ?? 0, size: Int(column(row, "size") ?? "") ?? 0,
                modalities: column(row, "modalities") ?? "")
        }
        return result
    }

    @Test func everyLevelOfTheCorpusAndAnArchiveIsWhatPydicomReads() throws {
        let setup = try Self.setUp(corpus: true)
        defer { Self.tearDown(setup) }
        let executor = setup.executor
        let instances = setup.instances
        for (level, field) in [("patients", "patientId"), ("studies", "studyUid"), ("series", "seriesUid")] {
            var expected = Self.expectedRows(instances, key: field)
            #expect(try Self.count(executor, "count \(level)") == expected.count, "count \(level)")
            let found = try Self.found(executor, "find \(level)")
            #expect(found.total == expected.count && found.returned == expected.count, "find \(level)")
            var actual = Self.actualRows(found)
            // Rows show what the level's columns hold; the others are not compared.
            for key in expected.keys {
                if level != "patients" { expected[key]?.studies = 1 }
                if level == "series" { expected[key]?.series = 1 }
                if level != "studies" { expected[key]?.modalities = "" }
            }
            for key in actual.keys where level != "studies" { actual[key]?.modalities = "" }
            #expect(actual == expected, "find \(level)")
        }
        // A study's patient is the patient of its instances.
        let studies = try Self.found(executor, "find studies studyUid, patientId")
        for row in studies.rows {
            let patients = Set(instances.filter { $0.value("studyUid") == row[0] }.compactMap { $0.value("patientId") })
            if patients.count == 1 { #expect(row[1] == patients.first, "patient of study \(row[0] ?? "")") }
        }
    }

    @Test func aConditionAtALevelSelectsRowsWithAMatchingInstanceAndCountsAllOfTheirs() throws {
        let setup = try Self.setUp(corpus: true)
        defer { Self.tearDown(setup) }
        let executor = setup.executor
        let instances = setup.instances
        let all = Self.expectedRows(instances, key: "studyUid")
        // Modality varies within a study: rows come from all instances of the studies with an MR one.
        let withMR = Set(
            instances.filter { $0.values["modality"]?.contains("MR") == true }.compactMap { $0.value("studyUid") })
        #expect(!withMR.isEmpty)
        let found = try Self.found(executor, "find studies where modality = 'MR'")
        #expect(Self.actualRows(found) == all.filter { withMR.contains($0.key) })
        #expect(try Self.count(executor, "count studies where modality = 'MR'") == withMR.count)
        // A study-level condition (one aggregate): a patient's studies.
        let patient = try #require(instances.compactMap { $0.value("patientId") }.first { $0.hasPrefix("P0000") })
        let theirs = Set(instances.filter { $0.value("patientId") == patient }.compactMap { $0.value("studyUid") })
        let patientStudies = try Self.found(executor, "find studies where patientId = '\(patient)'")
        #expect(Self.actualRows(patientStudies) == all.filter { theirs.contains($0.key) })
        // count studies by modality: a study with CT and MR counts once under each.
        guard case .groups(let groups) = try executor.run("count studies by modality").first else {
            Issue.record("count studies by modality gave no groups")
            return
        }
        var expected: [String: Int] = [:]
        for row in all.values {
            for modality in row.modalities.split(separator: "\\") { expected[String(modality), default: 0] += 1 }
        }
        var actual: [String: Int] = [:]
        for row in groups.rows where row.values[0] != nil { actual[row.values[0] ?? ""] = row.count }
        #expect(actual == expected)
    }

    @Test func levelsOrderPageAndSayNOfMOnOneAggregateAndOnTwoSteps() throws {
        let setup = try Self.setUp(corpus: true)
        defer { Self.tearDown(setup) }
        let executor = setup.executor
        let studies = Self.expectedRows(setup.instances, key: "studyUid").values.sorted {
            ($0.instances, $1.key) > ($1.instances, $0.key)
        }
        // No condition: the server sorts and pages.
        let page = try Self.found(executor, "find studies order by numberOfInstances desc limit 3 offset 2")
        #expect(page.total == studies.count && page.returned == 3)
        #expect(page.rows.map { $0[0] } == studies[2..<5].map(\.key))
        // A condition on instances (size > 0, every file): keys first, sorted and cut here.
        let sized = try Self.found(executor, "find studies where size > 0 order by size desc limit 4 offset 1")
        let bySize = Self.expectedRows(setup.instances, key: "studyUid").values.sorted {
            ($0.size, $1.key) > ($1.size, $0.key)
        }
        #expect(sized.total == bySize.count && sized.returned == 4)
        #expect(sized.rows.map { $0[0] } == bySize[1..<5].map(\.key))
        // The default order: studies newest first.
        let newest = try Self.found(executor, "find studies studyUid, date limit 5")
        let dates = newest.rows.compactMap { $0[1] }
        #expect(dates == dates.sorted(by: >))
    }

    /// A program's find at a level (DICOMweb) gets one file of each row from the same
    /// aggregate: a file of that row, on the one-aggregate and the two-step path alike.
    @Test func rowsCarryOneOfTheirFilesWhenAskedTo() throws {
        let setup = try Self.setUp(corpus: false)
        defer { Self.tearDown(setup) }
        for (level, key) in [(Level.patients, "patientId"), (.studies, "studyUid"), (.series, "seriesUid")] {
            guard case .find(let sized) = try Parser.parseStatement("find where size > 0") else { return }
            for condition in [nil, sized.condition] {
                var find = FindStatement(level: level, condition: condition, limit: 2, offset: 1)
                find.withSamples = true
                guard case .rows(let found) = try setup.executor.execute(.find(find)) else {
                    throw TestSetupError("no rows")
                }
                #expect(found.returned == 2 && found.samples.count == 2, "\(level)")
                for (rowKey, sample) in zip(found.ids, found.samples) {
                    let file = setup.instances.first { $0.id == sample }
                    #expect(file?.values[key] == [rowKey], "\(level) \(rowKey): \(sample ?? "none")")
                }
                // Without asking, rows carry none.
                find.withSamples = false
                guard case .rows(let plain) = try setup.executor.execute(.find(find)) else { continue }
                #expect(plain.samples.isEmpty && plain.ids == found.ids)
            }
        }
    }

    @Test func fetchAndDeleteAtALevelTakeEveryFileOfTheMatchingRows() throws {
        let setup = try Self.setUp(corpus: false)
        defer { Self.tearDown(setup) }
        let executor = setup.executor
        let patient = try #require(setup.instances.compactMap { $0.value("patientId") }.min())
        let theirs = setup.instances.filter { $0.value("patientId") == patient }
        let studyUids = Set(theirs.compactMap { $0.value("studyUid") })
        let out = setup.directory.appendingPathComponent("out")
        let fetched = try Self.found(
            executor,
            "find studies where patientId = '\(patient)' limit 1 fetch to '\(out.path)' as '{studyUid}/{name}'")
        #expect(fetched.returned == 1 && fetched.total == studyUids.count)
        let study = try #require(fetched.rows.first?[0] ?? nil)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent(study).path)
        #expect(files.count == theirs.filter { $0.value("studyUid") == study }.count)
        #expect(fetched.fetched.count == files.count)

        let before = try #require(try Self.count(executor, "count"))
        guard case .deleted(let deleted, _) = try executor.run("delete studies where patientId = '\(patient)'").first
        else {
            Issue.record("delete studies gave no count")
            return
        }
        #expect(deleted == theirs.count)
        #expect(try Self.count(executor, "count") == before - theirs.count)
        #expect(try Self.count(executor, "count studies where patientId = '\(patient)'") == 0)
    }

    /// A Study Instance UID reused for two patients: a patient's studies are that patient's
    /// instances (the rows count them; delete takes them, and only them); a condition on
    /// anything else selects the whole study. Either way delete takes what find counted.
    @Test func aStudyOfTwoPatientsIsTheirsByPatientAndWholeOtherwiseAndDeleteTakesWhatFindCounted() throws {
        let setup = try Self.setUp(corpus: false)
        defer { Self.tearDown(setup) }
        let executor = setup.executor
        let victim = try #require(setup.instances.first { $0.value("patientId") == "P000000" })
        let study = try #require(victim.value("studyUid"))
        // A copy of one of the study's files with another Patient ID (same length, patched in
        // its (0010,0020) LO element).
        let source = try #require(
            FileManager.default.enumerator(atPath: setup.directory.path)?.compactMap { $0 as? String }.first {
                $0.hasSuffix(".dcm")
                    && (try? Data(contentsOf: setup.directory.appendingPathComponent($0)))
                        .map { SHA256.hash(data: $0).map { String(format: "%02x", $0) }.joined() == victim.id } == true
            })
        var bytes = [UInt8](try Data(contentsOf: setup.directory.appendingPathComponent(source)))
        let element: [UInt8] = [0x10, 0x00, 0x20, 0x00] + Array("LO".utf8)
        let at = try #require(
            bytes.indices.first {
                bytes[$0...].starts(with: element) && bytes[($0 + 8)...].starts(with: Array("P000000".utf8))
            })
        bytes.replaceSubrange((at + 8)..<(at + 15), with: Array("Q999999".utf8))
        let other = setup.directory.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try Data(bytes).write(to: other.appendingPathComponent("shared.dcm"))
        _ = try executor.run("load '\(other.path)'")

        let all = setup.instances.filter { $0.value("studyUid") == study }.count + 1
        let theirs = try Self.found(executor, "find studies studyUid, numberOfInstances where patientId = 'Q999999'")
        #expect(theirs.rows == [[study, "1"]])
        let whole = try Self.found(
            executor, "find studies studyUid, numberOfInstances where patientId = 'Q999999' and modality = 'CT'")
        #expect(whole.rows == [[study, String(all)]])
        guard case .deleted(let deleted, _) = try executor.run("delete studies where patientId = 'Q999999'").first
        else {
            Issue.record("no delete")
            return
        }
        #expect(deleted == 1)
        #expect(try Self.count(executor, "count where studyUid = '\(study)'") == all - 1)
        #expect(try Self.count(executor, "count where patientId = 'Q999999'") == 0)
        _ = try executor.run("load '\(other.path)'")
        guard
            case .deleted(let wholly, _) = try executor.run(
                "delete studies where patientId = 'Q999999' and modality = 'CT'"
            ).first
        else {
            Issue.record("no delete")
            return
        }
        #expect(wholly == all)
        #expect(try Self.count(executor, "count studies where studyUid = '\(study)'") == 0)
    }
    /// Patient IDs that differ only in case are two patients: the rows of one, and what fetch
    /// and delete take for it, never include the other's files (the index matches text ignoring
    /// case; the patient key is matched case-sensitively).
    @Test func patientIdsThatDifferInCaseAreTwoPatients() throws {
        let setup = try Self.setUp(corpus: false)
        defer { Self.tearDown(setup) }
        let executor = setup.executor
        let sources = try #require(
            FileManager.default.enumerator(atPath: setup.directory.path)?.compactMap { $0 as? String }
                .filter { $0.hasSuffix(".dcm") && $0.contains("P0000/") }.sorted().prefix(3))
        #expect(sources.count == 3)
        let copies = setup.directory.appendingPathComponent("copies")
        try FileManager.default.createDirectory(at: copies, withIntermediateDirectories: true)
        let element: [UInt8] = [0x10, 0x00, 0x20, 0x00] + Array("LO".utf8)
        for (index, source) in sources.enumerated() {
            var bytes = [UInt8](try Data(contentsOf: setup.directory.appendingPathComponent(source)))
            let at = try #require(
                bytes.indices.first {
                    bytes[$0...].starts(with: element) && bytes[($0 + 8)...].starts(with: Array("P000000".utf8))
                })
            bytes.replaceSubrange((at + 8)..<(at + 15), with: Array((index == 0 ? "q000000" : "Q000000").utf8))
            try Data(bytes).write(to: copies.appendingPathComponent("x\(index).dcm"))
        }
        _ = try executor.run("load '\(copies.path)'")
        let found = try Self.found(executor, "find patients patientId, numberOfInstances where name = 'x1.dcm'")
        #expect(found.rows == [["Q000000", "2"]])
        let both = try Self.found(
            executor, "find patients patientId, numberOfInstances where patientId = 'q000000' order by patientId")
        #expect(both.rows == [["Q000000", "2"], ["q000000", "1"]])
        guard case .deleted(let deleted, _) = try executor.run("delete patients where name = 'x1.dcm'").first else {
            Issue.record("no delete")
            return
        }
        #expect(deleted == 2)
        #expect(try Self.count(executor, "count where name = 'x0.dcm'") == 1)
    }

    /// `index` while a load that began before it is still writing: that load's documents lack
    /// the attribute, so index waits for it and fills them in before any shell trusts the index.
    @Test func indexWaitsForLoadsThatBeganBeforeItAndFillsTheirFilesIn() throws {
        let setup = try Self.setUp(corpus: false)
        defer { Self.tearDown(setup) }
        let executor = setup.executor
        let layout = executor.layout
        let id = try #require(try Self.rows(executor, "find id limit 1").first?[0] ?? nil)
        let marker = layout.loadRunKey(token: "earlier-\(UUID().uuidString)")
        try setup.pool.withConnection { _ = try $0.call("SET", marker, "x", "EX", "30") }
        // The earlier load writes one more document, without the attribute, after index has
        // walked the documents once, then ends.
        let pool = setup.pool
        let writer = Thread {
            usleep(700_000)
            try? pool.withConnection { connection in
                _ = try connection.call("JSON.DEL", layout.documentKey(id: id), "$.a")
                _ = try connection.call("DEL", marker)
            }
        }
        writer.start()
        let notes = Notes()
        let context = StatementContext(note: { notes.add($0) })
        guard
            case .attributeIndexed(_, _, let values, _) = try executor.execute(
                try Parser.parseStatement("index SliceThickness"), context: context)
        else {
            Issue.record("index gave no report")
            return
        }
        #expect(values == setup.instances.count + 1)
        #expect(notes.all.contains("waiting for 1 load that began before index, to fill in its files too"))
        #expect(try Self.count(executor, "count where SliceThickness is missing") == 0)
    }
}

/// The notes a statement gave, collected from any thread.
final class Notes: @unchecked Sendable {
    private let lock = NSLock()
    private var notes: [String] = []

    func add(_ note: String) { lock.withLock { notes.append(note) } }
    var all: [String] { lock.withLock { notes } }
}

import Crypto
import DicomCore
import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// Any attribute of the standard as a field, by keyword or tag, against pydicom's reading of
/// the whole corpus (the oracle's top-level elements): values shown as columns, `is missing`
/// and a value condition, each read from the stored headers, then again after `index KEYWORD`
/// (and `unindex`), so both paths must give pydicom's answer.
@Suite(.serialized) struct AttributeFieldTests {
    /// Keywords of different VRs: DS (one value and several), IS, US, FD, DA, TM, PN, CS with
    /// several values, SH, LO, UI, a private tag, and attributes absent from most files.
    static let keywords = [
        "SliceThickness", "PixelSpacing", "KVP", "WindowCenter", "InstanceNumber", "SeriesNumber", "SamplesPerPixel",
        "BitsStored", "PixelRepresentation", "SingleCollimationWidth", "AcquisitionDate", "PatientBirthDate",
        "StudyTime", "AcquisitionTime", "NameOfPhysiciansReadingStudy", "OperatorsName", "ImageType",
        "PhotometricInterpretation", "StudyID", "SoftwareVersions", "StationName", "FrameOfReferenceUID", "(0009,1027)",
        // Attributes that are dql's own fields (study attributes of schema 4): always indexed.
        "AccessionNumber", "ReferringPhysicianName",
    ]

    struct Setup {
        var executor: Executor
        var pool: RedisPool
        /// pydicom's top-level elements of each stored file, by id.
        var elements: [String: [String: OracleElement]]
    }

    static func setUp() throws -> Setup {
        let pool = RedisPool(try TestRedis.configuration(), maximumConnections: 4)
        let executor = Executor(client: RedisClient(pool: pool), layout: StorageTests.layout())
        for root in try Corpus.roots() { _ = try executor.run("load '\(root)' recursive") }
        guard case .rows(let stored) = try executor.run("find id").first else { throw TestSetupError("find id") }
        let ids = Set(stored.rows.compactMap { $0[0] })
        var elements: [String: [String: OracleElement]] = [:]
        for file in try Corpus.cachedOracle().files where (file.elementCount ?? 0) > 0 {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file.path))
            let id = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            guard ids.contains(id), elements[id] == nil else { continue }
            var byTag: [String: OracleElement] = [:]
            for element in file.elements ?? [] { byTag[element.tag.uppercased()] = element }
            elements[id] = byTag
        }
        return Setup(executor: executor, pool: pool, elements: elements)
    }

    /// The field's values in pydicom's reading, normalised as dql shows them.
    static func expected(_ field: Field, _ element: OracleElement?) -> [String] {
        guard let strings = element?.strings else { return [] }
        return Executor.normalizedValues(field, strings)
    }

    @Test func everyAttributeAnswersAsPydicomReadsItFromHeadersAndFromTheIndex() throws {
        let setup = try Self.setUp()
        defer {
            try? setup.pool.withConnection { StorageTests.dropAll(setup.executor.layout, $0) }
            setup.pool.close()
        }
        let executor = setup.executor
        for keyword in Self.keywords {
            let field = try #require(AttributeFields.field(named: keyword), "\(keyword)")
            let friendly = field.tag == nil
            let tag = try #require(
                field.tag ?? AttributeFields.friendlyFieldNames.first { $0.value == field.name }?.key)
            let key = tag.description.filter(\.isHexDigit).uppercased()
            var expected: [String: [String]] = [:]
            for (id, elements) in setup.elements {
                expected[id] = Self.expected(field, elements[key])
            }
            let present = Set(expected.filter { !$0.value.isEmpty }.keys)
            #expect(!present.isEmpty, "\(keyword) is in some corpus file")
            // The most common value, for a condition.
            var counts: [String: Int] = [:]
            for values in expected.values { for value in values { counts[value, default: 0] += 1 } }
            let common = try #require(counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key)
            let literal: String
            let matching: Set<String>
            switch field.kind {
            case .numeric:
                let bound = try #require(Double(common))
                literal = "\(keyword) >= \(common)"
                matching = Set(expected.filter { $0.value.contains { (Double($0) ?? -.infinity) >= bound } }.keys)
            case .date:
                literal = "\(keyword) = \(common.prefix(4))-\(common.dropFirst(4).prefix(2))-\(common.suffix(2))"
                matching = Set(expected.filter { $0.value.contains(common) }.keys)
            default:
                literal =
                    "\(keyword) = '\(common.replacingOccurrences(of: "'", with: "''").replacingOccurrences(of: "\\", with: "\\\\"))'"
                matching = Set(expected.filter { $0.value.contains { $0.lowercased() == common.lowercased() } }.keys)
            }
            // What order by and count by give, by phase: the same from headers and from the index.
            var sorted: [String: [String?]] = [:]
            var grouped: [String: [[String?]: Int]] = [:]
            for phase in friendly ? ["index"] : ["headers", "index"] {
                if phase == "index" && !friendly { _ = try executor.run("index \(keyword)") }
                guard case .rows(let found) = try executor.run("find id, \(keyword)").first else {
                    Issue.record("find id, \(keyword)")
                    continue
                }
                for row in found.rows {
                    guard let id = row[0], let values = expected[id] else { continue }
                    let shown = values.isEmpty ? nil : Executor.displayValues(field, values)
                    #expect(row[1] == shown, "\(keyword) (\(phase)) of \(id)")
                }
                #expect(try ids(setup, "find id where \(keyword) is not missing") == present, "\(keyword) (\(phase))")
                #expect(try ids(setup, "find id where \(literal)") == matching, "\(literal) (\(phase))")
                // count agrees with find (which may also hold files pydicom could not read).
                guard case .count(let count) = try executor.run("count where \(literal)").first,
                    case .rows(let all) = try executor.run("find id where \(literal)").first
                else {
                    Issue.record("count where \(literal)")
                    continue
                }
                #expect(count == all.total && count >= matching.count, "count where \(literal) (\(phase))")
                if case .rows(let ordered) = try executor.run("find \(keyword) order by \(keyword) desc").first {
                    sorted[phase] = ordered.rows.map { $0[0] }
                }
                if case .groups(let groups) = try executor.run("count by \(keyword)").first {
                    grouped[phase] = Dictionary(uniqueKeysWithValues: groups.rows.map { ($0.values, $0.count) })
                }
            }
            #expect(sorted["headers"] == nil || sorted["headers"] == sorted["index"], "order by \(keyword)")
            #expect(grouped["headers"] == nil || grouped["headers"] == grouped["index"], "count by \(keyword)")
            // Several values sort by the first, as numbers for a number.
            if field.kind == .numeric, let values = sorted["index"] {
                let firsts = values.compactMap { $0?.split(separator: "\\").first.flatMap { Double($0) } }
                #expect(firsts == firsts.sorted(by: >), "order by \(keyword) desc")
            }
            if friendly { continue }
            _ = try executor.run("unindex \(keyword)")
            #expect(try ids(setup, "find id where \(literal)") == matching, "\(literal) after unindex")
        }
    }

    /// The ids a find returns, among the files pydicom read (only those are compared).
    func ids(_ setup: Setup, _ dql: String) throws -> Set<String> {
        guard case .rows(let found) = try setup.executor.run(dql).first else { return [] }
        return Set(found.rows.compactMap { $0[0] }).filter { setup.elements[$0] != nil }
    }
}

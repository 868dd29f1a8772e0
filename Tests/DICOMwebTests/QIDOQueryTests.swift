import DQL
import DicomCore
import Testing

@testable import DICOMweb

/// QIDO-RS query strings as DQL conditions: each matching kind of PS3.18 §8.3.4, paging and
/// includefield, and the requests that are refused with what was wrong.
@Suite struct QIDOQueryTests {
    func query(_ items: [(String, String)], level: Level = .studies) throws(DICOMwebError) -> QIDOQuery {
        try QIDOQuery(level: level, items: items.map { (name: $0.0, value: $0.1) }, pathKeys: [])
    }

    func field(_ name: String) throws -> FieldReference {
        let field = try #require(AttributeFields.field(named: name))
        return QIDOQuery.reference(field)
    }

    func text(_ value: String) -> Literal { Literal(.text(value), range: QIDOQuery.nowhere) }

    @Test func eachMatchingKind() throws {
        #expect(try query([("PatientID", "P1")]).condition == .compare(try field("PatientID"), .equal, text("P1")))
        #expect(try query([("PatientName", "Doe*")]).condition == .like(try field("PatientName"), text("Doe*")))
        #expect(
            try query([("StudyInstanceUID", "1.2\\1.3")]).condition
                == .oneOf(try field("StudyInstanceUID"), [text("1.2"), text("1.3")]))
        #expect(
            try query([("StudyInstanceUID", "1.2,1.3")]).condition
                == .oneOf(try field("StudyInstanceUID"), [text("1.2"), text("1.3")]))
        // A comma is part of a name, not a separator.
        #expect(
            try query([("ReferringPhysicianName", "Doe, J")]).condition
                == .compare(try field("ReferringPhysicianName"), .equal, text("Doe, J")))
        let date = try field("StudyDate")
        func day(_ number: Int) -> Literal { Literal(.date(number), range: QIDOQuery.nowhere) }
        #expect(
            try query([("StudyDate", "20190101-20190630")]).condition == .between(date, day(20190101), day(20190630)))
        #expect(try query([("StudyDate", "-20190630")]).condition == .compare(date, .lessOrEqual, day(20190630)))
        #expect(try query([("StudyDate", "20190101-")]).condition == .compare(date, .greaterOrEqual, day(20190101)))
        #expect(try query([("StudyDate", "")]).condition == nil)
    }

    @Test func timesRangeAsNumbersPaddedToSeconds() throws {
        guard case .between(let reference, let low, let high) = try query([("StudyTime", "0800-120000.5")]).condition
        else {
            Issue.record("not a range")
            return
        }
        #expect(reference.field.kind == .numeric)
        #expect(low.value == .number(80000))
        #expect(high.value == .number(120000.5))
    }

    @Test func pathKeysAndMatchingKeysAreAllRequired() throws {
        let query = try QIDOQuery(
            level: .series, items: [(name: "Modality", value: "CT")], pathKeys: [(field: "studyUid", value: "1.2.3")])
        guard case .and(let terms) = query.condition else {
            Issue.record("not a conjunction")
            return
        }
        #expect(terms.count == 2)
    }

    @Test func pagingAndIncludedFields() throws {
        let paged = try query([("limit", "25"), ("offset", "50"), ("includefield", "00180050,PatientAge")])
        #expect(paged.limit == 25 && paged.limitGiven && paged.offset == 50)
        #expect(paged.included == [DicomTag(0x0018, 0x0050), DicomTag(0x0010, 0x1010)])
        let unpaged = try query([("includefield", "all"), ("fuzzymatching", "true")])
        #expect(unpaged.limit == QIDOQuery.defaultLimit && !unpaged.limitGiven && unpaged.includeAll && unpaged.fuzzy)
    }

    @Test func refusalsSayWhatWasWrong() throws {
        let cases: [([(String, String)], String)] = [
            ([("Foo", "1")], "Foo is not an attribute"), ([("limit", "-1")], "limit=-1: the value is a whole number"),
            ([("limit", "20000")], "at most 10000 results"), ([("StudyDate", "2019")], "a date is written YYYYMMDD"),
            ([("Rows", "many")], "many is not a number"), ([("00081111.00081150", "1")], "inside sequences"),
            ([("PixelData", "x")], "holds binary data (OB)"), ([("ReferencedStudySequence", "x")], "holds a sequence"),
            ([("NumberOfStudyRelatedInstances", "3")], "computed by the server"),
            ([("PatientName", "A*\\B")], "wildcards cannot also be a list"),
            ([("fuzzymatching", "maybe")], "true or false"),
            ([("StudyTime", "ab-cd")], "is not a time"),
        ]
        for (items, message) in cases {
            do {
                _ = try query(items)
                Issue.record("\(items) was taken")
            } catch {
                #expect(error.status == .badRequest)
                #expect(error.message.contains(message), "\(items): \(error.message)")
            }
        }
    }
}

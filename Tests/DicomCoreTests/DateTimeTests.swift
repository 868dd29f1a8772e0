import TestSupport
import Testing

@testable import DicomCore

@Suite struct DateTimeTests {
    @Test func datesParseWhenValid() {
        #expect(DicomDate(parsing: "20190305")?.description == "2019-03-05")
        #expect(DicomDate(parsing: "2019.03.05")?.number == 20190305)
        #expect(DicomDate(parsing: "20200229") != nil)
        for bad in ["20190229", "20191301", "20190300", "2019035", "2019-03-05", "", "abcdefgh", "00000101"] {
            #expect(DicomDate(parsing: bad) == nil, "\(bad)")
        }
        let earlier = try? #require(DicomDate(parsing: "20181231"))
        let later = try? #require(DicomDate(parsing: "20190101"))
        #expect(earlier.flatMap { a in later.map { a < $0 } } == true)
    }

    @Test func timesKeepTheirPrecision() {
        #expect(DicomTime(parsing: "07")?.description == "07")
        #expect(DicomTime(parsing: "0727")?.description == "07:27")
        #expect(DicomTime(parsing: "072731")?.description == "07:27:31")
        #expect(DicomTime(parsing: "072731.5")?.microsecond == 500_000)
        #expect(DicomTime(parsing: "07:27:31")?.second == 31)
        #expect(DicomTime(parsing: "235960")?.second == 60)
        for bad in ["24", "0760", "072761", "0727.5", "072731.1234567", "7", "", "ab"] {
            #expect(DicomTime(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func dateTimesWithOffsets() {
        let full = DicomDateTime(parsing: "20190305072731.25+0130")
        #expect(full?.description == "2019-03-05T07:27:31.250000+01:30")
        #expect(full?.date == DicomDate(parsing: "20190305"))
        #expect(DicomDateTime(parsing: "2019")?.description == "2019")
        #expect(DicomDateTime(parsing: "201903-0500")?.utcOffsetMinutes == -300)
        for bad in ["201913", "20190230", "2019030507273", "2019.5", "20190305+99"] {
            #expect(DicomDateTime(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func elementsExposeParsedForms() throws {
        let file = try DicomReader.read(contentsOf: try Corpus.path("pydicom/test_files/CT_small.dcm"))
        #expect(file.dataset["StudyDate"]?.date == DicomDate(parsing: "20040119"))
        #expect(file.dataset["StudyTime"]?.time?.hour == 7)
        #expect(file.dataset["StudyDate"]?.string == "20040119")
    }
}

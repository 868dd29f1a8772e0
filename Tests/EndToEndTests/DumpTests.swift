import Foundation
import TestSupport
import Testing

/// `dql dump` on real corpus files.
@Suite struct DumpTests {
    static func corpusFile(_ name: String) throws -> String {
        guard let oracle = ProcessInfo.processInfo.environment["DQL_DICOM_ORACLE"] else {
            throw TestSetupError("DQL_DICOM_ORACLE is not set: run the tests with scripts/test.sh")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: oracle))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let files = object?["files"] as? [[String: Any]] ?? []
        guard let path = files.first(where: { $0["name"] as? String == name })?["path"] as? String else {
            throw TestSetupError("no corpus file \(name)")
        }
        return path
    }

    @Test func jsonIsOneParsableObjectPerFile() throws {
        let ct = try Self.corpusFile("pydicom/test_files/CT_small.dcm")
        let japanese = try Self.corpusFile("pydicom/charset_files/chrH31.dcm")
        let result = try DQLBinary.run(["dump", "--json", ct, japanese])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let modality = (objects[0]?["00080060"] as? [String: Any])?["Value"] as? [String]
        #expect(modality == ["CT"])
        let pixels = objects[0]?["7FE00010"] as? [String: Any]
        #expect((pixels?["BulkDataURI"] as? String)?.hasPrefix("?offset=") == true)
        let name = ((objects[1]?["00100010"] as? [String: Any])?["Value"] as? [[String: String]])?.first
        #expect(name?["Ideographic"] == "山田^太郎")
    }

    @Test func readableDumpShowsNamesAndValues() throws {
        let result = try DQLBinary.run(["dump", try Self.corpusFile("pydicom/test_files/CT_small.dcm")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("(0010,0010) PN Patient's Name"))
        #expect(result.stdout.contains("[CompressedSamples^CT1]"))
        #expect(result.stdout.contains("Explicit VR Little Endian"))
    }

    @Test func notDicomFilesAreReportedAndTheRestStillDumped() throws {
        let readme = try Self.corpusFile("pydicom/test_files/README.txt")
        let ct = try Self.corpusFile("pydicom/test_files/CT_small.dcm")
        let result = try DQLBinary.run(["dump", "--json", readme, ct])
        #expect(result.status == 1)
        #expect(result.stdout.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("README.txt: not DICOM"))
        #expect(result.stderr.contains("(at byte 0)"))
    }

    @Test func missingFileIsAClearError() throws {
        let result = try DQLBinary.run(["dump", "/nonexistent/file.dcm"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/nonexistent/file.dcm: cannot open: no such file or directory"))
        #expect(!result.stderr.contains("at byte"), "no byte position for a file that is not there")
    }
}

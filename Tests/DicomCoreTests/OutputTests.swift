import Foundation
import TestSupport
import Testing

@testable import DicomCore

@Suite struct OutputTests {
    func json(_ file: DicomFile) throws -> [String: Any] {
        let text = DicomJSON.encode(file).serialized()
        return try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func attribute(_ object: [String: Any], _ tag: String) -> [String: Any]? {
        object[tag] as? [String: Any]
    }

    @Test func dicomJSONFollowsPS3_18() throws {
        var body = DicomBuilder.sample(explicitVR: true, littleEndian: true)
        body.text(0x0018, 0x0050, .DS, "2.5")
        body.text(0x0020, 0x0013, .IS, "7")
        body.element(0x0028, 0x0009, .AT, [0x18, 0x00, 0x63, 0x10])
        body.element(0x0018, 0x1310, .US, [1, 0, 2, 0])
        body.element(0x0009, 0x1001, .OB, [1, 2, 3])
        body.text(0x0010, 0x0030, .DA, "")
        body.element(0x7FE0, 0x0010, .OW, [UInt8](repeating: 7, count: 64))
        let file = try DicomReader.read(DicomBuilder.part10(syntax: "1.2.840.10008.1.2.1", body: body))
        let object = try json(file)
        #expect(object["00020000"] == nil, "group lengths are left out")
        #expect(attribute(object, "00020010")?["Value"] as? [String] == ["1.2.840.10008.1.2.1"])
        #expect(attribute(object, "00080060")?["vr"] as? String == "CS")
        #expect(attribute(object, "00080060")?["Value"] as? [String] == ["MR"])
        let name = (attribute(object, "00100010")?["Value"] as? [[String: String]])?.first
        #expect(name == ["Alphabetic": "Müller^Jörg"])
        #expect(attribute(object, "00180050")?["Value"] as? [Double] == [2.5])
        #expect(attribute(object, "00200013")?["Value"] as? [Int] == [7])
        #expect(attribute(object, "00280009")?["Value"] as? [String] == ["00181063"])
        #expect(attribute(object, "00181310")?["Value"] as? [Int] == [1, 2])
        #expect(attribute(object, "00280010")?["Value"] as? [Int] == [512])
        #expect(attribute(object, "00091001")?["InlineBinary"] as? String == "AQID")
        #expect(attribute(object, "00100030")?.keys.sorted() == ["vr"], "empty values have no Value")
        let sequence = attribute(object, "00081140")?["Value"] as? [[String: Any]]
        #expect(sequence?.count == 2)
        #expect(
            (sequence?.first?["00081150"] as? [String: Any])?["Value"] as? [String] == ["1.2.840.10008.5.1.4.1.1.4"])
        let pixels = try #require(file.dataset[DicomTag(0x7FE0, 0x0010)])
        #expect(attribute(object, "7FE00010")?["BulkDataURI"] as? String == "?offset=\(pixels.offset + 12)&length=64")
        #expect(attribute(object, "7FE00010")?["InlineBinary"] == nil)
    }

    @Test func multiGroupPersonNamesAndEscaping() throws {
        let file = try DicomReader.read(contentsOf: try Corpus.path("pydicom/charset_files/chrH31.dcm"))
        let object = try json(file)
        let name = (attribute(object, "00100010")?["Value"] as? [[String: String]])?.first
        #expect(name == ["Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"])
        #expect(JSONValue.string("a\"b\\c\n\u{01}").serialized() == #""a\"b\\c\n\u0001""#)
        #expect(JSONValue.real(.nan).serialized() == #""NaN""#)
    }

    /// Any text survives JSON: written fast when it needs no escape, a scalar at a time when it
    /// does, and read back by Foundation as the same string.
    @Test func anyTextRoundTripsThroughJSON() throws {
        let pieces: [String] = [
            "a", "Z", " ", "^", "\"", "\\", "/", "\n", "\r", "\t", "\u{00}", "\u{01}", "\u{08}", "\u{0C}", "\u{1F}",
            "\u{7F}", "é", "山田", "\u{2028}", "\u{2029}", "\u{2030}", "€", "😀", "e\u{301}",
        ]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<500 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                pieces.randomElement(using: &generator) ?? ""
            }.joined()
            let json = JSONValue.array([.string(text), .object([(text, .integer(Int64(round)))])]).serialized()
            #expect(!json.unicodeScalars.contains { $0.value < 0x20 || $0 == "\u{2028}" || $0 == "\u{2029}" })
            let decoded = try #require(
                try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [Any], "\(json)")
            #expect(decoded.first as? String == text, "\(json)")
            #expect((decoded.last as? [String: Int])?[text] == round, "\(json)")
        }
    }

    @Test func base64MatchesFoundation() {
        for length in 0..<20 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
        }
    }

    @Test func dumpListsElementsNestedItemsAndDiagnostics() throws {
        var body = DicomBuilder.sample(explicitVR: true, littleEndian: true)
        body.element(0x0010, 0x4000, .LT, Array("cut".utf8), length: 100)
        let file = try DicomReader.read(DicomBuilder.part10(syntax: "1.2.840.10008.1.2.1", body: body))
        let text = DicomDump.render(file, path: "x.dcm")
        #expect(text.contains("# x.dcm"))
        #expect(text.contains("(0010,0010) PN Patient's Name"))
        #expect(text.contains("[Müller^Jörg]"))
        #expect(text.contains("(0008,1140) SQ Referenced Image Sequence"))
        #expect(text.contains("  > item 2"))
        #expect(text.contains("error: (0010,4000) value of 100 bytes runs past the end of the data"))
    }

    @Test func metadataOnlyReadsMatchFullReadsAcrossTheCorpus() throws {
        let oracle = try Corpus.cachedOracle()
        var mismatches: [String] = []
        for file in oracle.files {
            let sameLimit = DicomReadOptions(inlineBinaryLimit: DicomReadOptions.metadataOnly.inlineBinaryLimit)
            guard let full = try? DicomReader.read(contentsOf: file.path, options: sameLimit) else { continue }
            let header = try DicomReader.read(contentsOf: file.path, options: .metadataOnly)
            let expected = full.dataset.elements.prefix { $0.tag < DicomTag(0x7FE0, 0x0008) }
            if header.dataset.elements != Array(expected) { mismatches.append(file.name) }
            if header.byteCount != full.byteCount { mismatches.append(file.name + " (byte count)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}

@Suite struct EncodedTextTests {
    @Test func textIsKeptAsReadAndDecodedOnAccess() throws {
        let file = try DicomReader.read(
            DicomBuilder.part10(syntax: "1.2.840.10008.1.2.1", body: .sample(explicitVR: true, littleEndian: true)))
        let modality = try #require(file.dataset["Modality"])
        guard case .text(let encoded) = modality.value else {
            Issue.record("expected text kept as read, got \(modality.value)")
            return
        }
        #expect(encoded.vr == .CS)
        #expect(encoded.decoded == .strings(["MR"]))
        #expect(modality.value.decoded == .strings(["MR"]))
        #expect(modality.strings == ["MR"])
        // Latin-1 person name decoded with the dataset's character set.
        #expect(file.dataset["PatientName"]?.value.decoded == .personNames([PersonName("Müller^Jörg")]))
        #expect(file.dataset["PatientName"]?.value.multiplicity == 1)
        // Equal when the decoded values are equal, wherever the bytes live.
        let again = try DicomReader.read(
            DicomBuilder.part10(syntax: "1.2.840.10008.1.2.1", body: .sample(explicitVR: true, littleEndian: true)))
        #expect(again.dataset == file.dataset)
    }

    @Test func eachItemKeepsItsOwnCharacterSet() throws {
        // Latin-1 at the top, UTF-8 declared inside the item: the same two bytes C3 A9 are "Ã©"
        // outside and "é" inside.
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.text(0x0008, 0x0005, .CS, "ISO_IR 100")
        body.sequence(
            0x0008, 0x1140,
            items: [
                { item in
                    item.text(0x0008, 0x0005, .CS, "ISO_IR 192")
                    item.textBytes(0x0010, 0x0010, .PN, [0x43, 0xC3, 0xA9])
                }
            ])
        body.textBytes(0x0010, 0x0010, .PN, [0x43, 0xC3, 0xA9])
        let file = try DicomReader.read(DicomBuilder.part10(syntax: "1.2.840.10008.1.2.1", body: body))
        #expect(file.dataset["PatientName"]?.string == "C\u{C3}\u{A9}")
        let item = try #require(file.dataset[DicomTag(0x0008, 0x1140)]?.items.first)
        #expect(item["PatientName"]?.string == "Cé")
        #expect(item.characterSet.terms == ["ISO_IR 192"])
    }
}

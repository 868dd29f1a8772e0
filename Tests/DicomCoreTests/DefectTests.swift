import TestSupport
import Testing

@testable import DicomCore

/// Broken files as they occur in the wild: each is read as far as it can be, and what was
/// repaired or skipped is reported.
@Suite struct DefectTests {
    let explicitLE = "1.2.840.10008.1.2.1"

    func warnings(_ file: DicomFile, containing text: String) -> [DicomDiagnostic] {
        file.diagnostics.filter { $0.message.contains(text) }
    }

    @Test func headerSaysExplicitButDataIsImplicit() throws {
        let file = try DicomReader.read(
            DicomBuilder.part10(syntax: explicitLE, body: .sample(explicitVR: false, littleEndian: true)))
        TransferSyntaxTests.checkSample(file)
        #expect(warnings(file, containing: "expected explicit VR, found implicit VR").count == 1)
    }

    @Test func bareDatasetWithoutPreambleOrMetaIsSniffed() throws {
        for (explicit, little) in [(false, true), (true, true), (true, false)] {
            let file = try DicomReader.read(DicomBuilder.sample(explicitVR: explicit, littleEndian: little).bytes)
            #expect(!file.hasPreamble)
            #expect(file.meta.isEmpty)
            #expect(file.transferSyntax.isExplicitVR == explicit)
            #expect(file.transferSyntax.isLittleEndian == little)
            TransferSyntaxTests.checkSample(file)
        }
    }

    @Test func metaWithoutTransferSyntaxIsSniffed() throws {
        let file = try DicomReader.read(
            DicomBuilder.part10(syntax: nil, body: .sample(explicitVR: false, littleEndian: true)))
        #expect(file.transferSyntax == .implicitVRLittleEndian)
        #expect(file.declaredTransferSyntaxUID == nil)
        TransferSyntaxTests.checkSample(file)
        #expect(warnings(file, containing: "no Transfer Syntax UID").count == 1)
    }

    @Test func metaWithoutGroupLengthOrPreamble() throws {
        var meta = DicomBuilder()
        meta.text(0x0002, 0x0010, .UI, explicitLE)
        let bytes = Array("DICM".utf8) + meta.bytes + DicomBuilder.sample(explicitVR: true, littleEndian: true).bytes
        let file = try DicomReader.read(bytes)
        #expect(!file.hasPreamble)
        #expect(file.declaredTransferSyntaxUID == explicitLE)
        TransferSyntaxTests.checkSample(file)
    }

    /// Millions of tiny elements (garbage after a header) took some 25 times the file's size in
    /// memory, and a 2 GB file took the machine down; reading stops at the element budget.
    @Test func readingStopsAtTheElementBudget() throws {
        var builder = DicomBuilder()
        for index in 0..<5000 { builder.text(0x0009, UInt16(0x1000 + index % 0xEF00), .LO, "ab") }
        let bytes = DicomBuilder.part10(syntax: explicitLE, body: builder)
        let file = try DicomReader.read(bytes, options: DicomReadOptions(maximumElements: 1000))
        #expect(file.dataset.elements.count <= 1000)
        #expect(
            file.diagnostics.contains { $0.message.hasPrefix("stopped after 1000 elements; the ") },
            "\(file.diagnostics)")
        let whole = try DicomReader.read(bytes)
        #expect(whole.dataset.elements.count == 5000 && !whole.diagnostics.contains { $0.message.hasPrefix("stopped") })
    }

    @Test func valueRunningPastTheEndKeepsWhatExists() throws {
        var body = DicomBuilder.sample(explicitVR: true, littleEndian: true)
        body.element(0x0010, 0x4000, .LT, Array("truncated comment".utf8), length: 1000)
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        TransferSyntaxTests.checkSample(file)
        #expect(file.dataset[DicomTag(0x0010, 0x4000)]?.string == "truncated comment")
        let problems = warnings(file, containing: "runs past the end")
        #expect(problems.count == 1)
        #expect(problems.first?.severity == .error)
        #expect(problems.first?.tag == DicomTag(0x0010, 0x4000))
    }

    @Test func hugeLengthFieldDoesNotAllocate() throws {
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.element(0x0009, 0x1010, .OB, [1, 2, 3, 4], length: 0xFFFF_FFF0)
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        #expect(file.dataset[DicomTag(0x0009, 0x1010)]?.value == .bytes([1, 2, 3, 4]))
    }

    @Test func duplicateElementsKeepTheLaterOne() throws {
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.text(0x0010, 0x0020, .LO, "FIRST")
        body.text(0x0010, 0x0020, .LO, "SECOND")
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        #expect(file.dataset.count == 1)
        #expect(file.dataset["PatientID"]?.string == "SECOND")
        #expect(warnings(file, containing: "duplicate element").count == 1)
    }

    @Test func elementsOutOfOrderAreSorted() throws {
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.text(0x0010, 0x0020, .LO, "ID")
        body.text(0x0008, 0x0060, .CS, "CT")
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        #expect(file.dataset.elements.map(\.tag) == [DicomTag(0x0008, 0x0060), DicomTag(0x0010, 0x0020)])
        #expect(warnings(file, containing: "out of tag order").count == 1)
    }

    @Test func itemOfUndefinedLengthWithoutDelimiterAtTheEnd() throws {
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.text(0x0008, 0x0060, .CS, "CT")
        body.element(0x0008, 0x1140, .SQ, [], length: 0xFFFF_FFFF)
        body.tag(0xFFFE, 0xE000)
        body.u32(0xFFFF_FFFF)
        body.text(0x0008, 0x1150, .UI, "1.2.3")
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        #expect(file.dataset[DicomTag(0x0008, 0x1140)]?.items.first?[DicomTag(0x0008, 0x1150)]?.string == "1.2.3")
        #expect(!file.diagnostics.isEmpty)
    }

    @Test func nestingBeyondTheLimitIsSkipped() throws {
        // 200 sequences, each the only element of the previous one's only item.
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        for _ in 0..<200 {
            body.element(0x0008, 0x1140, .SQ, [], length: 0xFFFF_FFFF)
            body.tag(0xFFFE, 0xE000)
            body.u32(0xFFFF_FFFF)
        }
        for _ in 0..<200 {
            body.tag(0xFFFE, 0xE00D)
            body.u32(0)
            body.tag(0xFFFE, 0xE0DD)
            body.u32(0)
        }
        body.text(0x0010, 0x0020, .LO, "AFTER")
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        #expect(warnings(file, containing: "nested deeper than 32").count == 1)
        #expect(file.dataset["PatientID"]?.string == "AFTER")
        var depth = 0
        var items = file.dataset[DicomTag(0x0008, 0x1140)]?.items ?? []
        while let first = items.first {
            depth += 1
            items = first[DicomTag(0x0008, 0x1140)]?.items ?? []
        }
        #expect(depth == 32)
    }

    @Test func unknownVRWithUndefinedLengthIsAnImplicitSequence() throws {
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.element(0x0009, 0x1010, .UN, [], length: 0xFFFF_FFFF)
        var item = DicomBuilder(explicitVR: false, littleEndian: true)
        item.tag(0xFFFE, 0xE000)
        item.u32(0xFFFF_FFFF)
        item.text(0x0010, 0x0020, .LO, "INNER")
        item.tag(0xFFFE, 0xE00D)
        item.u32(0)
        item.tag(0xFFFE, 0xE0DD)
        item.u32(0)
        body.bytes += item.bytes
        body.text(0x0010, 0x0020, .LO, "OUTER")
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        let element = file.dataset[DicomTag(0x0009, 0x1010)]
        #expect(element?.vr == .SQ)
        #expect(element?.items.first?["PatientID"]?.string == "INNER")
        #expect(file.dataset["PatientID"]?.string == "OUTER")
    }

    @Test func explicitUNOfAKnownAttributeIsReadWithItsRealVR() throws {
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.element(0x0028, 0x0010, .UN, [0x00, 0x02])  // Rows = 512, little endian
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        #expect(file.dataset["Rows"]?.vr == .US)
        #expect(file.dataset["Rows"]?.integer == 512)
    }

    @Test func unknownVRLettersKeepTheValueAsBytes() throws {
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.tag(0x0009, 0x1010)
        body.bytes += Array("XX".utf8) + [2, 0, 0xAB, 0xCD]
        body.text(0x0010, 0x0020, .LO, "NEXT")
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        #expect(file.dataset[DicomTag(0x0009, 0x1010)]?.value == .bytes([0xAB, 0xCD]))
        #expect(file.dataset["PatientID"]?.string == "NEXT")
        #expect(warnings(file, containing: "unknown VR 'XX'").count == 1)
    }

    @Test func numericValueOfOddLengthKeepsWholeNumbers() throws {
        var body = DicomBuilder(explicitVR: true, littleEndian: true)
        body.element(0x0028, 0x0010, .US, [0x00, 0x02, 0x07])
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        #expect(file.dataset["Rows"]?.integer == 512)
        #expect(warnings(file, containing: "not a multiple of 2").count == 1)
    }

    @Test func trailingGarbageIsReported() throws {
        var body = DicomBuilder.sample(explicitVR: true, littleEndian: true)
        body.bytes += [0x12, 0x34, 0x56]
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body))
        TransferSyntaxTests.checkSample(file)
        #expect(warnings(file, containing: "3 bytes after the last element").count == 1)
    }

    @Test(arguments: [
        ([] as [UInt8], "too short"),
        ([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00], "not a plausible data element"),
        (Array("This is not DICOM at all, just text.\n".utf8), "(54 68 69 73)"),
        // UTF-32 text: "T" and three zero bytes read as the group length of group 0054, with
        // the next letter as a length that fits; a group length is always the 4 bytes of a UL.
        (utf32LittleEndian("This is not DICOM either: UTF-32 text, long enough.\n"), "(54 00 00 00)"),
        // A group length of 4 only when read big endian (group 0800), in a dataset that would
        // be read little endian: implicit, then explicit with a UL.
        ([0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04] + Array(repeating: 0x41, count: 64), "(08 00 00 00)"),
        ([0x08, 0x00, 0x00, 0x00, 0x55, 0x4C, 0x00, 0x04] + Array(repeating: 0x41, count: 64), "(08 00 00 00)"),
    ])
    func notDicomIsATypedErrorWithAnOffset(bytes: [UInt8], reason: String) {
        let error = #expect(throws: DicomError.self) { try DicomReader.read(bytes) }
        #expect(error?.kind == .notDicom)
        #expect(error?.offset == 0)
        #expect(error?.message.contains(reason) == true, "\(String(describing: error))")
    }

    /// A bare dataset (no preamble, no meta) may begin with a group length: read in its own
    /// byte order it is a UL of 4, whatever the encoding.
    @Test(arguments: [(false, true), (true, true), (true, false)])
    func aBareDatasetThatBeginsWithAGroupLengthIsRead(explicitVR: Bool, littleEndian: Bool) throws {
        var body = DicomBuilder(explicitVR: explicitVR, littleEndian: littleEndian)
        body.element(0x0008, 0x0000, .UL, littleEndian ? [0x20, 0x00, 0x00, 0x00] : [0x00, 0x00, 0x00, 0x20])
        body.bytes += DicomBuilder.sample(explicitVR: explicitVR, littleEndian: littleEndian).bytes
        let file = try DicomReader.read(body.bytes)
        TransferSyntaxTests.checkSample(file)
    }

    @Test func metadataOnlyStopsBeforePixelData() throws {
        var body = DicomBuilder.sample(explicitVR: true, littleEndian: true)
        body.element(0x7FE0, 0x0010, .OW, [], length: 0x7FFF_FFF0)  // claims 2 GB that are not there
        let file = try DicomReader.read(DicomBuilder.part10(syntax: explicitLE, body: body), options: .metadataOnly)
        #expect(file.stoppedBeforePixelData)
        #expect(file.dataset[DicomTag(0x7FE0, 0x0010)] == nil)
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
        TransferSyntaxTests.checkSample(file)
    }

    @Test func corruptDeflateStreamIsReported() throws {
        var bytes = DicomBuilder.part10(syntax: "1.2.840.10008.1.2.1.99", body: DicomBuilder())
        bytes += [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x11, 0x22]
        let error = #expect(throws: DicomError.self) { try DicomReader.read(bytes) }
        #expect(error?.kind == .malformed)
        #expect(error?.message.contains("deflate") == true, "\(String(describing: error))")
    }

    @Test func truncatedCorpusFilesKeepTheirHeaders() throws {
        for name in ["pydicom/test_files/MR_truncated.dcm", "pydicom/test_files/rtplan_truncated.dcm"] {
            let file = try DicomReader.read(contentsOf: try Corpus.path(name))
            #expect(file.dataset["PatientName"] != nil, "\(name)")
            #expect(file.diagnostics.contains { $0.severity == .error }, "\(name)")
        }
    }
}

/// `text` as UTF-32 little endian, as some editors save it.
private func utf32LittleEndian(_ text: String) -> [UInt8] {
    text.unicodeScalars.flatMap { scalar -> [UInt8] in
        let value = scalar.value
        return [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
    }
}

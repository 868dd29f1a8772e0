import Foundation
import TestSupport
import Testing

@testable import DicomCore

@Suite struct TransferSyntaxTests {
    static func checkSample(_ file: DicomFile) {
        #expect(file.dataset["Modality"]?.strings == ["MR"])
        #expect(file.dataset["PatientName"]?.strings == ["Müller^Jörg"])
        #expect(file.dataset["PatientID"]?.strings == ["ID-42"])
        #expect(file.dataset["Rows"]?.integer == 512)
        #expect(file.dataset["Columns"]?.integer == 256)
        let items = file.dataset[DicomTag(0x0008, 0x1140)]?.items ?? []
        #expect(items.count == 2)
        #expect(items.first?[DicomTag(0x0008, 0x1150)]?.string == "1.2.840.10008.5.1.4.1.1.4")
        #expect(items.last?[DicomTag(0x0008, 0x1155)]?.string == "1.2.3.4.5")
    }

    @Test func implicitVRLittleEndian() throws {
        let bytes = DicomBuilder.part10(
            syntax: "1.2.840.10008.1.2", body: .sample(explicitVR: false, littleEndian: true))
        let file = try DicomReader.read(bytes)
        #expect(file.transferSyntax == .implicitVRLittleEndian)
        #expect(file.dataset["Rows"]?.vr == .US)  // from the dictionary
        Self.checkSample(file)
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
    }

    @Test func explicitVRLittleEndian() throws {
        let file = try DicomReader.read(
            DicomBuilder.part10(syntax: "1.2.840.10008.1.2.1", body: .sample(explicitVR: true, littleEndian: true)))
        #expect(file.transferSyntax == .explicitVRLittleEndian)
        Self.checkSample(file)
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
    }

    @Test func explicitVRBigEndianSwapsItemTagsToo() throws {
        let file = try DicomReader.read(
            DicomBuilder.part10(syntax: "1.2.840.10008.1.2.2", body: .sample(explicitVR: true, littleEndian: false)))
        #expect(file.transferSyntax == .explicitVRBigEndian)
        Self.checkSample(file)
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
    }

    @Test func unknownSyntaxUIDIsReadAsExplicitLittleEndian() throws {
        let file = try DicomReader.read(
            DicomBuilder.part10(syntax: "1.2.3.999.1", body: .sample(explicitVR: true, littleEndian: true)))
        #expect(file.transferSyntax.isExplicitVR && file.transferSyntax.isLittleEndian)
        #expect(file.declaredTransferSyntaxUID == "1.2.3.999.1")
        Self.checkSample(file)
    }

    @Test func encapsulatedPixelDataIsWalkedByItemLengths() throws {
        var body = DicomBuilder.sample(explicitVR: true, littleEndian: true)
        body.element(0x7FE0, 0x0010, .OB, [], length: 0xFFFF_FFFF)
        body.tag(0xFFFE, 0xE000)
        body.u32(0)  // empty basic offset table
        // A fragment whose bytes contain a sequence delimiter pattern.
        let fragment: [UInt8] = [0xFF, 0xD8, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0, 0xFF, 0xD9]
        body.tag(0xFFFE, 0xE000)
        body.u32(UInt32(fragment.count))
        body.bytes += fragment
        body.tag(0xFFFE, 0xE000)
        body.u32(4)
        body.bytes += [1, 2, 3, 4]
        body.tag(0xFFFE, 0xE0DD)
        body.u32(0)
        body.text(0xFFFC, 0xFFFC, .OB, "")  // trailing padding element after the pixel data
        let file = try DicomReader.read(DicomBuilder.part10(syntax: "1.2.840.10008.1.2.4.50", body: body))
        #expect(file.transferSyntax.isEncapsulated)
        guard case .encapsulated(let pixels)? = file.dataset[DicomTag(0x7FE0, 0x0010)]?.value else {
            Issue.record("no encapsulated pixel data")
            return
        }
        #expect(pixels.basicOffsetTable.length == 0)
        #expect(pixels.fragments.map(\.length) == [12, 4])
        #expect(file.dataset[DicomTag(0xFFFC, 0xFFFC)] != nil)
        #expect(file.dataset[DicomTag(0x7FE0, 0x0010)]?.vr == .OB)
        Self.checkSample(file)
    }

    @Test func deflatedExplicitLittleEndianFromTheCorpus() throws {
        let file = try DicomReader.read(contentsOf: try Corpus.path("pydicom/test_files/image_dfl.dcm"))
        #expect(file.transferSyntax.isDeflated)
        #expect(file.dataset.count > 20)
        #expect(file.dataset["Rows"]?.integer == 512)
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
    }

    @Test func oneImageInEveryEncodingReadsTheSame() throws {
        // The same MR image written in four transfer syntaxes by pydicom's authors.
        let names = ["MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm"]
        let files = try names.map { try DicomReader.read(contentsOf: Corpus.path("pydicom/test_files/" + $0)) }
        let syntaxes = files.map(\.transferSyntax.uid)
        #expect(syntaxes == ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.2"])
        let reference = files[0].dataset
        for (name, file) in zip(names, files).dropFirst() {
            for element in reference.elements where element.tag < DicomTag(0x7FE0, 0x0010) {
                #expect(file.dataset[element.tag]?.strings == element.strings, "\(name) \(element.tag)")
            }
        }
    }
}

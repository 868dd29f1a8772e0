import Testing

@testable import DicomCore

@Suite struct DicomTagTests {
    @Test func formatsAndOrdersTags() {
        let patientName = DicomTag(0x0010, 0x0010)
        #expect(patientName.description == "(0010,0010)")
        #expect(DicomTag(0x7FE0_0010).description == "(7FE0,0010)")
        #expect(DicomTag(0x0008, 0x0005) < patientName)
        #expect(DicomTag(patientName.value) == patientName)
        #expect(DicomTag(0x0009, 0x0010).isPrivate)
        #expect(!patientName.isPrivate)
    }
}

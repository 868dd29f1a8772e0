import DicomCore
import Foundation
import Testing

/// File ids, recorded XXH3 values and tags are written by ``HexDigits``; every stored document names
/// its file by that text, so it must be exactly what `%02x` per byte and `%016llx` write.
struct HexDigitsTests {
    @Test func bytesAreTwoLowercaseDigitsEachInOrder() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 2, 31, 32, 33, 100] {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            #expect(HexDigits.lowercase(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
        }
        #expect(HexDigits.lowercase([0x00, 0x0F, 0xA0, 0xFF]) == "000fa0ff")
        let all = (0...255).map { UInt8($0) }
        #expect(HexDigits.lowercase(all) == all.map { String(format: "%02x", $0) }.joined())
    }

    @Test func upperCaseIsPaddedToTheCountAsTagsAreWritten() {
        #expect(HexDigits.uppercase(0x10, count: 4) == "0010")
        #expect(HexDigits.uppercase(0x7FE0_0010, count: 8) == "7FE00010")
        #expect(HexDigits.uppercase(0x0A, count: 2) == "0A")
        #expect(DicomTag(0x0008, 0x103E).description == "(0008,103E)")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let value = UInt32.random(in: .min ... .max, using: &generator) >> UInt32.random(in: 0...31)
            #expect(HexDigits.uppercase(UInt64(value), count: 8) == String(format: "%08X", value))
        }
    }

    @Test func aSixtyFourBitValueIsSixteenDigitsWithLeadingZeros() {
        #expect(HexDigits.lowercase(UInt64(0)) == "0000000000000000")
        #expect(HexDigits.lowercase(UInt64(0x1F)) == "000000000000001f")
        #expect(HexDigits.lowercase(UInt64.max) == "ffffffffffffffff")
        #expect(HexDigits.lowercase(UInt64(0x0123_4567_89AB_CDEF)) == "0123456789abcdef")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let value = UInt64.random(in: .min ... .max, using: &generator) >> UInt64.random(in: 0...63)
            #expect(HexDigits.lowercase(value) == String(format: "%016llx", value))
        }
    }
}

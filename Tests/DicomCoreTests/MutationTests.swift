import Foundation
import TestSupport
import Testing

@testable import DicomCore

/// Deterministic damage to real files: truncations, bit flips and corrupted length fields.
/// Whatever comes in, the reader returns (or throws a DicomError) without trapping, and what it
/// returns is bounded by the input: no element, byte or diagnostic appears out of nowhere.
@Suite struct MutationTests {
    static let files = [
        "pydicom/test_files/CT_small.dcm", "pydicom/test_files/MR_small.dcm",
        "pydicom/test_files/MR_small_implicit.dcm",
        "pydicom/test_files/MR_small_bigendian.dcm", "pydicom/test_files/MR_small_RLE.dcm",
        "pydicom/test_files/JPEG2000.dcm",
        "pydicom/test_files/image_dfl.dcm", "pydicom/test_files/rtplan.dcm", "pydicom/test_files/rtstruct.dcm",
        "pydicom/test_files/nested_priv_SQ.dcm", "pydicom/test_files/UN_sequence.dcm", "pydicom/test_files/test-SR.dcm",
        "pydicom/test_files/ExplVR_BigEndNoMeta.dcm", "pydicom/test_files/no_meta_group_length.dcm",
        "pydicom/test_files/meta_missing_tsyntax.dcm", "pydicom/test_files/reportsi.dcm",
        "pydicom/test_files/badVR.dcm",
        "pydicom/test_files/JPEG2000-embedded-sequence-delimiter.dcm", "pydicom/test_files/dicomdirtests/DICOMDIR",
        "pydicom/charset_files/chrH32.dcm", "pydicom/charset_files/chrSQEncoding1.dcm",
        "pydicom/charset_files/chrI2.dcm",
        "pydicom/charset_files/chrX2.dcm", "pydicom-data/bad_sequence.dcm", "pydicom-data/explicit_VR-UN.dcm",
    ]
    static let mutationsPerKind = 40

    @Test func damagedFilesNeverTrapAndStayBounded() throws {
        var random = SplitMix64(seed: 0xD1C0_4E)
        var reads = 0
        var problems: [String] = []
        for name in Self.files {
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try Corpus.path(name))))
            // Mutations concentrate on the header, where the structure is.
            let headerSpan = min(original.count, 8192)
            for kind in 0..<3 {
                for _ in 0..<Self.mutationsPerKind {
                    var bytes = original
                    switch kind {
                    case 0:
                        bytes.removeSubrange(Int(random.next(below: UInt64(original.count)))...)
                    case 1:
                        for _ in 0...random.next(below: 8) {
                            let position = Int(random.next(below: UInt64(headerSpan)))
                            bytes[position] ^= 1 << UInt8(random.next(below: 8))
                        }
                    default:
                        let position = Int(random.next(below: UInt64(max(1, headerSpan - 4))))
                        let lengths: [UInt32] = [0xFFFF_FFFF, 0x7FFF_FFFF, 0xFFFF_FFF0, 0x0001_0000, 0, 1, 0xFFFF]
                        let value = lengths[Int(random.next(below: UInt64(lengths.count)))]
                        for offset in 0..<min(4, bytes.count - position) {
                            bytes[position + offset] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(offset)))
                        }
                    }
                    for options in [DicomReadOptions(), DicomReadOptions.metadataOnly] {
                        reads += 1
                        if let problem = Self.check(bytes, options) {
                            problems.append("\(name) kind \(kind): \(problem)")
                        }
                    }
                }
            }
        }
        #expect(reads == Self.files.count * 3 * Self.mutationsPerKind * 2)
        #expect(problems.isEmpty, Comment(rawValue: problems.prefix(20).joined(separator: "\n")))
    }

    /// Reads the bytes and checks the result against the input's size; nil if all is well.
    static func check(_ bytes: [UInt8], _ options: DicomReadOptions) -> String? {
        let file: DicomFile
        do {
            file = try DicomReader.read(bytes, options: options)
        } catch is DicomError {
            return nil
        } catch {
            return "unexpected error type \(error)"
        }
        var elements = 0
        var inlineBytes = 0
        func walk(_ dataSet: DataSet) {
            for element in dataSet.elements {
                elements += 1
                switch element.value {
                case .bytes(let value): inlineBytes += value.count
                case .bulk(let bulk) where !bulk.inInflatedStream && bulk.offset + bulk.length > bytes.count:
                    inlineBytes += Int.max / 2  // a reference outside the file
                case .sequence(let items): items.forEach(walk)
                default: break
                }
            }
        }
        walk(file.meta)
        walk(file.dataset)
        // Outputs walk every value too.
        _ = DicomJSON.encode(file).serialized()
        _ = DicomDump.render(file)
        let inflatedAllowance = file.transferSyntax.isDeflated ? DicomReader.inflateLimit(bytes.count) : bytes.count
        if elements > inflatedAllowance / 4 + 1 { return "\(elements) elements from \(bytes.count) bytes" }
        if inlineBytes > inflatedAllowance { return "\(inlineBytes) inline bytes from \(bytes.count) bytes" }
        if file.diagnostics.count > 1000 { return "\(file.diagnostics.count) diagnostics" }
        return nil
    }
}

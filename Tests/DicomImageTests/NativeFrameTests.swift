import Crypto
import DicomCore
import Foundation
import TestSupport
import Testing

@testable import DicomImage

/// Decoded frames and pictures of every corpus file with native or JPEG 2000 pixel data, against pydicom's
/// pixel arrays and a viewer's display pipeline computed with numpy (scripts/pixel_oracle.py).
@Suite struct NativeFrameTests {
    static func sha256(_ bytes: some Sequence<UInt8>) -> String {
        SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
    }

    @Test func everyNativeAndJPEG2000FrameIsPydicomsArrayAndEveryPictureNumpys() throws {
        let paths = try Corpus.cachedOracle().files.filter(\.readable).map(\.path)
        let output = try ProjectScripts.run("pixel_oracle.py", paths)
        let oracle = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: Any]])
        var compared = 0
        for (path, expected) in oracle {
            guard let frames = expected["frames"] as? [String] else { continue }
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let image: StoredImage
            do {
                image = try StoredImage(bytes)
            } catch {
                // What dql does not show yet, it says so (never a wrong picture).
                #expect(error.message.contains("dql does not show yet"), "\(path): \(error)")
                continue
            }
            for (index, hash) in frames.enumerated() {
                let frame = try image.frame(index, in: bytes)
                let little = frame.samples.flatMap { sample in
                    withUnsafeBytes(of: sample.littleEndian) { Array($0) }
                }
                #expect(Self.sha256(little) == hash, "\(path) frame \(index + 1)")
            }
            if let picture = expected["picture"] as? String {
                let rendered = Picture.render(try image.frame(0, in: bytes), image.description)
                #expect(Self.sha256(rendered.pixels) == picture, "\(path) picture")
            }
            compared += 1
        }
        #expect(compared >= 20)
    }

    @Test func aFrameThatIsNotThereIsAnErrorNotACrash() throws {
        let path = try Corpus.path("pydicom/test_files/CT_small.dcm")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let image = try StoredImage(bytes)
        #expect(throws: ImageError("frame 2 asked for; the file has 1")) { try image.frame(1, in: bytes) }
        // Cut inside the pixel data: the frame's bytes are not all there.
        let cut = Array(bytes.prefix(bytes.count - 10_000))
        #expect(throws: ImageError.self) { try StoredImage(cut).frame(0, in: cut) }
    }

    @Test func damagedJPEG2000IsAnErrorNeverACrash() throws {
        let path = try Corpus.path("pydicom/test_files/JPEG2000.dcm")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let image = try StoredImage(bytes)
        _ = try image.frame(0, in: bytes)
        // Cut short, bytes flipped inside the codestream, garbage: each an ImageError.
        var generator = SplitMix64(seed: 7)
        for trial in 0..<40 {
            var damaged = bytes
            switch trial % 3 {
            case 0: damaged = Array(bytes.prefix(bytes.count - Int(generator.next() % UInt64(bytes.count / 2))))
            case 1:
                for _ in 0..<20 {
                    let at = bytes.count / 2 + Int(generator.next() % UInt64(bytes.count / 2))
                    damaged[at] = UInt8(truncatingIfNeeded: generator.next())
                }
            default: break
            }
            if let damagedImage = try? StoredImage(damaged) {
                _ = try? damagedImage.frame(0, in: damaged)
            }
        }
        let garbage = (0..<4096).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        #expect(throws: ImageError.self) {
            try JPEG2000Frames.decode([0xFF, 0x4F, 0xFF, 0x51] + garbage, description: image.description)
        }
        #expect(throws: ImageError.self) { try JPEG2000Frames.decode([1, 2, 3], description: image.description) }
    }

    @Test func aCodestreamThatDisagreesWithTheHeaderIsRefusedBeforeDecoding() throws {
        let path = try Corpus.path("pydicom/test_files/JPEG2000.dcm")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let image = try StoredImage(bytes)
        guard case .encapsulated(let pixels)? = image.file.dataset[DicomTag(0x7FE0, 0x0010)]?.value else {
            Issue.record("not encapsulated")
            return
        }
        let codestream = try EncapsulatedFrames.frame(
            0, of: pixels, frames: 1, in: bytes, startMarker: [0xFF, 0x4F, 0xFF, 0x51])
        var claimed = image.description
        claimed.rows = 16
        #expect(
            throws: ImageError(
                "the codestream is \(image.description.columns)×\(image.description.rows) with 1 component; the header says \(image.description.columns)×16 with 1"
            )
        ) { try JPEG2000Frames.decode(codestream, description: claimed) }
    }

    @Test func aBasicOffsetTableThatDoesNotRiseIsNotFollowed() {
        func table(_ offsets: [UInt32]) -> (BulkData, [UInt8]) {
            let bytes = offsets.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }
            return (BulkData(offset: 0, length: bytes.count), bytes)
        }
        for (offsets, valid) in [
            ([0, 10, 20], true), ([0, 0, 0], false), ([20, 10, 0], false), ([4, 10, 20], false),
        ] {
            let (bulk, bytes) = table(offsets.map(UInt32.init))
            #expect((EncapsulatedFrames.tableOffsets(bulk, 3, bytes) != nil) == valid, "\(offsets)")
        }
    }

    @Test func aTerminalPictureFitsItsColumnsAndLines() {
        let picture = Picture(width: 200, height: 100, channels: 1, pixels: [UInt8](repeating: 7, count: 20_000))
        // Without a height, only the columns limit it (2 pixel rows a line).
        let wide = TerminalPicture.draw(picture, columns: 50)
        #expect(wide.split(separator: "\n").count == 13)
        #expect(wide.split(separator: "\n").allSatisfy { $0.components(separatedBy: "▀").count - 1 == 50 })
        let short = TerminalPicture.draw(picture, columns: 200, lines: 10)
        #expect(short.split(separator: "\n").count == 10)
    }

    @Test func aPNGIsReadBackByPython() throws {
        let picture = Picture(width: 3, height: 2, channels: 1, pixels: [0, 128, 255, 10, 20, 30])
        let png = try PNGEncoder.encode(picture)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dql-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(png).write(to: file)
        // zlib and the chunk CRCs checked by Python's own zlib and binascii.
        let check = try ProjectScripts.run("png_check.py", [file.path])
        #expect(check == "3 2 0 128 255 10 20 30\n")
    }
}

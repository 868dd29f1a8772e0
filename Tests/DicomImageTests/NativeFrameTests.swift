import Crypto
import DicomCore
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import DicomImage

/// Decoded frames and pictures of every corpus file with native, JPEG, JPEG-LS, JPEG 2000 or RLE pixel data, against pydicom's
/// pixel arrays and a viewer's display pipeline computed with numpy (scripts/pixel_oracle.py).
@Suite struct NativeFrameTests {
    static func sha256(_ bytes: some Sequence<UInt8>) -> String {
        SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
    }

    @Test func everyDecodableFrameIsPydicomsArrayAndEveryPictureNumpys() throws {
        let paths = try Corpus.cachedOracle().files.filter(\.readable).map(\.path)
        let output = try ProjectScripts.run("pixel_oracle.py", paths)
        let oracle = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: Any]])
        var compared = 0
        var notShown: [String] = []
        var readAlone = 0
        for (path, expected) in oracle {
            guard let frames = expected["frames"] as? [String] else { continue }
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let image: StoredImage
            let decoded: [Frame]
            do {
                image = try StoredImage(bytes)
                decoded = try image.frames(in: bytes)
            } catch {
                // What dql does not show yet, it says so (never a wrong picture).
                #expect(error.message.contains("dql does not show yet"), "\(path): \(error)")
                notShown.append(URL(fileURLWithPath: path).lastPathComponent)
                continue
            }
            #expect(decoded.count == frames.count, "\(path)")
            if let raw = expected["lossy"] as? String {
                // Lossy syntaxes: GDCM's decoder and pydicom's may round differently.
                let all = try Self.int32s(raw)
                let perFrame = all.count / frames.count
                for (index, frame) in decoded.enumerated() {
                    let theirs = all[(index * perFrame)..<((index + 1) * perFrame)]
                    #expect(frame.samples.count == theirs.count, "\(path) frame \(index + 1)")
                    var largest = 0
                    var total = 0
                    frame.samples.withUnsafeBufferPointer { ours in
                        theirs.withUnsafeBufferPointer { theirs in
                            for index in 0..<min(ours.count, theirs.count) {
                                let difference = abs(Int(ours[index]) - Int(theirs[index]))
                                total += difference
                                largest = max(largest, difference)
                            }
                        }
                    }
                    let mean = Double(total) / Double(max(frame.samples.count, 1))
                    #expect(
                        largest <= Self.lossyTolerance.largest && mean <= Self.lossyTolerance.mean,
                        "\(path) frame \(index + 1): differs by up to \(largest), \(mean) on average")
                }
                compared += 1
                continue
            }
            // A native frame read alone, from the header and its own bytes, is the same frame.
            let header = Array(bytes.prefix(try DicomReader.read(bytes, options: .metadataOnly).headerLength))
            let alone = try StoredImage(header: header)
            for (index, frame) in decoded.enumerated() {
                guard let range = try alone.frameRange(index) else { break }
                #expect(try alone.frame(index, from: Array(bytes[range])) == frame, "\(path) frame \(index + 1) alone")
                readAlone += 1
            }
            for (index, (hash, frame)) in zip(frames, decoded).enumerated() {
                // The samples' bytes as they lie in memory: little-endian on the machines dql runs on.
                let digest = frame.samples.map(\.littleEndian).withUnsafeBytes {
                    SHA256.hash(data: $0).map { String(format: "%02x", $0) }.joined()
                }
                #expect(digest == hash, "\(path) frame \(index + 1)")
            }
            if let picture = expected["picture"] as? String {
                let rendered = Picture.render(decoded[0], image.description)
                #expect(Self.sha256(rendered.pixels) == picture, "\(path) picture")
            }
            compared += 1
        }
        #expect(compared >= 75)
        #expect(readAlone >= 60)
        // What pydicom decodes and dql does not show yet, by name.
        #expect(
            Set(notShown)
                == [
                    // Colour RLE wider than 8 bits (GDCM orders its bytes wrongly).
                    "SC_rgb_rle_16bit.dcm", "SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_32bit.dcm",
                    "SC_rgb_rle_32bit_2frame.dcm",
                ], "\(notShown.sorted())")
    }

    /// How far a lossy frame may be from pydicom's: two JPEG decoders' inverse DCTs and colour
    /// conversions round differently (GDCM's IJG libjpeg 6b against pylibjpeg's libjpeg).
    static let lossyTolerance = (largest: 6, mean: 0.25)

    /// Little-endian 32-bit samples from a file the oracle wrote.
    static func int32s(_ path: String) throws -> [Int32] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var samples = [Int32](repeating: 0, count: data.count / 4)
        samples.withUnsafeMutableBytes { destination in
            data.withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source.prefix(destination.count)))
            }
        }
        return samples.map { Int32(littleEndian: $0) }
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

    /// JPEG lossless, JPEG-LS and RLE cut short, with bytes flipped, or with a header that
    /// claims more frames: each an ImageError or a frame, never a crash.
    @Test func damagedJPEGAndRLEAreErrorsNeverCrashes() throws {
        var generator = SplitMix64(seed: 11)
        for name in [
            "pydicom-data/JPEG-LL.dcm", "pydicom/test_files/MR_small_jpeg_ls_lossless.dcm",
            "pydicom/test_files/MR_small_RLE.dcm", "pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm",
        ] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Corpus.path(name))))
            _ = try StoredImage(bytes).frame(0, in: bytes)
            for trial in 0..<30 {
                var damaged = bytes
                if trial % 2 == 0 {
                    damaged = Array(bytes.prefix(bytes.count - 1 - Int(generator.next() % UInt64(bytes.count / 2))))
                } else {
                    for _ in 0..<20 {
                        let at = bytes.count / 2 + Int(generator.next() % UInt64(bytes.count / 2))
                        damaged[at] = UInt8(truncatingIfNeeded: generator.next())
                    }
                }
                if let image = try? StoredImage(damaged) { _ = try? image.frame(0, in: damaged) }
            }
            // A header that promises more frames than the data holds.
            var claimed = try StoredImage(bytes)
            claimed.description.frames = 3
            #expect(throws: ImageError.self, "\(name)") { try claimed.frame(2, in: bytes) }
        }
    }

    /// Palettes with damaged tables (random words in a segmented table, a table cut short)
    /// and bit-packed frames cut short or claimed in greater number: each an ImageError or a
    /// picture, never a crash.
    @Test func damagedPalettesAndBitPackedFramesAreErrorsNeverCrashes() throws {
        var generator = SplitMix64(seed: 13)
        for name in ["pydicom-data/gdcm-US-ALOKA-16.dcm", "pydicom-data/OBXXXX1A.dcm", "pydicom-data/liver.dcm"] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Corpus.path(name))))
            let image = try StoredImage(bytes)
            _ = Picture.render(try image.frame(0, in: bytes), image.description)
            // The tables lie before Pixel Data: damage falls among them.
            let tables = [0x1201, 0x1221].compactMap { element -> BulkData? in
                if case .bulk(let bulk) = image.file.dataset[DicomTag(0x0028, UInt16(element))]?.value {
                    bulk
                } else {
                    nil
                }
            }
            for trial in 0..<40 {
                var damaged = bytes
                if trial % 2 == 0, let table = tables.first {
                    for _ in 0..<8 {
                        let at = table.offset + Int(generator.next() % UInt64(max(1, table.length)))
                        damaged[at] = UInt8(truncatingIfNeeded: generator.next())
                    }
                } else {
                    damaged = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
                }
                if let damagedImage = try? StoredImage(damaged), let frame = try? damagedImage.frame(0, in: damaged) {
                    _ = Picture.render(frame, damagedImage.description)
                }
            }
            var claimed = image
            claimed.description.frames = 1_000
            #expect(throws: ImageError.self, "\(name)") { try claimed.frame(999, in: bytes) }
        }
    }

    /// Pictures the oracle has no numpy picture for: 32-bit RGB keeps its top byte (unsigned
    /// samples above 2^31 are not negative), and single bits are black or white whatever the
    /// frame holds (an empty segment is not grey).
    @Test func wideColourAndSingleBitsAreShownAsTheyAre() throws {
        let rgbPath = try Corpus.path("pydicom-data/SC_rgb_32bit.dcm")
        let rgb = [UInt8](try Data(contentsOf: URL(fileURLWithPath: rgbPath)))
        let rgbImage = try StoredImage(rgb)
        let frame = try rgbImage.frame(0, in: rgb)
        let picture = Picture.render(frame, rgbImage.description)
        #expect(picture.pixels == frame.samples.map { UInt8(UInt32(bitPattern: $0) >> 24) })
        #expect(Array(picture.pixels.prefix(3)) == [255, 0, 0])

        let bitsPath = try Corpus.path("pydicom/test_files/liver_1frame.dcm")
        var bits = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bitsPath)))
        let bitsImage = try StoredImage(bits)
        guard case .bulk(let pixelData)? = bitsImage.file.dataset[DicomTag(0x7FE0, 0x0010)]?.value else {
            Issue.record("no native Pixel Data")
            return
        }
        for (fill, shown) in [(UInt8(0), UInt8(0)), (0xFF, 255)] {
            for at in pixelData.offset..<(pixelData.offset + pixelData.length) { bits[at] = fill }
            let uniform = Picture.render(try bitsImage.frame(0, in: bits), bitsImage.description)
            #expect(uniform.pixels.allSatisfy { $0 == shown }, "all \(fill)")
        }
    }

    /// Baseline JPEG whose data breaks off (libjpeg-turbo would fill the rest with grey) is
    /// an error, not a half-grey picture.
    @Test func aJPEGThatBreaksOffIsAnError() throws {
        let path = try Corpus.path("pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let image = try StoredImage(bytes)
        _ = try image.frame(0, in: bytes)
        guard case .encapsulated(let pixels)? = image.file.dataset[DicomTag(0x7FE0, 0x0010)]?.value,
            let fragment = pixels.fragments.first
        else {
            Issue.record("not encapsulated")
            return
        }
        // An end-of-image marker half way through the entropy-coded data.
        let middle = fragment.offset + fragment.length / 2
        bytes[middle] = 0xFF
        bytes[middle + 1] = 0xD9
        for at in (middle + 2)..<(fragment.offset + fragment.length) { bytes[at] = 0 }
        let error = #expect(throws: ImageError.self) { try StoredImage(bytes).frame(0, in: bytes) }
        #expect(
            error?.message.hasPrefix("its JPEG data is damaged (libjpeg-turbo: ") == true,
            "\(String(describing: error))")
    }

    /// A segmented palette (PS3.3 C.7.9.2) expands as pydicom expands it: discrete values,
    /// linear ramps rounded half to even, indirect segments replaying earlier ones; damage is
    /// named.
    @Test func segmentedPalettesExpandAsPydicomDoes() throws {
        // Discrete 0, 10; linear to 20 over 4; indirect: replay 1 segment from word 0.
        let table = try ColourPalette.expand(
            [0, 2, 0, 10, 1, 4, 20, 2, 1, 0, 0], bigEndian: false, eightBit: false, colour: "Red")
        #expect(table == [0, 10, 12, 15, 18, 20, 0, 10])
        #expect(
            throws: ImageError("its Segmented Red Palette Color LUT Data is damaged: it starts with a linear segment")
        ) {
            try ColourPalette.expand([1, 4, 20], bigEndian: false, eightBit: false, colour: "Red")
        }
        #expect(
            throws: ImageError(
                "its Segmented Red Palette Color LUT Data is damaged: indirect segments point at each other")
        ) {
            try ColourPalette.expand([0, 1, 5, 2, 9, 0, 0], bigEndian: false, eightBit: false, colour: "Red")
        }
        #expect(
            throws: ImageError(
                "its Segmented Red Palette Color LUT Data is damaged: segment type 7 is not one of 0, 1 and 2")
        ) {
            try ColourPalette.expand([0, 1, 5, 7, 1], bigEndian: false, eightBit: false, colour: "Red")
        }
    }

    /// Helpers started at once from several threads each see the end of their own input (they
    /// inherited each other's pipes, and waited for ever).
    @Test(.timeLimit(.minutes(1))) func decodesFromSeveralThreadsAtOnceFinish() throws {
        let names = [
            "pydicom-data/JPEG-LL.dcm", "pydicom/test_files/MR_small_jpeg_ls_lossless.dcm",
            "pydicom/test_files/MR_small_RLE.dcm", "pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm",
        ]
        let files = try names.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Corpus.path($0)))) }
        let decoded = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            let bytes = files[index % files.count]
            if (try? StoredImage(bytes).frame(0, in: bytes)) != nil { decoded.withLock { $0 += 1 } }
        }
        #expect(decoded.withLock { $0 } == 16)
    }

    /// A decoder that answers nothing is stopped at the deadline, or when the statement is
    /// cancelled, and killed: never waited for for ever, never left running.
    @Test(.timeLimit(.minutes(1))) func aStuckDecoderIsStoppedAndKilled() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-stuck-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pidFile = directory.appendingPathComponent("pid").path
        let stuck = directory.appendingPathComponent("dql-decode").path
        try "#!/bin/sh\necho $$ > '\(pidFile)'\nexec sleep 1000\n".write(
            toFile: stuck, atomically: true, encoding: .utf8)
        chmod(stuck, 0o755)
        // A megabyte of input: more than a pipe holds, so writing must not block either.
        let input = [UInt8](repeating: 1, count: 1 << 20)
        #expect(throws: ImageError("the decoder (GDCM) gave no answer within 1 s, and was stopped")) {
            try DecoderProcess.decode(input, maxLength: 100, helper: stuck, deadline: 1)
        }
        let started = ContinuousClock.now
        #expect(throws: ImageError.cancelled) {
            try DecoderProcess.decode(
                input, maxLength: 100, isCancelled: { ContinuousClock.now - started > .milliseconds(300) },
                helper: stuck)
        }
        // The helper is gone (killed, and waited for).
        let pid =
            Int32(
                (try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines))
            ?? 0
        #expect(pid > 0 && kill(pid, 0) != 0)
        // One that is there but cannot run says why.
        chmod(stuck, 0o644)
        let error = #expect(throws: ImageError.self) { try DecoderProcess.decode(input, maxLength: 100, helper: stuck) }
        #expect(error?.message.contains("Permission denied") == true, "\(String(describing: error))")
    }

    /// Debian's GDCM aborts on a JPEG frame header of precision 0 (an assertion): in its own
    /// process, that is an error that says so, and dql goes on.
    @Test func aDecoderThatCrashesIsAnError() throws {
        let path = try Corpus.path("pydicom-data/JPEG-LL.dcm")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let image = try StoredImage(bytes)
        guard case .encapsulated(let pixels)? = image.file.dataset[DicomTag(0x7FE0, 0x0010)]?.value,
            let start = pixels.fragments.first?.offset,
            let sof = (start..<(bytes.count - 4)).first(where: { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC3 })
        else {
            Issue.record("no lossless JPEG frame header")
            return
        }
        bytes[sof + 4] = 0  // the sample precision
        let error = #expect(throws: ImageError.self) { try StoredImage(bytes).frame(0, in: bytes) }
        #expect(
            error?.message.contains("the decoder (GDCM) crashed on its pixel data") == true,
            "\(String(describing: error))")
        // And the next decode works.
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        _ = try StoredImage(good).frame(0, in: good)
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

/// Frames of native (uncompressed) pixel data, sliced from the file's bytes without copying
/// the rest: frame N starts N × frameBits bits from the start of Pixel Data (bit-packed frames
/// of single bits may start inside a byte).
public enum NativePixels {
    /// Where frame `index` (0-based) lies in Pixel Data: its bytes, and the bit of the first
    /// byte its first sample starts at. An error when the file has no such frame.
    public static func location(
        of index: Int, description: ImageDescription
    ) throws(ImageError) -> (bytes: Range<Int>, firstBit: Int) {
        guard index >= 0, index < description.frames else {
            throw ImageError("frame \(index + 1) asked for; the file has \(description.frames)")
        }
        let startBit = index * description.frameBits
        return (startBit / 8..<((startBit + description.frameBits + 7) / 8), startBit % 8)
    }

    /// Where frame `index` lies in `pixelData`: an error when the file has no such frame or its
    /// Pixel Data is too short for it.
    static func byteRange(
        of index: Int, in pixelData: UnsafeRawBufferPointer, description: ImageDescription
    ) throws(ImageError) -> (bytes: Range<Int>, firstBit: Int) {
        let location = try location(of: index, description: description)
        guard location.bytes.upperBound <= pixelData.count else {
            throw ImageError(
                "Pixel Data holds \(pixelData.count) bytes, too few for frame \(index + 1) of \(description.frames) (\(description.frameLength) bytes each)"
            )
        }
        return location
    }

    /// Frame `index` (0-based) from the Pixel Data value `pixelData`.
    /// `swappedPairs`: 8-bit samples in an OW value of a big endian file, whose bytes come in
    /// swapped pairs (OW is a stream of 16-bit words); single bits in such a value likewise.
    public static func frame(
        _ index: Int, of pixelData: UnsafeRawBufferPointer, description: ImageDescription, bigEndian: Bool = false,
        swappedPairs: Bool = false
    ) throws(ImageError) -> Frame {
        let (range, firstBit) = try byteRange(of: index, in: pixelData, description: description)
        guard swappedPairs else {
            return decode(
                UnsafeRawBufferPointer(rebasing: pixelData[range]), firstBit: firstBit, description: description,
                bigEndian: bigEndian)
        }
        // The bytes put back in order, the pair of the last byte of an odd value being the
        // padding byte after it.
        let start = range.lowerBound & ~1
        let end = min(pixelData.count, (range.upperBound + 1) & ~1)
        var ordered = [UInt8](repeating: 0, count: range.upperBound + 1 - start)
        for position in start..<range.upperBound {
            let swapped = position ^ 1
            ordered[position - start] = swapped < end ? pixelData[swapped] : 0
        }
        return ordered.withUnsafeBytes { bytes in
            decode(
                UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound - start)...]), firstBit: firstBit,
                description: description, bigEndian: bigEndian)
        }
    }

    /// A frame from its own bytes (`location(of:description:)` says where they are), the first
    /// sample starting at bit `firstBit` of the first byte.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, firstBit: Int = 0, description: ImageDescription, bigEndian: Bool = false
    ) -> Frame {
        let count = description.rows * description.columns * description.samplesPerPixel
        var samples = [Int32](repeating: 0, count: count)
        let bits = description.bitsStored
        let signed = description.isSigned
        let mask: UInt32 = bits >= 32 ? .max : (1 << UInt32(bits)) - 1
        let signBit: UInt32 = bits >= 32 ? 0 : 1 << UInt32(bits - 1)
        @inline(__always) func value(_ raw: UInt32) -> Int32 {
            let stored = raw & mask
            if signed && bits < 32 && stored & signBit != 0 { return Int32(bitPattern: stored | ~mask) }
            return Int32(bitPattern: stored)
        }
        switch description.bitsAllocated {
        case 1:
            // Bit-packed, the first pixel in the lowest bit (PS3.5 D.2); a value is 0 or 1.
            for position in 0..<count {
                let bit = firstBit + position
                samples[position] = Int32((bytes[bit >> 3] >> UInt8(bit & 7)) & 1)
            }
        case 8:
            for position in 0..<count { samples[position] = value(UInt32(bytes[position])) }
        case 16:
            for position in 0..<count {
                let low = UInt32(bytes[2 * position])
                let high = UInt32(bytes[2 * position + 1])
                samples[position] = value(bigEndian ? low << 8 | high : high << 8 | low)
            }
        default:
            for position in 0..<count {
                var raw: UInt32 = 0
                for byte in 0..<4 {
                    let shift = bigEndian ? UInt32(3 - byte) * 8 : UInt32(byte) * 8
                    raw |= UInt32(bytes[4 * position + byte]) << shift
                }
                samples[position] = value(raw)
            }
        }
        // Colour by plane (RRR… GGG… BBB…) is reordered pixel by pixel.
        if description.samplesPerPixel == 3 && description.planarConfiguration == 1 {
            let pixels = description.rows * description.columns
            var interleaved = [Int32](repeating: 0, count: count)
            for pixel in 0..<pixels {
                for plane in 0..<3 { interleaved[3 * pixel + plane] = samples[plane * pixels + pixel] }
            }
            samples = interleaved
        }
        return Frame(
            rows: description.rows, columns: description.columns, samplesPerPixel: description.samplesPerPixel,
            samples: samples)
    }
}

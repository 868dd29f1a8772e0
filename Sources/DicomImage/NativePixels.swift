/// Frames of native (uncompressed) pixel data, sliced from the file's bytes without copying
/// the rest: the bytes of frame N are at N × frameLength from the start of Pixel Data.
public enum NativePixels {
    /// Where frame `index` (0-based) lies in `pixelData`: an error when the file has no such
    /// frame or its Pixel Data is too short for it.
    static func byteRange(
        of index: Int, in pixelData: UnsafeRawBufferPointer, description: ImageDescription
    ) throws(ImageError) -> Range<Int> {
        guard index >= 0, index < description.frames else {
            throw ImageError("frame \(index + 1) asked for; the file has \(description.frames)")
        }
        let length = description.frameLength
        let start = index * length
        guard start + length <= pixelData.count else {
            throw ImageError(
                "Pixel Data holds \(pixelData.count) bytes, too few for frame \(index + 1) of \(description.frames) (\(length) bytes each)"
            )
        }
        return start..<(start + length)
    }

    /// Frame `index` (0-based) from the Pixel Data value `pixelData`.
    /// `swappedPairs`: 8-bit samples in an OW value of a big endian file, whose bytes come in
    /// swapped pairs (OW is a stream of 16-bit words).
    public static func frame(
        _ index: Int, of pixelData: UnsafeRawBufferPointer, description: ImageDescription, bigEndian: Bool = false,
        swappedPairs: Bool = false
    ) throws(ImageError) -> Frame {
        let range = try byteRange(of: index, in: pixelData, description: description)
        let start = range.lowerBound
        let bytes = UnsafeRawBufferPointer(rebasing: pixelData[range])
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
        case 8 where swappedPairs:
            // The pair of the last sample of an odd frame is the padding byte after it.
            for position in 0..<count {
                let swapped = start + (position ^ 1)
                samples[position] = value(UInt32(swapped < pixelData.count ? pixelData[swapped] : 0))
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

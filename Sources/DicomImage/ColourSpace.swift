/// Colour stored as luminance and chrominance (YBR_FULL, PS3.3 C.7.6.3.1.2) turned into RGB,
/// as a viewer shows it, with the same arithmetic as pydicom's `convert_color_space` (ITU-R
/// BT.601 full range, 32-bit floats, rounded half up, clipped).
public enum ColourSpace {
    /// `frame` in RGB: as it is when it is RGB or grey already; converted from YBR_FULL; an
    /// error for a subsampled layout that has to be expanded first.
    public static func rgb(_ frame: Frame, photometric: String, bitsAllocated: Int) throws(ImageError) -> Frame {
        guard frame.samplesPerPixel == 3, photometric.hasPrefix("YBR") else { return frame }
        guard photometric == "YBR_FULL" else {
            throw ImageError("its colour is \(photometric), which dql does not show yet")
        }
        guard bitsAllocated == 8 else {
            throw ImageError(
                "its colour is \(photometric) in \(bitsAllocated)-bit samples, which dql does not show yet")
        }
        var converted = frame
        // The products of each chrominance value, computed once (the same Float arithmetic as
        // per pixel, so the same results).
        let cbG = Float(-0.114 * 1.772 / 0.587)
        let crG = Float(-0.299 * 1.402 / 0.587)
        let red = (0..<256).map { Float(1.402) * (Float($0) - 128) }
        let greenFromBlue = (0..<256).map { cbG * (Float($0) - 128) }
        let greenFromRed = (0..<256).map { crG * (Float($0) - 128) }
        let blue = (0..<256).map { Float(1.772) * (Float($0) - 128) }
        // Rounded half up and clipped: floor(v + 0.5) is the truncation of v + 0.5 when that
        // is not negative.
        @inline(__always) func clipped(_ value: Float) -> Int32 {
            let shifted = value + 0.5
            return shifted < 0 ? 0 : shifted >= 255 ? 255 : Int32(shifted)
        }
        frame.samples.withUnsafeBufferPointer { source in
            converted.samples.withUnsafeMutableBufferPointer { target in
                for pixel in stride(from: 0, to: source.count - 2, by: 3) {
                    let y = Float(source[pixel])
                    let cb = Int(UInt8(truncatingIfNeeded: source[pixel + 1]))
                    let cr = Int(UInt8(truncatingIfNeeded: source[pixel + 2]))
                    target[pixel] = clipped(y + red[cr])
                    target[pixel + 1] = clipped(y + greenFromBlue[cb] + greenFromRed[cr])
                    target[pixel + 2] = clipped(y + blue[cb])
                }
            }
        }
        return converted
    }

    /// A frame of native YBR_FULL_422 pixel data from its own bytes (8 bits: Y1 Y2 Cb Cr for
    /// each pair of pixels along a row) as full YBR, each pixel with its pair's chrominance.
    public static func expand422(
        _ bytes: UnsafeRawBufferPointer, description: ImageDescription
    ) throws(ImageError) -> Frame {
        guard description.bitsAllocated == 8, description.columns % 2 == 0 else {
            throw ImageError(
                "its colour is YBR_FULL_422 with \(description.bitsAllocated)-bit samples and \(description.columns) columns, which dql does not show yet"
            )
        }
        let pixels = description.rows * description.columns
        var samples = [Int32](repeating: 0, count: pixels * 3)
        for pair in 0..<(pixels / 2) {
            let at = pair * 4
            let cb = Int32(bytes[at + 2])
            let cr = Int32(bytes[at + 3])
            for half in 0..<2 {
                let pixel = (pair * 2 + half) * 3
                samples[pixel] = Int32(bytes[at + half])
                samples[pixel + 1] = cb
                samples[pixel + 2] = cr
            }
        }
        return Frame(rows: description.rows, columns: description.columns, samplesPerPixel: 3, samples: samples)
    }
}

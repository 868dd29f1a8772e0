/// An 8-bit picture ready for a screen or a PNG: grey (one byte a pixel) or RGB (three).
public struct Picture: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The display pipeline of a viewer (PS3.4 N.2): the Modality LUT (rescale slope and
    /// intercept), then the VOI window (the one given, else the header's, else the full range
    /// of the frame's values), then MONOCHROME1 inverted; RGB is shown as stored (scaled to 8
    /// bits), PALETTE COLOR through its palette.
    public static func render(_ frame: Frame, _ description: ImageDescription, window given: Window? = nil) -> Picture {
        let count = frame.rows * frame.columns
        if let palette = description.palette, frame.samplesPerPixel == 1 { return palette.picture(frame) }
        if frame.samplesPerPixel == 3 {
            let shift = max(0, description.bitsStored - 8)
            // Unsigned 32-bit samples above 2^31 are negative as Int32: read them back unsigned.
            let signed = description.isSigned
            let pixels = frame.samples.map { sample in
                UInt8(truncatingIfNeeded: (signed ? max(0, Int(sample)) : Int(UInt32(bitPattern: sample))) >> shift)
            }
            return Picture(width: frame.columns, height: frame.rows, channels: 3, pixels: pixels)
        }
        let slope = description.rescaleSlope
        let intercept = description.rescaleIntercept
        // Single bits span 0 to 1 whatever a frame holds: an empty segment is black, a full
        // one white.
        let (low, high) = description.bitsAllocated == 1 ? (0, 1) : Self.range(of: frame.samples)
        let window = given ?? description.window ?? Self.window(spanning: (low, high), description)
        let invert = description.photometric == "MONOCHROME1"
        var pixels = [UInt8](repeating: 0, count: count)
        @inline(__always) func shown(_ sample: Int32) -> UInt8 {
            let value = window.display(Double(sample) * slope + intercept)
            return invert ? 255 - value : value
        }
        // Stored values span at most a few thousand values in practice: one lookup table over
        // that span instead of arithmetic per pixel, when the span is smaller than the frame.
        if count > 0, Int64(high) - Int64(low) < min(1 << 20, Int64(count)) {
            let table = (low...high).map(shown)
            frame.samples.withUnsafeBufferPointer { samples in
                table.withUnsafeBufferPointer { lookup in
                    for position in 0..<count { pixels[position] = lookup[Int(samples[position] - low)] }
                }
            }
        } else {
            for position in 0..<count { pixels[position] = shown(frame.samples[position]) }
        }
        return Picture(width: frame.columns, height: frame.rows, channels: 1, pixels: pixels)
    }

    /// The window a grey frame is shown with: the one given, else the header's first, else the
    /// full range of the frame's modality values (as a viewer does without a window).
    public static func window(for frame: Frame, _ description: ImageDescription, given: Window? = nil) -> Window {
        given ?? description.window
            ?? window(spanning: description.bitsAllocated == 1 ? (0, 1) : range(of: frame.samples), description)
    }

    /// The lowest and highest sample, (0, 0) for none.
    static func range(of samples: [Int32]) -> (low: Int32, high: Int32) {
        guard var low = samples.first else { return (0, 0) }
        var high = low
        for sample in samples {
            low = min(low, sample)
            high = max(high, sample)
        }
        return (low, high)
    }

    /// The window over stored values from `low` to `high`, in modality values.
    static func window(spanning range: (low: Int32, high: Int32), _ description: ImageDescription) -> Window {
        let (low, high) = range
        let a = Double(low) * description.rescaleSlope + description.rescaleIntercept
        let b = Double(high) * description.rescaleSlope + description.rescaleIntercept
        return Window(center: (a + b) / 2 + 0.5, width: max(abs(b - a) + 1, 2))
    }

    /// The picture scaled to fit `size` pixels on its longer side (nearest neighbour); never
    /// larger than it is unless `enlarging`.
    public func fitted(to size: Int, enlarging: Bool = false) -> Picture {
        let longer = max(width, height)
        guard longer > size || (enlarging && longer < size), size > 0, longer > 0 else { return self }
        let scale = Double(size) / Double(longer)
        let newWidth = max(1, Int(Double(width) * scale))
        let newHeight = max(1, Int(Double(height) * scale))
        var scaled = [UInt8](repeating: 0, count: newWidth * newHeight * channels)
        for y in 0..<newHeight {
            let sourceY = min(height - 1, Int(Double(y) / scale))
            for x in 0..<newWidth {
                let sourceX = min(width - 1, Int(Double(x) / scale))
                for channel in 0..<channels {
                    scaled[(y * newWidth + x) * channels + channel] =
                        pixels[(sourceY * width + sourceX) * channels + channel]
                }
            }
        }
        return Picture(width: newWidth, height: newHeight, channels: channels, pixels: scaled)
    }

    /// The colour of pixel (x, y) as RGB.
    @inline(__always)
    func rgb(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let at = (y * width + x) * channels
        return channels == 3 ? (pixels[at], pixels[at + 1], pixels[at + 2]) : (pixels[at], pixels[at], pixels[at])
    }
}

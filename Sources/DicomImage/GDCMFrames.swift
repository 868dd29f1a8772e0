/// Frames of JPEG (baseline, extended and lossless), JPEG-LS and RLE pixel data, decoded by
/// GDCM (Debian's libgdcm), in a process of its own (``DecoderProcess``). GDCM decodes a file's frames all at once, into the layout of native
/// pixel data; the frame asked for is sliced from that. JPEG colour stored as YBR comes out of
/// it as RGB, as a viewer shows it.
public enum GDCMFrames {
    public static let transferSyntaxes: Set<String> = [
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.5",
    ]

    /// The most a file's frames may decode to (GDCM decodes them all for one).
    static let largestDecode = 512 << 20

    /// Frame `index` of the file `bytes` (whole, header included), whose header says
    /// `description`.
    public static func frame(
        _ index: Int, of bytes: [UInt8], syntax: String, description: ImageDescription,
        isCancelled: () -> Bool = { false }
    ) throws(ImageError) -> Frame {
        guard index >= 0, index < description.frames else {
            throw ImageError("frame \(index + 1) asked for; the file has \(description.frames)")
        }
        return try frames(of: bytes, syntax: syntax, description: description, only: index, isCancelled: isCancelled)[0]
    }

    /// Every frame of the file `bytes` (or only frame `only`), from one decode.
    public static func frames(
        of bytes: [UInt8], syntax: String, description: ImageDescription, only: Int? = nil,
        isCancelled: () -> Bool = { false }
    ) throws(ImageError) -> [Frame] {
        // GDCM 3.0 puts the byte planes of RLE colour samples wider than a byte in the wrong
        // order (pydicom's SC_rgb_rle_16bit.dcm comes out as other colours): not shown rather
        // than shown wrong.
        if syntax == "1.2.840.10008.1.2.5", description.samplesPerPixel == 3, description.bitsAllocated > 8 {
            throw ImageError(
                "its pixels are \(description.bitsAllocated)-bit colour in RLE, which dql does not show yet (its decoder, GDCM 3.0, gets their byte order wrong)"
            )
        }
        // What the header allows, with room for a decoder that widens samples (8 to 16 bits).
        // GDCM decodes every frame of a file at once: a film too large for that is refused
        // rather than decoded into gigabytes for one frame.
        let allowed = description.frames * description.rows * description.columns * description.samplesPerPixel * 4
        let needed = description.frames * description.frameLength
        guard needed <= Self.largestDecode else {
            throw ImageError(
                "its \(description.frames) compressed frames decode to \(needed) bytes, more than dql decodes at once (\(Self.largestDecode >> 20) MiB): GDCM decodes every frame of a file together"
            )
        }
        let image = try DecoderProcess.decode(
            bytes, maxLength: min(allowed, 2 * Self.largestDecode), isCancelled: isCancelled)
        var decoded = description
        decoded.columns = image.columns
        decoded.rows = image.rows
        decoded.samplesPerPixel = image.samplesPerPixel
        decoded.bitsAllocated = image.bitsAllocated
        decoded.bitsStored = image.bitsStored
        decoded.planarConfiguration = image.planarConfiguration
        decoded.frames = image.frames
        // The decoder gives every pixel its own chrominance, whatever was stored.
        let photometric = image.photometric == "YBR_FULL_422" ? "YBR_FULL" : image.photometric
        if !photometric.isEmpty { decoded.photometric = photometric }
        guard decoded.columns == description.columns, decoded.rows == description.rows,
            decoded.samplesPerPixel == description.samplesPerPixel, decoded.frames == description.frames,
            [8, 16, 32].contains(decoded.bitsAllocated), decoded.bitsStored >= 1,
            decoded.bitsStored <= decoded.bitsAllocated
        else {
            throw ImageError(
                "the compressed pixels decode to \(decoded.frames) frame(s) of \(decoded.columns)×\(decoded.rows) with \(decoded.samplesPerPixel) sample(s) of \(decoded.bitsAllocated) bits; the header says \(description.frames) of \(description.columns)×\(description.rows) with \(description.samplesPerPixel)"
            )
        }
        let wanted = only.map { [$0] } ?? Array(0..<decoded.frames)
        return try image.pixels.withUnsafeBytes { pixels in
            Result { () throws(ImageError) -> [Frame] in
                var frames: [Frame] = []
                for index in wanted {
                    let frame = try NativePixels.frame(index, of: pixels, description: decoded)
                    // Colour the decoder left as YBR (JPEG-LS and RLE keep what was encoded).
                    frames.append(
                        try ColourSpace.rgb(
                            frame, photometric: decoded.photometric, bitsAllocated: decoded.bitsAllocated))
                }
                return frames
            }
        }
        .get()
    }
}

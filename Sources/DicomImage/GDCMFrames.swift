import DicomCore

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

    /// Frame `index` of the encapsulated `pixels` of the file `bytes`, whose header says
    /// `description`.
    public static func frame(
        _ index: Int, of pixels: EncapsulatedPixelData, in bytes: [UInt8], syntax: String,
        description: ImageDescription, isCancelled: () -> Bool = { false }
    ) throws(ImageError) -> Frame {
        guard index >= 0, index < description.frames else {
            throw ImageError("frame \(index + 1) asked for; the file has \(description.frames)")
        }
        return try frames(
            of: pixels, in: bytes, syntax: syntax, description: description, only: index, isCancelled: isCancelled)[0]
    }

    /// Every frame (or only frame `only`) of the encapsulated `pixels` of the file `bytes`,
    /// from one decode.
    public static func frames(
        of pixels: EncapsulatedPixelData, in bytes: [UInt8], syntax: String, description: ImageDescription,
        only: Int? = nil, isCancelled: () -> Bool = { false }
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
            try minimalFile(pixels, in: bytes, syntax: syntax, description: description),
            maxLength: min(allowed, 2 * Self.largestDecode), isCancelled: isCancelled)
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

    /// A DICOM file of the image's pixel description and its compressed fragments alone: what
    /// GDCM decodes. dql has read the header; GDCM is given nothing else to misread (a header
    /// it parses wrongly made it allocate gigabytes for pydicom's 4 KB SC_rgb_jpeg.dcm, and an
    /// RT Dose without Number of Frames made it abort).
    static func minimalFile(
        _ pixels: EncapsulatedPixelData, in bytes: [UInt8], syntax: String, description: ImageDescription
    ) throws(ImageError) -> [UInt8] {
        for fragment in [pixels.basicOffsetTable] + pixels.fragments
        where fragment.offset < 0 || fragment.length < 0 || fragment.offset + fragment.length > bytes.count
            || fragment.length > Int(UInt32.max - 1)
        {
            throw ImageError("a fragment of Pixel Data runs past the end of the file")
        }
        func little(_ value: Int, _ count: Int) -> [UInt8] {
            (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
        func element(_ group: Int, _ number: Int, _ vr: String, _ value: [UInt8]) -> [UInt8] {
            little(group, 2) + little(number, 2) + Array(vr.utf8) + little(value.count, 2) + value
        }
        func text(_ value: String, pad: UInt8) -> [UInt8] {
            let bytes = Array(value.utf8)
            return bytes.count % 2 == 0 ? bytes : bytes + [pad]
        }
        let meta = element(0x0002, 0x0010, "UI", text(syntax, pad: 0))
        var file = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        file += element(0x0002, 0x0000, "UL", little(meta.count, 4)) + meta
        // Palette indices decode as grey values (GDCM would look for the palette).
        let photometric = description.photometric == "PALETTE COLOR" ? "MONOCHROME2" : description.photometric
        file += element(0x0028, 0x0002, "US", little(description.samplesPerPixel, 2))
        file += element(0x0028, 0x0004, "CS", text(photometric, pad: 0x20))
        if description.samplesPerPixel > 1 {
            file += element(0x0028, 0x0006, "US", little(description.planarConfiguration, 2))
        }
        file += element(0x0028, 0x0008, "IS", text(String(description.frames), pad: 0x20))
        file += element(0x0028, 0x0010, "US", little(description.rows, 2))
        file += element(0x0028, 0x0011, "US", little(description.columns, 2))
        file += element(0x0028, 0x0100, "US", little(description.bitsAllocated, 2))
        file += element(0x0028, 0x0101, "US", little(description.bitsStored, 2))
        file += element(0x0028, 0x0102, "US", little(description.bitsStored - 1, 2))
        file += element(0x0028, 0x0103, "US", little(description.isSigned ? 1 : 0, 2))
        // Pixel Data of undefined length: the offset table and the fragments as items.
        file += little(0x7FE0, 2) + little(0x0010, 2) + Array("OB".utf8) + [0, 0] + [0xFF, 0xFF, 0xFF, 0xFF]
        for fragment in [pixels.basicOffsetTable] + pixels.fragments {
            file += little(0xFFFE, 2) + little(0xE000, 2) + little(fragment.length, 4)
            file += bytes[fragment.offset..<(fragment.offset + fragment.length)]
        }
        file += little(0xFFFE, 2) + little(0xE0DD, 2) + little(0, 4)
        return file
    }
}

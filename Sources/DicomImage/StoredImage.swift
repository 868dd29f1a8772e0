import DicomCore

/// A file's frames, from its bytes as stored: the description from the header and each frame
/// sliced from Pixel Data, or decoded (JPEG 2000 by OpenJPEG; JPEG, JPEG-LS and RLE by GDCM).
/// What cannot be decoded says so. A native frame can be read alone: from the header's bytes
/// (``init(header:)``) the image says which bytes of the file hold a frame (``frameRange(_:)``).
public struct StoredImage: Sendable {
    public var description: ImageDescription
    public var file: DicomFile
    /// Where native Pixel Data's value lies in the file, and whether its bytes come in swapped
    /// pairs (8-bit or 1-bit samples in an OW value of a big endian file); nil for encapsulated
    /// or deflated pixel data.
    private var native: (value: BulkData, swappedPairs: Bool)?

    /// Reads the header of `bytes` (the whole file).
    public init(_ bytes: [UInt8]) throws(ImageError) {
        let file = try Self.read(bytes, options: DicomReadOptions(inlineBinaryLimit: 0))
        try self.init(file, bytes: bytes)
        if !file.transferSyntax.isEncapsulated, !file.transferSyntax.isDeflated,
            let element = file.dataset[Self.pixelDataTag], case .bulk(let value) = element.value
        {
            native = (
                value,
                swappedPairs: !file.transferSyntax.isLittleEndian && element.vr == .OW && description.bitsAllocated <= 8
            )
        }
    }

    /// Reads a file's header alone: `header` is the file's first bytes, up to and including
    /// Pixel Data's tag and length (``DicomFile/headerLength``).
    public init(header: [UInt8]) throws(ImageError) {
        let file = try Self.read(header, options: DicomReadOptions(stopBeforePixelData: true, inlineBinaryLimit: 0))
        try self.init(file, bytes: header)
        let syntax = file.transferSyntax
        guard let offset = file.pixelDataOffset, !syntax.isEncapsulated, !syntax.isDeflated else { return }
        // Pixel Data's element header: tag, then VR, two reserved bytes and a 4-byte length
        // (explicit VR), or the length alone (implicit).
        let lengthAt = offset + (syntax.isExplicitVR ? 8 : 4)
        guard lengthAt + 4 <= header.count else { return }
        let lengthBytes = header[lengthAt..<(lengthAt + 4)]
        let length =
            syntax.isLittleEndian
            ? lengthBytes.reversed().reduce(0) { $0 << 8 | Int($1) } : lengthBytes.reduce(0) { $0 << 8 | Int($1) }
        guard length != 0xFFFF_FFFF else { return }
        let isOW = !syntax.isExplicitVR || (header[offset + 4], header[offset + 5]) == (0x4F, 0x57)
        native = (
            BulkData(offset: lengthAt + 4, length: length),
            swappedPairs: !syntax.isLittleEndian && isOW && description.bitsAllocated <= 8
        )
    }

    private init(_ file: DicomFile, bytes: [UInt8]) throws(ImageError) {
        self.file = file
        description = try ImageDescription(file.dataset, in: bytes, bigEndian: !file.transferSyntax.isLittleEndian)
    }

    private static let pixelDataTag = DicomTag(0x7FE0, 0x0010)

    private static func read(_ bytes: [UInt8], options: DicomReadOptions) throws(ImageError) -> DicomFile {
        do {
            return try DicomReader.read(bytes, options: options)
        } catch {
            throw ImageError("the file does not read as DICOM: \(error)")
        }
    }

    /// Every frame of `bytes`, the file this image was read from; compressed data that is
    /// decoded a file at a time (JPEG, JPEG-LS, RLE) is decoded once.
    public func frames(in bytes: [UInt8]) throws(ImageError) -> [Frame] {
        if file.transferSyntax.isEncapsulated, GDCMFrames.transferSyntaxes.contains(file.transferSyntax.uid) {
            if let frames = try jpegFrames(Array(0..<description.frames), in: bytes) { return frames }
            return try GDCMFrames.frames(
                of: try encapsulated(), in: bytes, syntax: file.transferSyntax.uid, description: description)
        }
        var frames: [Frame] = []
        for index in 0..<description.frames { frames.append(try frame(index, in: bytes)) }
        return frames
    }

    /// The bytes of the file that hold frame `index` (0-based), when they can be read alone:
    /// native pixel data whose bytes are in order. nil when the frame needs the whole file.
    public func frameRange(_ index: Int) throws(ImageError) -> Range<Int>? {
        guard let native, !native.swappedPairs else { return nil }
        let location = try NativePixels.location(of: index, description: description)
        try checkFrames(fit: native.value)
        return (native.value.offset + location.bytes.lowerBound)..<(native.value.offset + location.bytes.upperBound)
    }

    /// Frame `index` (0-based) from `bytes`, the bytes of the file in ``frameRange(_:)``.
    public func frame(_ index: Int, from bytes: [UInt8]) throws(ImageError) -> Frame {
        guard let range = try frameRange(index), bytes.count == range.count else {
            throw ImageError("frame \(index + 1) cannot be read alone from \(bytes.count) bytes")
        }
        let firstBit = try NativePixels.location(of: index, description: description).firstBit
        return try bytes.withUnsafeBytes { bytes in
            Result { () throws(ImageError) -> Frame in try nativeFrame(bytes, firstBit: firstBit) }
        }
        .get()
    }

    /// Frame `index` (0-based) of `bytes`, the file this image was read from.
    public func frame(
        _ index: Int, in bytes: [UInt8], isCancelled: () -> Bool = { false }
    ) throws(ImageError) -> Frame {
        let syntax = file.transferSyntax
        guard let element = file.dataset[Self.pixelDataTag] else {
            throw ImageError("the file has no Pixel Data")
        }
        if syntax.isEncapsulated {
            if GDCMFrames.transferSyntaxes.contains(syntax.uid) {
                guard index >= 0, index < description.frames else {
                    throw ImageError("frame \(index + 1) asked for; the file has \(description.frames)")
                }
                if let frames = try jpegFrames([index], in: bytes) { return frames[0] }
                return try GDCMFrames.frame(
                    index, of: try encapsulated(), in: bytes, syntax: syntax.uid, description: description,
                    isCancelled: isCancelled)
            }
            guard JPEG2000Frames.transferSyntaxes.contains(syntax.uid) else {
                throw ImageError(
                    "its pixel data is compressed (\(syntax.name)), which dql does not show yet (it decodes native pixel data, JPEG, JPEG-LS, JPEG 2000 and RLE)"
                )
            }
            let pixels = try encapsulated()
            let codestream = try EncapsulatedFrames.frame(
                index, of: pixels, frames: description.frames, in: bytes, startMarker: [0xFF, 0x4F, 0xFF, 0x51])
            return try JPEG2000Frames.decode(codestream, description: description)
        }
        if syntax.isDeflated {
            throw ImageError("its data set is deflated (\(syntax.name)); dql does not decode it yet")
        }
        // Pixel Data is never copied by the reader: it is where it lies in the file.
        guard let native else { throw ImageError("Pixel Data holds no pixel bytes") }
        let bulk = native.value
        guard bulk.offset >= 0, bulk.length >= 0, bulk.offset + bulk.length <= bytes.count else {
            throw ImageError("Pixel Data runs past the end of the file")
        }
        try checkFrames(fit: bulk)
        let description = description
        return try bytes.withUnsafeBytes { file in
            Result { () throws(ImageError) -> Frame in
                let pixelData = UnsafeRawBufferPointer(rebasing: file[bulk.offset..<(bulk.offset + bulk.length)])
                if native.swappedPairs, !description.isSubsampled {
                    let frame = try NativePixels.frame(
                        index, of: pixelData, description: description, bigEndian: true, swappedPairs: true)
                    return try ColourSpace.rgb(
                        frame, photometric: description.photometric, bitsAllocated: description.bitsAllocated)
                }
                let location = try NativePixels.byteRange(of: index, in: pixelData, description: description)
                return try nativeFrame(
                    UnsafeRawBufferPointer(rebasing: pixelData[location.bytes]), firstBit: location.firstBit)
            }
        }
        .get()
    }

    /// Frames of 8-bit JPEG decoded by libjpeg-turbo; nil when it does not decode one of them
    /// (GDCM then decodes the file).
    private func jpegFrames(_ indices: [Int], in bytes: [UInt8]) throws(ImageError) -> [Frame]? {
        guard JPEGFrames.decodes(file.transferSyntax.uid, description) else { return nil }
        let pixels = try encapsulated()
        var frames: [Frame] = []
        for index in indices {
            let stream = try EncapsulatedFrames.frame(
                index, of: pixels, frames: description.frames, in: bytes, startMarker: [0xFF, 0xD8])
            guard let frame = try JPEGFrames.decode(stream, description: description) else { return nil }
            frames.append(frame)
        }
        return frames
    }

    /// The offset table and fragments of encapsulated Pixel Data.
    private func encapsulated() throws(ImageError) -> EncapsulatedPixelData {
        guard case .encapsulated(let pixels) = file.dataset[Self.pixelDataTag]?.value else {
            throw ImageError("its Pixel Data is not encapsulated, though the transfer syntax says so")
        }
        return pixels
    }

    /// Every frame the header promises must be there (a Number of Frames of two billion is a
    /// damaged header, not a film).
    private func checkFrames(fit value: BulkData) throws(ImageError) {
        if description.frames > 1, description.pixelDataLength > value.length + 1 {
            throw ImageError(
                "its Number of Frames says \(description.frames) of \(description.frameLength) bytes each, but Pixel Data holds \(value.length) bytes"
            )
        }
    }

    /// A native frame from its own bytes, in RGB when it is colour.
    private func nativeFrame(_ bytes: UnsafeRawBufferPointer, firstBit: Int) throws(ImageError) -> Frame {
        if description.isSubsampled {
            return try ColourSpace.rgb(
                ColourSpace.expand422(bytes, description: description), photometric: "YBR_FULL",
                bitsAllocated: description.bitsAllocated)
        }
        let frame = NativePixels.decode(
            bytes, firstBit: firstBit, description: description, bigEndian: !file.transferSyntax.isLittleEndian)
        return try ColourSpace.rgb(
            frame, photometric: description.photometric, bitsAllocated: description.bitsAllocated)
    }
}

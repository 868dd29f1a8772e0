import DicomCore

/// A file's frames, from its bytes as stored: the description from the header and each frame
/// sliced from Pixel Data, or decoded (JPEG 2000 by OpenJPEG; JPEG, JPEG-LS and RLE by GDCM).
/// What cannot be decoded says so.
public struct StoredImage: Sendable {
    public var description: ImageDescription
    public var file: DicomFile

    /// Reads the header of `bytes` (the whole file).
    public init(_ bytes: [UInt8]) throws(ImageError) {
        let file: DicomFile
        do {
            file = try DicomReader.read(bytes, options: DicomReadOptions(inlineBinaryLimit: 0))
        } catch {
            throw ImageError("the file does not read as DICOM: \(error)")
        }
        self.file = file
        description = try ImageDescription(file.dataset)
    }

    /// Every frame of `bytes`, the file this image was read from; compressed data that is
    /// decoded a file at a time (JPEG, JPEG-LS, RLE) is decoded once.
    public func frames(in bytes: [UInt8]) throws(ImageError) -> [Frame] {
        if file.transferSyntax.isEncapsulated, GDCMFrames.transferSyntaxes.contains(file.transferSyntax.uid) {
            return try GDCMFrames.frames(of: bytes, syntax: file.transferSyntax.uid, description: description)
        }
        var frames: [Frame] = []
        for index in 0..<description.frames { frames.append(try frame(index, in: bytes)) }
        return frames
    }

    /// Frame `index` (0-based) of `bytes`, the file this image was read from.
    public func frame(
        _ index: Int, in bytes: [UInt8], isCancelled: () -> Bool = { false }
    ) throws(ImageError) -> Frame {
        let syntax = file.transferSyntax
        guard let element = file.dataset[DicomTag(0x7FE0, 0x0010)] else {
            throw ImageError("the file has no Pixel Data")
        }
        if syntax.isEncapsulated {
            if GDCMFrames.transferSyntaxes.contains(syntax.uid) {
                return try GDCMFrames.frame(
                    index, of: bytes, syntax: syntax.uid, description: description, isCancelled: isCancelled)
            }
            guard JPEG2000Frames.transferSyntaxes.contains(syntax.uid) else {
                throw ImageError(
                    "its pixel data is compressed (\(syntax.name)), which dql does not show yet (it decodes native pixel data, JPEG, JPEG-LS, JPEG 2000 and RLE)"
                )
            }
            guard case .encapsulated(let pixels) = element.value else {
                throw ImageError("its Pixel Data is not encapsulated, though the transfer syntax says so")
            }
            let codestream = try EncapsulatedFrames.frame(
                index, of: pixels, frames: description.frames, in: bytes, startMarker: [0xFF, 0x4F, 0xFF, 0x51])
            return try JPEG2000Frames.decode(codestream, description: description)
        }
        if syntax.isDeflated {
            throw ImageError("its data set is deflated (\(syntax.name)); dql does not decode it yet")
        }
        // Pixel Data is never copied by the reader: it is where it lies in the file.
        guard case .bulk(let bulk) = element.value else { throw ImageError("Pixel Data holds no pixel bytes") }
        guard bulk.offset >= 0, bulk.length >= 0, bulk.offset + bulk.length <= bytes.count else {
            throw ImageError("Pixel Data runs past the end of the file")
        }
        // Every frame the header promises must be there (a Number of Frames of two billion is
        // a damaged header, not a film).
        if description.frames > 1, description.frames * description.frameLength > bulk.length + 1 {
            throw ImageError(
                "its Number of Frames says \(description.frames) of \(description.frameLength) bytes each, but Pixel Data holds \(bulk.length) bytes"
            )
        }
        let description = description
        if description.isSubsampled {
            return try bytes.withUnsafeBytes { file in
                Result { () throws(ImageError) -> Frame in
                    try ColourSpace.rgb(
                        ColourSpace.expand422(
                            index,
                            of: UnsafeRawBufferPointer(rebasing: file[bulk.offset..<(bulk.offset + bulk.length)]),
                            description: description),
                        photometric: "YBR_FULL", bitsAllocated: description.bitsAllocated)
                }
            }
            .get()
        }
        let bigEndian = !syntax.isLittleEndian
        let swappedPairs = bigEndian && element.vr == .OW && description.bitsAllocated == 8
        let frame = try bytes.withUnsafeBytes { file in
            Result { () throws(ImageError) -> Frame in
                try NativePixels.frame(
                    index, of: UnsafeRawBufferPointer(rebasing: file[bulk.offset..<(bulk.offset + bulk.length)]),
                    description: description, bigEndian: bigEndian, swappedPairs: swappedPairs)
            }
        }
        .get()
        return try ColourSpace.rgb(
            frame, photometric: description.photometric, bitsAllocated: description.bitsAllocated)
    }
}

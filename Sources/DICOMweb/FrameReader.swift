import DQL
import DicomCore
import DicomImage

/// Frames and bulk data of a stored instance, as stored (PS3.18 §10.4.1.1.3, .1.1.5): native
/// frames are read as their own byte ranges of the chunks; encapsulated frames are the
/// fragments of each frame. Nothing is decoded or transcoded. The file's bytes are checked
/// against its SHA-256 first (``InstanceBytes``), except native frames of a file over 64 MiB.
enum FrameReader {
    /// Files larger than this are not read whole for encapsulated frames.
    static let wholeFileLimit = 1 << 30

    /// The media type of a frame in a transfer syntax (PS3.18 Table 8.7.3-5), and the
    /// transfer syntax its parts are labelled with.
    static func frameMediaType(_ syntax: TransferSyntax) -> (mediaType: String, transferSyntax: String) {
        switch syntax.uid {
        case "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99":
            return ("application/octet-stream", "1.2.840.10008.1.2.1")
        case "1.2.840.10008.1.2.2": return ("application/octet-stream", syntax.uid)
        case "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70":
            return ("image/jpeg", syntax.uid)
        case "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81": return ("image/jls", syntax.uid)
        case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91": return ("image/jp2", syntax.uid)
        case "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93": return ("image/jpx", syntax.uid)
        case "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203":
            return ("image/jphc", syntax.uid)
        case "1.2.840.10008.1.2.5": return ("image/dicom-rle", syntax.uid)
        case "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.101": return ("video/mpeg2", syntax.uid)
        default:
            return syntax.uid.hasPrefix("1.2.840.10008.1.2.4.10")
                ? ("video/mp4", syntax.uid) : ("application/octet-stream", syntax.uid)
        }
    }

    /// The bytes that start a codestream of the syntax, for splitting fragments into frames
    /// where there is no offset table.
    static func startMarker(_ syntax: TransferSyntax) -> [UInt8] {
        switch frameMediaType(syntax).mediaType {
        case "image/jp2", "image/jpx", "image/jphc": [0xFF, 0x4F, 0xFF, 0x51]
        case "image/jpeg", "image/jls": [0xFF, 0xD8]
        default: []
        }
    }

    /// Frames `numbers` (1-based) of `file`, whose header is `header`.
    static func frames(
        _ numbers: [Int], of file: StoredFile, header: DicomFile, executor: Executor
    ) throws
        -> [[UInt8]]
    {
        let syntax = header.transferSyntax
        guard let pixelDataOffset = header.pixelDataOffset else {
            throw DICOMwebError.notFound("instance \(file.sopUid ?? file.id) has no Pixel Data")
        }
        let description = try FrameGeometry(header.dataset, instance: file.sopUid ?? file.id)
        for number in numbers where number < 1 || number > description.frames {
            throw DICOMwebError.notFound(
                "frame \(number) asked for; instance \(file.sopUid ?? file.id) has \(description.frames) frame\(description.frames == 1 ? "" : "s")"
            )
        }
        if syntax.isDeflated {
            throw DICOMwebError.notAcceptable(
                "instance \(file.sopUid ?? file.id) is stored deflated (\(syntax.uid)); its frames are not served (no transcoding)"
            )
        }
        if !syntax.isEncapsulated {
            let source = try InstanceBytes(file, executor: executor)
            let valueOffset = pixelDataOffset + (syntax.isExplicitVR ? 12 : 8)
            let length = description.frameLength
            guard length > 0 else {
                if description.frames == 1 {
                    return [try pixelDataBytes(of: source, at: pixelDataOffset, syntax: syntax)]
                }
                throw DICOMwebError.notAcceptable(
                    "instance \(file.sopUid ?? file.id) packs \(description.bitsAllocated)-bit frames; they are not split"
                )
            }
            return try numbers.map { number in
                let start = valueOffset + (number - 1) * length
                guard start + length <= file.size else {
                    throw DICOMwebError(
                        .internalServerError,
                        "instance \(file.sopUid ?? file.id) holds too few bytes for frame \(number) (\(length) bytes each)"
                    )
                }
                return try source.bytes(in: start..<(start + length))
            }
        }
        guard file.size <= wholeFileLimit else {
            throw DICOMwebError(
                .internalServerError,
                "instance \(file.sopUid ?? file.id) holds \(file.size) bytes; encapsulated frames are read from files up to 1 GiB"
            )
        }
        let bytes = try InstanceBytes(file, executor: executor, checkedUpTo: wholeFileLimit).bytes(in: 0..<file.size)
        let whole: DicomFile
        do {
            whole = try DicomReader.read(bytes, options: DicomReadOptions(inlineBinaryLimit: 0))
        } catch {
            throw DICOMwebError(
                .internalServerError, "instance \(file.sopUid ?? file.id) does not read as DICOM: \(error)")
        }
        guard case .encapsulated(let pixels) = whole.dataset[LevelAttributes.pixelData]?.value else {
            throw DICOMwebError(
                .internalServerError,
                "the Pixel Data of \(file.sopUid ?? file.id) is not encapsulated, though \(syntax.uid) says so")
        }
        do {
            return try numbers.map { number throws(ImageError) in
                try EncapsulatedFrames.frame(
                    number - 1, of: pixels, frames: description.frames, in: bytes, startMarker: startMarker(syntax))
            }
        } catch {
            throw DICOMwebError(.internalServerError, "frames of \(file.sopUid ?? file.id): \(error.message)")
        }
    }

    /// The Pixel Data value: after its element header, for its declared length; encapsulated
    /// data (undefined length) up to its sequence delimiter, as pydicom reads it (PS3.5 A.4).
    static func pixelDataBytes(
        of file: InstanceBytes, at elementOffset: Int, syntax: TransferSyntax
    ) throws
        -> [UInt8]
    {
        let start = min(file.size, elementOffset + (syntax.isExplicitVR ? 12 : 8))
        let lengthBytes = try file.bytes(in: max(0, start - 4)..<start)
        func number(_ bytes: ArraySlice<UInt8>) -> Int {
            syntax.isLittleEndian
                ? bytes.reversed().reduce(0) { $0 << 8 | Int($1) } : bytes.reduce(0) { $0 << 8 | Int($1) }
        }
        guard lengthBytes.count == 4 else { return [] }
        let declared = number(lengthBytes[...])
        if declared != 0xFFFF_FFFF {
            return try file.bytes(in: start..<min(file.size, start + declared))
        }
        let bytes = try file.bytes(in: start..<file.size)
        var position = 0
        while position + 8 <= bytes.count {
            let group = number(bytes[position..<(position + 2)])
            let element = number(bytes[(position + 2)..<(position + 4)])
            guard group == 0xFFFE else { break }
            if element == 0xE0DD { return Array(bytes[0..<position]) }
            let length = number(bytes[(position + 4)..<(position + 8)])
            guard element == 0xE000, length != 0xFFFF_FFFF else { break }
            position += 8 + length
        }
        return bytes
    }

    /// The bytes of a bulk data reference: `offset`/`length` in the file, or a whole Pixel Data
    /// value (`7FE00010`).
    static func bulkData(
        of file: StoredFile, header: DicomFile, offset: Int?, length: Int?, tag: String?, executor: Executor
    ) throws -> [UInt8] {
        if let tag {
            guard tag.uppercased() == "7FE00010", let pixelDataOffset = header.pixelDataOffset else {
                throw DICOMwebError.notFound("instance \(file.sopUid ?? file.id) has no bulk data \(tag)")
            }
            let syntax = header.transferSyntax
            if syntax.isDeflated {
                throw DICOMwebError.notAcceptable("the Pixel Data of a deflated file is not served as bulk data")
            }
            // The whole value is read anyway: the file is read whole and checked, up to 1 GiB.
            return try pixelDataBytes(
                of: InstanceBytes(file, executor: executor, checkedUpTo: wholeFileLimit), at: pixelDataOffset,
                syntax: syntax)
        }
        guard let offset, let length, offset >= 0, length >= 0, offset <= file.size, length <= file.size - offset else {
            throw DICOMwebError.badRequest(
                "bulkdata takes offset and length inside the file (\(file.size) bytes): offset=\(offset.map(String.init) ?? "?") length=\(length.map(String.init) ?? "?")"
            )
        }
        return try InstanceBytes(file, executor: executor).bytes(in: offset..<(offset + length))
    }
}

/// How a native Pixel Data value divides into frames: rows × columns × samples × bits each
/// (PS3.5 §8.1.1). Only what slicing needs is read; what a picture needs (photometric
/// interpretation, windows) is a viewer's business.
struct FrameGeometry {
    var rows: Int
    var columns: Int
    var samplesPerPixel: Int
    var bitsAllocated: Int
    var frames: Int

    init(_ dataset: DataSet, instance: String) throws(DICOMwebError) {
        func integer(_ tag: DicomTag, _ name: String, default fallback: Int? = nil) throws(DICOMwebError) -> Int {
            if let value = dataset[tag]?.integer, let number = Int(exactly: value), number >= 1 { return number }
            if dataset[tag]?.integer == nil, let fallback { return fallback }
            throw .notFound(
                "instance \(instance) has no frames: its \(name) \(tag) is missing or not a positive number")
        }
        rows = try integer(DicomTag(0x0028, 0x0010), "Rows")
        columns = try integer(DicomTag(0x0028, 0x0011), "Columns")
        samplesPerPixel = try integer(DicomTag(0x0028, 0x0002), "Samples per Pixel", default: 1)
        bitsAllocated = try integer(DicomTag(0x0028, 0x0100), "Bits Allocated")
        frames = try integer(LevelAttributes.numberOfFrames, "Number of Frames", default: 1)
        guard rows <= 65535, columns <= 65535, samplesPerPixel <= 4, bitsAllocated <= 64, frames <= 10_000_000 else {
            throw .notFound("instance \(instance) has no frames: its image attributes are out of range")
        }
    }

    /// Bytes of one frame of native pixel data (0 when frames are bit-packed).
    var frameLength: Int { rows * columns * samplesPerPixel * bitsAllocated / 8 * (bitsAllocated % 8 == 0 ? 1 : 0) }
}

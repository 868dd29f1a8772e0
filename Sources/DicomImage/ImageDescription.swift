import DicomCore

/// What the Image Pixel module (PS3.3 C.7.6.3) and its neighbours say about a file's pixels:
/// geometry, sample layout, photometric interpretation, and the values the display pipeline
/// starts from (rescale, window).
public struct ImageDescription: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var samplesPerPixel: Int
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var isSigned: Bool
    public var photometric: String
    /// 0: R1G1B1 R2G2B2 …; 1: RRR… GGG… BBB….
    public var planarConfiguration: Int
    public var frames: Int
    public var rescaleSlope: Double
    public var rescaleIntercept: Double
    /// The first window of the header, if any.
    public var window: Window?
    /// The colours of PALETTE COLOR values.
    public var palette: ColourPalette?

    /// Reads the description from a data set; what is missing or impossible is an error that
    /// names the attribute. Binary values left in the file (a palette's tables) are read from
    /// `bytes`, in the file's byte order.
    public init(_ dataset: DataSet, in bytes: [UInt8] = [], bigEndian: Bool = false) throws(ImageError) {
        func integer(_ tag: DicomTag, _ name: String) throws(ImageError) -> Int {
            guard let value = dataset[tag]?.integer, let int = Int(exactly: value) else {
                throw ImageError("it holds no image (no \(name) \(tag))")
            }
            return int
        }
        rows = try integer(DicomTag(0x0028, 0x0010), "Rows")
        columns = try integer(DicomTag(0x0028, 0x0011), "Columns")
        samplesPerPixel = (dataset[DicomTag(0x0028, 0x0002)]?.integer).map { Int($0) } ?? 1
        bitsAllocated = try integer(DicomTag(0x0028, 0x0100), "Bits Allocated")
        bitsStored = (dataset[DicomTag(0x0028, 0x0101)]?.integer).map { Int($0) } ?? bitsAllocated
        isSigned = dataset[DicomTag(0x0028, 0x0103)]?.integer == 1
        photometric = dataset[DicomTag(0x0028, 0x0004)]?.string ?? "MONOCHROME2"
        planarConfiguration = (dataset[DicomTag(0x0028, 0x0006)]?.integer).map { Int($0) } ?? 0
        if let element = dataset[DicomTag(0x0028, 0x0008)] {
            guard let count = element.integer, count >= 1, count <= 1_000_000 else {
                throw ImageError(
                    "its Number of Frames (0028,0008) is '\(element.string ?? "")', not a count of frames from 1 to 1000000"
                )
            }
            frames = Int(count)
        } else {
            frames = 1
        }
        rescaleSlope = dataset[DicomTag(0x0028, 0x1053)]?.real ?? 1
        rescaleIntercept = dataset[DicomTag(0x0028, 0x1052)]?.real ?? 0
        if let center = dataset[DicomTag(0x0028, 0x1050)]?.real, let width = dataset[DicomTag(0x0028, 0x1051)]?.real,
            center.isFinite, width.isFinite, width > 0
        {
            window = Window(center: center, width: width)
        }
        guard rows > 0, columns > 0, rows <= 65535, columns <= 65535 else {
            throw ImageError("the image is \(rows)×\(columns): rows and columns must be 1 to 65535")
        }
        guard [1, 3].contains(samplesPerPixel) else {
            throw ImageError("\(samplesPerPixel) samples per pixel: only 1 (grey) and 3 (colour) are shown")
        }
        if bitsAllocated == 1, samplesPerPixel != 1 {
            throw ImageError("\(samplesPerPixel) samples per pixel of single bits: bit-packed pixels are grey")
        }
        guard [1, 8, 16, 32].contains(bitsAllocated), bitsStored >= 1, bitsStored <= bitsAllocated else {
            throw ImageError("Bits Allocated \(bitsAllocated), Bits Stored \(bitsStored): not a pixel layout dql reads")
        }
        // JPEG 2000 colour (YBR_RCT, YBR_ICT) comes out of the decoder as RGB; YBR_FULL (and
        // JPEG's YBR_FULL_422) is converted (``ColourSpace``).
        guard
            isMonochrome
                || ["RGB", "PALETTE COLOR", "YBR_RCT", "YBR_ICT", "YBR_FULL", "YBR_FULL_422"].contains(photometric)
        else {
            throw ImageError(
                "its photometric interpretation is \(photometric), which dql does not show yet (it shows MONOCHROME1, MONOCHROME2, PALETTE COLOR, RGB and YBR)"
            )
        }
        if isGrey != (samplesPerPixel == 1) {
            throw ImageError("\(photometric) with \(samplesPerPixel) samples per pixel: the header contradicts itself")
        }
        guard samplesPerPixel == 1 || [0, 1].contains(planarConfiguration) else {
            throw ImageError("its Planar Configuration is \(planarConfiguration), which is neither 0 nor 1")
        }
        guard rescaleSlope.isFinite, rescaleIntercept.isFinite, rescaleSlope != 0, abs(rescaleSlope) < 1e100,
            abs(rescaleIntercept) < 1e100
        else {
            throw ImageError("Rescale Slope \(rescaleSlope) and Intercept \(rescaleIntercept) are not a usable rescale")
        }
        if photometric == "PALETTE COLOR" {
            palette = try ColourPalette(dataset, in: bytes, bigEndian: bigEndian)
        }
    }

    /// Whether a pixel is one sample: grey, or an index into the palette.
    var isGrey: Bool { isMonochrome || photometric == "PALETTE COLOR" }

    /// Whether the pixels are grey values (MONOCHROME1 is shown inverted).
    public var isMonochrome: Bool { photometric.hasPrefix("MONOCHROME") }

    /// Bits of one frame of native (uncompressed) pixel data. YBR_FULL_422 keeps two samples a
    /// pixel: two luminance values share one pair of chrominance values.
    public var frameBits: Int {
        rows * columns * (isSubsampled ? 2 : samplesPerPixel) * bitsAllocated
    }

    /// Bytes of one frame of native pixel data (bit-packed frames follow each other without
    /// padding, so a frame of single bits may start inside a byte).
    public var frameLength: Int { (frameBits + 7) / 8 }

    /// Bytes of native Pixel Data holding every frame.
    public var pixelDataLength: Int { (frames * frameBits + 7) / 8 }

    /// Whether the chrominance is stored at half the horizontal resolution (YBR_FULL_422).
    public var isSubsampled: Bool { photometric == "YBR_FULL_422" && samplesPerPixel == 3 }
}

/// How much of a file to read and how much to keep.
public struct DicomReadOptions: Sendable, Equatable {
    /// Stop at Pixel Data (7FE0,0010) or its float variants, without touching the bytes after.
    public var stopBeforePixelData: Bool
    /// Binary values (OB, OW, UN, …) up to this many bytes are copied into the result; larger
    /// ones are recorded as ``BulkData`` (offset and length) only. Pixel Data is never copied.
    public var inlineBinaryLimit: Int
    /// Sequences nested deeper than this are skipped with a diagnostic.
    public var maximumDepth: Int
    /// Reading stops (with a diagnostic) after this many elements, counting nested ones: a
    /// file of millions of tiny elements (garbage after a header, say) would otherwise take
    /// some 25 times its size in memory. Real headers hold thousands.
    public var maximumElements: Int

    public init(
        stopBeforePixelData: Bool = false, inlineBinaryLimit: Int = 64 * 1024, maximumDepth: Int = 32,
        maximumElements: Int = 1_000_000
    ) {
        self.stopBeforePixelData = stopBeforePixelData
        self.inlineBinaryLimit = inlineBinaryLimit
        self.maximumDepth = maximumDepth
        self.maximumElements = maximumElements
    }

    /// Everything but the pixel data, with binary values over 1 KiB (pydicom's own JSON
    /// threshold) referenced rather than copied: what indexing a file needs.
    public static let metadataOnly = DicomReadOptions(stopBeforePixelData: true, inlineBinaryLimit: 1024)
}

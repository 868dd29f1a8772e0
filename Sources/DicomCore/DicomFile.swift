/// What was read from one DICOM file.
public struct DicomFile: Sendable {
    /// The file had the 128-byte preamble and `DICM`.
    public var hasPreamble: Bool
    /// The file meta information (group 0002); empty if the file has none.
    public var meta: DataSet
    /// The dataset proper.
    public var dataset: DataSet
    /// The encoding the dataset was read with: from (0002,0010), or sniffed when absent.
    public var transferSyntax: TransferSyntax
    /// The Transfer Syntax UID as written in the meta group, if any.
    public var declaredTransferSyntaxUID: String? { meta[DicomTag(0x0002, 0x0010)]?.string }
    /// What was repaired, skipped or could not be read.
    public var diagnostics: [DicomDiagnostic]
    /// Reading stopped at Pixel Data (``DicomReadOptions/stopBeforePixelData``).
    public var stoppedBeforePixelData: Bool
    /// Where the dataset starts in the file (after preamble and meta).
    public var datasetOffset: Int
    /// The size of the input in bytes.
    public var byteCount: Int
    /// Where the Pixel Data element starts, when reading stopped before it.
    public var pixelDataOffset: Int?

    /// How many bytes from the start of the file a metadata-only read needs to give this same
    /// header again: up to and including the Pixel Data element's tag and length when reading
    /// stopped there; all of them otherwise (and for a deflated dataset, whose offsets are in
    /// the inflated stream).
    public var headerLength: Int {
        pixelDataOffset.map { min(byteCount, $0 + Self.elementHeaderLength) } ?? byteCount
    }

    /// The longest element header (explicit VR with a 4-byte length): the part of Pixel Data a
    /// header read needs to see to stop there.
    static let elementHeaderLength = 12
}

/// The decoded value of a data element.
public enum DicomValue: Sendable, Equatable {
    /// Text VRs (AE AS CS DA DS DT IS LO LT SH ST TM UC UI UR UT): values split on `\` (except the
    /// single-valued LT ST UT UR) and trimmed of padding. IS and DS stay text, as written.
    case strings(Values<String>)
    case personNames([PersonName])
    /// US SS UL SL SV.
    case integers(Values<Int64>)
    /// UV.
    case unsignedIntegers(Values<UInt64>)
    /// FL FD.
    case reals(Values<Double>)
    /// AT.
    case tags([DicomTag])
    /// OB OD OF OL OV OW UN and values of unknown VR, when small enough to keep.
    case bytes([UInt8])
    /// A binary value left in the file (too large to copy, or Pixel Data).
    case bulk(BulkData)
    /// SQ: one dataset per item.
    case sequence([DataSet])
    /// Encapsulated (compressed) Pixel Data: the basic offset table and the fragments, by
    /// position in the file.
    case encapsulated(EncapsulatedPixelData)
    /// A zero-length value.
    case empty
    /// Text as read, decoded on demand (see ``EncodedText``); ``decoded`` gives `.strings` or
    /// `.personNames`.
    case text(EncodedText)

    /// The values as text, one string per value: what a query or a person compares against.
    public var strings: [String] {
        switch decoded {
        case .strings(let values): Array(values)
        case .personNames(let names): names.map(\.description)
        case .integers(let values): values.map { String($0) }
        case .unsignedIntegers(let values): values.map { String($0) }
        case .reals(let values): values.map { formatReal($0) }
        case .tags(let values): values.map { $0.hexString }
        case .bytes, .bulk, .sequence, .encapsulated, .empty, .text: []
        }
    }

    /// The number of values (items for a sequence).
    public var multiplicity: Int {
        switch decoded {
        case .strings(let values): values.count
        case .personNames(let values): values.count
        case .integers(let values): values.count
        case .unsignedIntegers(let values): values.count
        case .reals(let values): values.count
        case .tags(let values): values.count
        case .sequence(let items): items.count
        case .bytes(let bytes): bytes.isEmpty ? 0 : 1
        case .bulk, .encapsulated: 1
        case .empty, .text: 0
        }
    }
}

/// Where a binary value lies: offset and length in the file (or, for deflated files, in the
/// inflated dataset stream).
public struct BulkData: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    /// True when the offset refers to the inflated stream of a deflated file.
    public var inInflatedStream: Bool

    public init(offset: Int, length: Int, inInflatedStream: Bool = false) {
        self.offset = offset
        self.length = length
        self.inInflatedStream = inInflatedStream
    }
}

/// Compressed pixel data: item fragments after the basic offset table.
public struct EncapsulatedPixelData: Sendable, Equatable {
    public var basicOffsetTable: BulkData
    public var fragments: [BulkData]
}

/// Python-like shortest round-trip rendering of a real number (`1.0`, `0.5`, `1e-05`).
func formatReal(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    return "\(value)"
}

extension DicomTag {
    /// `00100010`, as DICOM JSON and AT values are written.
    public var hexString: String { HexDigits.uppercase(UInt64(value), count: 8) }
}

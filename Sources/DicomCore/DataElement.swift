/// One attribute of a dataset: tag, VR, value, and where it was found.
public struct DataElement: Sendable, Equatable {
    public var tag: DicomTag
    public var vr: VR
    public var value: DicomValue
    /// Byte offset of the element's header (in the inflated stream for deflated files).
    public var offset: Int
    /// The length field as read; `0xFFFFFFFF` for undefined length.
    public var declaredLength: UInt32

    public init(tag: DicomTag, vr: VR, value: DicomValue, offset: Int = 0, declaredLength: UInt32 = 0) {
        self.tag = tag
        self.vr = vr
        self.value = value
        self.offset = offset
        self.declaredLength = declaredLength
    }

    /// The keyword from the data dictionary, e.g. `PatientName`; empty for private or unknown
    /// tags.
    public var keyword: String {
        DataDictionary.entry(for: tag)?.keyword ?? ""
    }

    /// The values as text (see ``DicomValue/strings``).
    public var strings: [String] { value.strings }

    /// The first value as text.
    public var string: String? { value.strings.first }

    /// The first value as an integer, from binary integers or IS/DS text.
    public var integer: Int64? {
        switch value.decoded {
        case .integers(let values): return values.first
        case .unsignedIntegers(let values): return values.first.flatMap { Int64(exactly: $0) }
        case .strings(let values):
            guard let text = values.first?.trimmingCharacters(inSet: " ") else { return nil }
            return Int64(text) ?? Double(text).flatMap { Int64(exactly: $0) }
        default: return nil
        }
    }

    /// The first value as a real number, from binary numbers or IS/DS text.
    public var real: Double? {
        switch value.decoded {
        case .reals(let values): return values.first
        case .integers(let values): return values.first.map(Double.init)
        case .unsignedIntegers(let values): return values.first.map(Double.init)
        case .strings(let values): return values.first.flatMap { Double($0.trimmingCharacters(inSet: " ")) }
        default: return nil
        }
    }

    /// The items of a sequence.
    public var items: [DataSet] {
        if case .sequence(let items) = value { items } else { [] }
    }
}

/// A DICOM attribute tag: (group, element), as in (0010,0010) PatientName.
public struct DicomTag: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var group: UInt16
    public var element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// The tag as one 32-bit number, group in the high half: 0x00100010.
    public init(_ value: UInt32) {
        self.init(UInt16(truncatingIfNeeded: value >> 16), UInt16(truncatingIfNeeded: value))
    }

    public var value: UInt32 { UInt32(group) << 16 | UInt32(element) }

    /// Odd groups hold private (vendor) attributes.
    public var isPrivate: Bool { group & 1 == 1 }

    /// `(0010,0010)`.
    public var description: String {
        "(" + HexDigits.uppercase(UInt64(group), count: 4) + "," + HexDigits.uppercase(UInt64(element), count: 4) + ")"
    }

    public static func < (lhs: DicomTag, rhs: DicomTag) -> Bool { lhs.value < rhs.value }
}

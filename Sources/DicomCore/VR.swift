/// A DICOM value representation (PS3.5 6.2): how an element's bytes are to be read.
public enum VR: String, Sendable, CaseIterable, Codable {
    case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS, ST, SV,
        TM, UC, UI, UL, UN, UR, US, UT, UV

    /// The VR from its two ASCII bytes in an explicit-VR header (read for every element, so
    /// matched as a number rather than through a String).
    public init?(_ first: UInt8, _ second: UInt8) {
        guard (0x41...0x5A).contains(first), (0x41...0x5A).contains(second) else { return nil }
        guard let vr = Self.byCode[Int(first - 0x41) * 26 + Int(second - 0x41)] else { return nil }
        self = vr
    }

    /// VRs indexed by (first letter - 'A') * 26 + (second letter - 'A').
    private static let byCode: [VR?] = {
        var table = [VR?](repeating: nil, count: 26 * 26)
        for vr in VR.allCases {
            let bytes = Array(vr.rawValue.utf8)
            table[Int(bytes[0] - 0x41) * 26 + Int(bytes[1] - 0x41)] = vr
        }
        return table
    }()

    /// Explicit-VR headers of these VRs have 2 reserved bytes and a 4-byte length.
    public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: true
        default: false
        }
    }

    /// Values are text (possibly multi-valued with `\`).
    public var isText: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT: true
        default: false
        }
    }

    /// Text whose bytes are encoded in the Specific Character Set (0008,0005); other text VRs
    /// are always in the default repertoire.
    public var usesSpecificCharacterSet: Bool {
        switch self {
        case .SH, .LO, .ST, .LT, .UC, .UT, .PN: true
        default: false
        }
    }

    /// Text VRs that hold a single value: a backslash in them is text, not a separator.
    public var isSingleValuedText: Bool {
        switch self {
        case .LT, .ST, .UT, .UR: true
        default: false
        }
    }

    /// Raw binary VRs: the bytes are kept (or referenced as bulk data), not decoded to numbers.
    public var isBinary: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN: true
        default: false
        }
    }

    /// The byte size of one number for fixed-width numeric VRs.
    public var numericWidth: Int? {
        switch self {
        case .US, .SS: 2
        case .UL, .SL, .FL, .AT: 4
        case .FD, .SV, .UV: 8
        default: nil
        }
    }
}

@testable import DicomCore

/// Writes DICOM bytes element by element in a chosen encoding, for tests that need exact,
/// possibly broken, input.
struct DicomBuilder {
    var explicitVR = true
    var littleEndian = true
    var bytes: [UInt8] = []

    init(explicitVR: Bool = true, littleEndian: Bool = true) {
        self.explicitVR = explicitVR
        self.littleEndian = littleEndian
    }

    mutating func u16(_ value: UInt16) {
        bytes += littleEndian ? [UInt8(value & 0xFF), UInt8(value >> 8)] : [UInt8(value >> 8), UInt8(value & 0xFF)]
    }

    mutating func u32(_ value: UInt32) {
        let parts = [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
        bytes += littleEndian ? parts : parts.reversed()
    }

    mutating func tag(_ group: UInt16, _ element: UInt16) {
        u16(group)
        u16(element)
    }

    /// An element with a value; the length field says `length` if given (to fake bad lengths).
    mutating func element(_ group: UInt16, _ element: UInt16, _ vr: VR, _ value: [UInt8], length: UInt32? = nil) {
        tag(group, element)
        let declared = length ?? UInt32(value.count)
        if explicitVR {
            bytes += Array(vr.rawValue.utf8)
            if vr.hasLongLength {
                bytes += [0, 0]
                u32(declared)
            } else {
                u16(UInt16(truncatingIfNeeded: declared))
            }
        } else {
            u32(declared)
        }
        bytes += value
    }

    /// A text element, padded to even length with a space (or NUL for UI).
    mutating func text(_ group: UInt16, _ element: UInt16, _ vr: VR, _ value: String) {
        var raw = Array(value.utf8)
        if raw.count % 2 == 1 { raw.append(vr == .UI ? 0 : 0x20) }
        self.element(group, element, vr, raw)
    }

    mutating func textBytes(_ group: UInt16, _ element: UInt16, _ vr: VR, _ raw: [UInt8]) {
        var value = raw
        if value.count % 2 == 1 { value.append(0x20) }
        self.element(group, element, vr, value)
    }

    mutating func us(_ group: UInt16, _ element: UInt16, _ value: UInt16) {
        var builder = DicomBuilder(explicitVR: explicitVR, littleEndian: littleEndian)
        builder.u16(value)
        self.element(group, element, .US, builder.bytes)
    }

    /// A sequence of undefined length whose items (of undefined length) are built by `items`.
    mutating func sequence(_ group: UInt16, _ element: UInt16, items: [(inout DicomBuilder) -> Void]) {
        self.element(group, element, .SQ, [], length: 0xFFFF_FFFF)
        for build in items {
            tag(0xFFFE, 0xE000)
            u32(0xFFFF_FFFF)
            build(&self)
            tag(0xFFFE, 0xE00D)
            u32(0)
        }
        tag(0xFFFE, 0xE0DD)
        u32(0)
    }

    /// Preamble, DICM and a file meta group (always explicit VR little endian) for `syntax`.
    static func part10(syntax: String?, body: DicomBuilder) -> [UInt8] {
        var meta = DicomBuilder()
        meta.element(0x0002, 0x0001, .OB, [0, 1])
        meta.text(0x0002, 0x0002, .UI, "1.2.840.10008.5.1.4.1.1.7")
        meta.text(0x0002, 0x0003, .UI, "1.2.3.4")
        if let syntax { meta.text(0x0002, 0x0010, .UI, syntax) }
        var group = DicomBuilder()
        group.element(0x0002, 0x0000, .UL, [UInt8(meta.bytes.count & 0xFF), UInt8(meta.bytes.count >> 8), 0, 0])
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + group.bytes + meta.bytes + body.bytes
    }

    /// A small dataset with the attributes most tests look at.
    static func sample(explicitVR: Bool, littleEndian: Bool) -> DicomBuilder {
        var builder = DicomBuilder(explicitVR: explicitVR, littleEndian: littleEndian)
        builder.text(0x0008, 0x0005, .CS, "ISO_IR 100")
        builder.text(0x0008, 0x0060, .CS, "MR")
        builder.sequence(
            0x0008, 0x1140,
            items: [
                { $0.text(0x0008, 0x1150, .UI, "1.2.840.10008.5.1.4.1.1.4") },
                { $0.text(0x0008, 0x1155, .UI, "1.2.3.4.5") },
            ])
        builder.textBytes(0x0010, 0x0010, .PN, Array("M\u{FC}ller^J\u{F6}rg".unicodeScalars.map { UInt8($0.value) }))
        builder.text(0x0010, 0x0020, .LO, "ID-42")
        builder.us(0x0028, 0x0010, 512)
        builder.us(0x0028, 0x0011, 256)
        return builder
    }
}

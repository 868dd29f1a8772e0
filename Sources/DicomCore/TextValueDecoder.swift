/// Decodes text values the way pydicom presents them. Splitting and trimming work on bytes:
/// 0x5C, 0x20 and 0x00 never occur inside a multi-byte character of the supported character
/// sets, and pydicom also splits before decoding.
enum TextValueDecoder {
    /// True if the value has no text once padding is removed: it reads as ``DicomValue/empty``.
    static func isBlank(_ raw: RawBytes, vr: VR) -> Bool {
        switch vr {
        case .UR: raw.trimmingPadding(leading: true, nul: false).isEmpty
        case .AE: raw.trimmingPadding(leading: true).isEmpty
        default: raw.trimmingPadding().isEmpty
        }
    }

    /// Text the way pydicom presents it: split on backslash (unless single-valued), decoded in
    /// the character set where the VR uses one, trailing spaces and NULs removed. Splitting and
    /// trimming work on bytes: 0x5C, 0x20 and 0x00 never occur inside a multi-byte character of
    /// the supported character sets, and pydicom also splits before decoding.
    static func decode(
        _ raw: RawBytes, vr: VR, characterSet: SpecificCharacterSet, decoder textDecoder: TextDecoder
    ) -> DicomValue {
        switch vr {
        case .PN:
            let trimmed = raw.trimmingPadding()
            if trimmed.isEmpty { return .empty }
            let names = trimmed.splitBytes(on: UInt8(ascii: "\\")).map { value in
                let groups = value.splitBytes(on: UInt8(ascii: "=")).map {
                    textDecoder.decode($0, characterSet, delimiters: TextDecoder.personNameDelimiters)
                }
                return PersonName(groups: groups.droppingTrailingEmptyGroups())
            }
            return .personNames(names)
        case .SH, .LO, .UC:
            if !raw.containsByte(UInt8(ascii: "\\")) {
                let trimmed = raw.trimmingPadding()
                if trimmed.isEmpty { return .empty }
                return .strings(
                    Values(textDecoder.decode(trimmed, characterSet, delimiters: TextDecoder.textDelimiters)))
            }
            let parts = raw.splitBytes(on: UInt8(ascii: "\\"))
            if parts.count == 1 && parts[0].trimmingPadding().isEmpty { return .empty }
            return Self.strings(parts) {
                textDecoder.decode($0.trimmingPadding(), characterSet, delimiters: TextDecoder.textDelimiters)
            }
        case .ST, .LT, .UT:
            let trimmed = raw.trimmingPadding()
            if trimmed.isEmpty { return .empty }
            return .strings(Values(textDecoder.decode(trimmed, characterSet, delimiters: TextDecoder.textDelimiters)))
        case .UR:
            let trimmed = raw.trimmingPadding(leading: true, nul: false)
            return trimmed.isEmpty ? .empty : .strings(Values(textDecoder.decode(trimmed, as: .defaultRepertoire)))
        case .AE:
            let parts = raw.splitBytes(on: UInt8(ascii: "\\")).map { $0.trimmingPadding(leading: true) }
            if parts.count == 1 && parts[0].isEmpty { return .empty }
            return Self.strings(parts) { textDecoder.decode($0, as: .defaultRepertoire) }
        default:
            // AS CS DA DS DT IS TM UI: default repertoire; padding off the whole value, then split.
            let trimmed = raw.trimmingPadding()
            if trimmed.isEmpty { return .empty }
            if !trimmed.containsByte(UInt8(ascii: "\\")) {
                return .strings(Values(textDecoder.decode(trimmed, as: .defaultRepertoire)))
            }
            return Self.strings(trimmed.splitBytes(on: UInt8(ascii: "\\"))) {
                textDecoder.decode($0, as: .defaultRepertoire)
            }
        }
    }

    /// Text values from the parts of a split value (never empty: a split has at least one part).
    static func strings(_ parts: [RawBytes], _ decode: (RawBytes) -> String) -> DicomValue {
        guard let first = parts.first else { return .empty }
        return .strings(Values(decode(first), tail: parts.dropFirst().map(decode)))
    }
}

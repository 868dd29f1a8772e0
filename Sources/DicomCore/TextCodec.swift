/// A character repertoire a DICOM text value can be encoded in, named after the codec pydicom
/// maps each Specific Character Set term to.
enum TextCodec: String, Sendable, Hashable {
    /// The default repertoire; decoded as Latin-1 (as pydicom's `iso8859` does) so no byte is lost.
    case defaultRepertoire = "iso8859"
    case latin1 = "latin_1"
    case latin2 = "iso8859_2"
    case latin3 = "iso8859_3"
    case latin4 = "iso8859_4"
    case greek = "iso_ir_126"
    case arabic = "iso_ir_127"
    case hebrew = "iso_ir_138"
    case cyrillic = "iso_ir_144"
    case latin5 = "iso_ir_148"
    case thai = "iso_ir_166"
    case shiftJIS = "shift_jis"
    case iso2022JP = "iso2022_jp"
    case iso2022JP2 = "iso2022_jp_2"
    case eucKR = "euc_kr"
    case gb2312 = "iso_ir_58"
    case utf8 = "UTF8"
    case gb18030 = "GB18030"
    case gbk = "GBK"

    /// The iconv name; nil where Swift decodes directly.
    var iconvName: String? {
        switch self {
        case .defaultRepertoire, .latin1, .utf8: nil
        case .latin2: "ISO-8859-2"
        case .latin3: "ISO-8859-3"
        case .latin4: "ISO-8859-4"
        case .greek: "ISO-8859-7"
        case .arabic: "ISO-8859-6"
        case .hebrew: "ISO-8859-8"
        case .cyrillic: "ISO-8859-5"
        case .latin5: "ISO-8859-9"
        case .thai: "TIS-620"
        // CP932 keeps 0x5C as a backslash and 0x7E as a tilde, as Python's shift_jis does.
        case .shiftJIS: "CP932"
        case .iso2022JP: "ISO-2022-JP"
        case .iso2022JP2: "ISO-2022-JP-2"
        case .eucKR: "EUC-KR"
        case .gb2312: "GB2312"
        case .gb18030: "GB18030"
        case .gbk: "GBK"
        }
    }

    /// Codecs that understand their own ISO 2022 escape sequences, so a fragment is decoded
    /// with its escape sequence still in front.
    var decodesEscapeSequences: Bool {
        self == .iso2022JP || self == .iso2022JP2
    }

    /// The codec for a Specific Character Set term, or nil for an unknown term.
    static func forTerm(_ term: String) -> TextCodec? {
        if let codec = termTable[term] { return codec }
        // Common misspellings, corrected as pydicom does: "ISO IR 100", "ISO-IR 100",
        // "ISO_2022-IR 87", …
        let scalars = Array(term.unicodeScalars)
        if scalars.count > 6, term.hasPrefix("ISO"), scalars[3] != "_",
            String(String.UnicodeScalarView(scalars[4..<6])) == "IR"
        {
            return termTable["ISO_IR" + String(String.UnicodeScalarView(scalars[6...]))]
        }
        if scalars.count > 12, term.hasPrefix("ISO"), String(String.UnicodeScalarView(scalars[4..<8])) == "2022",
            String(String.UnicodeScalarView(scalars[9..<11])) == "IR", !term.hasPrefix("ISO 2022 IR ")
        {
            return termTable["ISO 2022 IR " + String(String.UnicodeScalarView(scalars[12...]))]
        }
        return nil
    }

    /// Terms that cannot be combined with code extensions.
    static let standAloneTerms: Set<String> = ["ISO_IR 192", "GBK", "GB18030"]

    static let termTable: [String: TextCodec] = [
        "": .defaultRepertoire, "ISO_IR 6": .defaultRepertoire, "ISO 2022 IR 6": .defaultRepertoire,
        "ISO_IR 13": .shiftJIS, "ISO 2022 IR 13": .shiftJIS,
        "ISO_IR 100": .latin1, "ISO 2022 IR 100": .latin1,
        "ISO_IR 101": .latin2, "ISO 2022 IR 101": .latin2,
        "ISO_IR 109": .latin3, "ISO 2022 IR 109": .latin3,
        "ISO_IR 110": .latin4, "ISO 2022 IR 110": .latin4,
        "ISO_IR 126": .greek, "ISO 2022 IR 126": .greek,
        "ISO_IR 127": .arabic, "ISO 2022 IR 127": .arabic,
        "ISO_IR 138": .hebrew, "ISO 2022 IR 138": .hebrew,
        "ISO_IR 144": .cyrillic, "ISO 2022 IR 144": .cyrillic,
        "ISO_IR 148": .latin5, "ISO 2022 IR 148": .latin5,
        "ISO_IR 166": .thai, "ISO 2022 IR 166": .thai,
        "ISO 2022 IR 87": .iso2022JP, "ISO 2022 IR 159": .iso2022JP2,
        "ISO 2022 IR 149": .eucKR, "ISO 2022 IR 58": .gb2312, "ISO 2022 58": .gb2312,
        "ISO_IR 192": .utf8, "GB18030": .gb18030, "GBK": .gbk, "ISO 2022 GBK": .gbk,
    ]

    /// ISO 2022 escape sequences (PS3.5 6.1.2.5) and the codec each one selects.
    static let escapeSequences: [([UInt8], TextCodec)] = [
        ([0x1B, 0x24, 0x28, 0x44], .iso2022JP2),  // ESC $ ( D  JIS X 0212
        ([0x1B, 0x24, 0x29, 0x43], .eucKR),  // ESC $ ) C  KS X 1001
        ([0x1B, 0x24, 0x29, 0x41], .gb2312),  // ESC $ ) A  GB 2312
        ([0x1B, 0x24, 0x42], .iso2022JP),  // ESC $ B  JIS X 0208
        ([0x1B, 0x28, 0x42], .defaultRepertoire),  // ESC ( B  ASCII
        ([0x1B, 0x28, 0x4A], .shiftJIS),  // ESC ( J  JIS X 0201 Romaji
        ([0x1B, 0x29, 0x49], .shiftJIS),  // ESC ) I  JIS X 0201 Katakana
        ([0x1B, 0x2D, 0x41], .latin1),
        ([0x1B, 0x2D, 0x42], .latin2),
        ([0x1B, 0x2D, 0x43], .latin3),
        ([0x1B, 0x2D, 0x44], .latin4),
        ([0x1B, 0x2D, 0x46], .greek),
        ([0x1B, 0x2D, 0x47], .arabic),
        ([0x1B, 0x2D, 0x48], .hebrew),
        ([0x1B, 0x2D, 0x4C], .cyrillic),
        ([0x1B, 0x2D, 0x4D], .latin5),
        ([0x1B, 0x2D, 0x54], .thai),
    ]
}

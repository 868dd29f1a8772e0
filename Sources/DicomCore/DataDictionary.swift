#if canImport(Glibc)
    import Glibc
#endif

/// The public DICOM data dictionary (PS3.6): keyword, name and VR of every standard attribute.
public enum DataDictionary {
    /// One dictionary entry.
    public struct Entry: Sendable, Hashable {
        public var tag: DicomTag
        /// The VR text as the standard gives it, e.g. `US` or `US or SS`.
        public var vrText: String
        public var multiplicity: String
        public var keyword: String
        public var name: String
        public var isRetired: Bool

        /// The VR, or its first choice where the standard allows several (`US or SS`).
        public var vr: VR {
            VR(rawValue: String(vrText.prefix(2))) ?? .UN
        }
    }

    /// The entry for a tag: exact, or by a repeating-group mask such as (60xx,3000).
    public static func entry(for tag: DicomTag) -> Entry? {
        if let entry = tables.byTag[tag.value] { return entry }
        for (mask, value, entry) in tables.repeating where tag.value & mask == value {
            return Entry(
                tag: tag, vrText: entry.vrText, multiplicity: entry.multiplicity, keyword: entry.keyword,
                name: entry.name, isRetired: entry.isRetired)
        }
        return nil
    }

    /// How the dictionary types an attribute, without the entry's strings: what implicit VR
    /// reading looks up for every element.
    enum DictionaryVR: Sendable, Equatable {
        case plain(VR)
        case obOrOW, usOrSS, usOrSSOrOW, usOrOW

        init(_ text: String) {
            switch text {
            case "OB or OW": self = .obOrOW
            case "US or SS": self = .usOrSS
            case "US or SS or OW": self = .usOrSSOrOW
            case "US or OW": self = .usOrOW
            default: self = .plain(VR(rawValue: String(text.prefix(2))) ?? .UN)
            }
        }
    }

    /// The dictionary VR of a public tag (exact or repeating), or nil.
    static func dictionaryVR(for tag: DicomTag) -> DictionaryVR? {
        if let vr = vrIndex.exact[tag.value] { return vr }
        for (mask, value, vr) in vrIndex.repeating where tag.value & mask == value { return vr }
        return nil
    }

    /// Tag → VR only, built from the table bytes without making a String per field: this is
    /// all the reader needs, and it is built at every start of `dql`. Names and keywords are
    /// parsed only when something asks for them.
    private static let vrIndex: (exact: [UInt32: DictionaryVR], repeating: [(UInt32, UInt32, DictionaryVR)]) = {
        var exact: [UInt32: DictionaryVR] = [:]
        exact.reserveCapacity(5200)
        var repeating: [(UInt32, UInt32, DictionaryVR)] = []
        func scan(_ table: String, _ body: (UnsafeBufferPointer<UInt8>, DictionaryVR) -> Void) {
            var text = table
            text.withUTF8 { bytes in
                var lineStart = 0
                while lineStart + 12 <= bytes.count {
                    var lineEnd = lineStart
                    while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                    // "TTTTTTTT\tVR[ or …]\t": the VR field starts at 9 and ends at the next tab.
                    var vrEnd = lineStart + 9
                    while vrEnd < lineEnd && bytes[vrEnd] != UInt8(ascii: "\t") { vrEnd += 1 }
                    let vrField = UnsafeBufferPointer(rebasing: bytes[(lineStart + 9)..<vrEnd])
                    let vr: DictionaryVR
                    if vrField.count == 2, let plain = VR(vrField[0], vrField[1]) {
                        vr = .plain(plain)
                    } else {
                        vr = DictionaryVR(String(decoding: vrField, as: UTF8.self))
                    }
                    body(UnsafeBufferPointer(rebasing: bytes[lineStart..<(lineStart + 8)]), vr)
                    lineStart = lineEnd + 1
                }
            }
        }
        func hexValue(_ digits: UnsafeBufferPointer<UInt8>, x: UInt32) -> UInt32 {
            digits.reduce(0) { value, digit in
                let nibble: UInt32
                switch digit {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt32(digit - UInt8(ascii: "0"))
                case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = UInt32(digit - UInt8(ascii: "A") + 10)
                default: nibble = x
                }
                return value << 4 | nibble
            }
        }
        scan(standardTable) { tag, vr in exact[hexValue(tag, x: 0)] = vr }
        scan(repeatingTable) { tag, vr in
            // In the mask, x digits are 0 and others F; in the value, x digits are 0.
            let mask = maskOf(tag)
            repeating.append((mask, hexValue(tag, x: 0), vr))
        }
        return (exact, repeating)
    }()

    /// The mask of a repeating pattern: F for fixed hex digits, 0 for x.
    private static func maskOf(_ pattern: UnsafeBufferPointer<UInt8>) -> UInt32 {
        pattern.reduce(0) { $0 << 4 | ($1 == UInt8(ascii: "x") ? 0 : 0xF) }
    }

    /// The registered name of a UID, e.g. "CT Image Storage" or "JPEG 2000 Image Compression".
    public static func uidName(_ uid: String) -> String? {
        uidNames[uid.trimmingDicomPadding()]
    }

    private static let uidNames: [String: String] = {
        var names: [String: String] = [:]
        forEachRow(of: uidTable, minimumFields: 2) { names[String($0[0])] = String($0[1]) }
        return names
    }()

    /// The tag of a keyword such as `PatientName`.
    public static func tag(forKeyword keyword: String) -> DicomTag? {
        tables.byKeyword[keyword]
    }

    /// Every keyword, for completion and suggestions.
    public static var keywords: some Collection<String> { tables.byKeyword.keys }

    /// The entry for a private tag, given the private creator that reserved its block, from
    /// the vendor dictionaries pydicom collects.
    public static func privateEntry(for tag: DicomTag, creator: String) -> Entry? {
        guard let entries = privateTables.entries(for: creator) else { return nil }
        let group = HexDigits.uppercase(UInt64(tag.group), count: 4)
        let low = HexDigits.uppercase(UInt64(tag.element & 0xFF), count: 2)
        let entry = entries[group + "xx" + low] ?? entries[String(group.prefix(2)) + "xxxx" + low]
        return entry.map {
            Entry(
                tag: tag, vrText: $0.vrText, multiplicity: $0.multiplicity, keyword: "", name: $0.name,
                isRetired: $0.isRetired)
        }
    }

    /// Private dictionaries, parsed one creator at a time on first use: the table holds 10,000
    /// rows and a file names a handful of creators.
    private static let privateTables = PrivateTables(privateTable)

    private struct Tables: Sendable {
        var byTag: [UInt32: Entry] = [:]
        var byKeyword: [String: DicomTag] = [:]
        /// (mask, value, entry): a tag matches when `tag & mask == value`.
        var repeating: [(UInt32, UInt32, Entry)] = []
    }

    private static let tables: Tables = {
        var tables = Tables()
        tables.byTag.reserveCapacity(5200)
        tables.byKeyword.reserveCapacity(5200)
        forEachRow(of: standardTable) { fields in
            guard let value = UInt32(fields[0], radix: 16) else { return }
            let entry = makeEntry(DicomTag(value), fields)
            tables.byTag[value] = entry
            if !entry.keyword.isEmpty { tables.byKeyword[entry.keyword] = entry.tag }
        }
        forEachRow(of: repeatingTable) { fields in
            let pattern = fields[0].utf8
            let mask =
                UInt32(
                    String(
                        decoding: pattern.map { $0 == UInt8(ascii: "x") ? UInt8(ascii: "0") : UInt8(ascii: "F") },
                        as: UTF8.self), radix: 16) ?? 0
            let value =
                UInt32(
                    String(decoding: pattern.map { $0 == UInt8(ascii: "x") ? UInt8(ascii: "0") : $0 }, as: UTF8.self),
                    radix: 16) ?? 0
            let entry = makeEntry(DicomTag(value), fields)
            tables.repeating.append((mask, value, entry))
            if !entry.keyword.isEmpty, tables.byKeyword[entry.keyword] == nil {
                tables.byKeyword[entry.keyword] = DicomTag(value)
            }
        }
        return tables
    }()

    private static func makeEntry(_ tag: DicomTag, _ fields: [Substring]) -> Entry {
        Entry(
            tag: tag, vrText: String(fields[1]), multiplicity: String(fields[2]), keyword: String(fields[3]),
            name: String(fields[4]), isRetired: fields[5] == "R")
    }

    /// Calls `body` with the tab-separated fields of each line that has at least
    /// `minimumFields`, splitting on bytes rather than Characters.
    static func forEachRow(of table: String, minimumFields: Int = 6, _ body: ([Substring]) -> Void) {
        var text = table
        text.withUTF8 { bytes in
            var lineStart = 0
            var fields: [Substring] = []
            fields.reserveCapacity(6)
            var fieldStart = 0
            func field(_ start: Int, _ end: Int) -> Substring {
                Substring(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
            }
            for index in 0...bytes.count {
                let byte = index < bytes.count ? bytes[index] : UInt8(ascii: "\n")
                if byte == UInt8(ascii: "\t") {
                    fields.append(field(fieldStart, index))
                    fieldStart = index + 1
                } else if byte == UInt8(ascii: "\n") {
                    fields.append(field(fieldStart, index))
                    if fields.count >= minimumFields && index > lineStart { body(fields) }
                    fields.removeAll(keepingCapacity: true)
                    lineStart = index + 1
                    fieldStart = index + 1
                }
            }
        }
    }
}

/// The private dictionary table, indexed by creator (its rows are sorted by creator), with each
/// creator's rows parsed when first asked for.
final class PrivateTables: @unchecked Sendable {
    private let table: String
    /// Creator → byte range of its rows in the table.
    private let ranges: [String: Range<Int>]
    private let lock = Mutex()
    private var parsed: [String: [String: DataDictionary.Entry]] = [:]

    init(_ table: String) {
        self.table = table
        var ranges: [String: Range<Int>] = [:]
        var text = table
        text.withUTF8 { bytes in
            var lineStart = 0
            guard let base = bytes.baseAddress else { return }
            // The current creator's name as a byte range of its first line.
            var current: (name: Range<Int>, start: Int)?
            func name(_ range: Range<Int>) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
            }
            while lineStart < bytes.count {
                var tab = lineStart
                while tab < bytes.count && bytes[tab] != UInt8(ascii: "\t") && bytes[tab] != UInt8(ascii: "\n") {
                    tab += 1
                }
                var lineEnd = tab
                while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                let creator = lineStart..<tab
                let same =
                    current.map { current in
                        current.name.count == creator.count
                            && memcmp(base + current.name.lowerBound, base + creator.lowerBound, creator.count) == 0
                    } ?? false
                if !same {
                    if let current { ranges[name(current.name)] = current.start..<lineStart }
                    current = (creator, lineStart)
                }
                lineStart = lineEnd + 1
            }
            if let current { ranges[name(current.name)] = current.start..<bytes.count }
        }
        self.ranges = ranges
    }

    func entries(for creator: String) -> [String: DataDictionary.Entry]? {
        guard let range = ranges[creator] else { return nil }
        if let cached = lock.withLock({ parsed[creator] }) { return cached }
        var entries: [String: DataDictionary.Entry] = [:]
        let rows = String(table.utf8.dropFirst(range.lowerBound).prefix(range.count)) ?? ""
        DataDictionary.forEachRow(of: rows) { fields in
            entries[String(fields[1])] = DataDictionary.Entry(
                tag: DicomTag(0), vrText: String(fields[2]), multiplicity: String(fields[3]), keyword: "",
                name: String(fields[4]), isRetired: fields[5] == "R")
        }
        lock.withLock { parsed[creator] = entries }
        return entries
    }
}

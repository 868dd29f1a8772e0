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

    /// The tag of a keyword such as `PatientName`.
    public static func tag(forKeyword keyword: String) -> DicomTag? {
        tables.byKeyword[keyword]
    }

    /// Every keyword, for completion and suggestions.
    public static var keywords: some Collection<String> { tables.byKeyword.keys }

    /// The entry for a private tag, given the private creator that reserved its block, from
    /// the vendor dictionaries pydicom collects.
    public static func privateEntry(for tag: DicomTag, creator: String) -> Entry? {
        guard let entries = privateTables[creator] else { return nil }
        let group = hex(tag.group, digits: 4)
        let low = hex(tag.element & 0xFF, digits: 2)
        let entry = entries[group + "xx" + low] ?? entries[String(group.prefix(2)) + "xxxx" + low]
        return entry.map {
            Entry(
                tag: tag, vrText: $0.vrText, multiplicity: $0.multiplicity, keyword: "", name: $0.name,
                isRetired: $0.isRetired)
        }
    }

    private static func hex(_ value: UInt16, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    private static let privateTables: [String: [String: Entry]] = {
        var tables: [String: [String: Entry]] = [:]
        for line in privateTable.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 6 else { continue }
            tables[String(fields[0]), default: [:]][String(fields[1])] = Entry(
                tag: DicomTag(0), vrText: String(fields[2]), multiplicity: String(fields[3]), keyword: "",
                name: String(fields[4]), isRetired: fields[5] == "R")
        }
        return tables
    }()

    private struct Tables: Sendable {
        var byTag: [UInt32: Entry] = [:]
        var byKeyword: [String: DicomTag] = [:]
        /// (mask, value, entry): a tag matches when `tag & mask == value`.
        var repeating: [(UInt32, UInt32, Entry)] = []
    }

    private static let tables: Tables = {
        var tables = Tables()
        tables.byTag.reserveCapacity(5200)
        for line in standardTable.split(separator: "\n") {
            guard let entry = parse(line), let value = UInt32(line.prefix(8), radix: 16) else { continue }
            tables.byTag[value] = Entry(
                tag: DicomTag(value), vrText: entry.vrText, multiplicity: entry.multiplicity, keyword: entry.keyword,
                name: entry.name, isRetired: entry.isRetired)
            if !entry.keyword.isEmpty { tables.byKeyword[entry.keyword] = DicomTag(value) }
        }
        for line in repeatingTable.split(separator: "\n") {
            guard let entry = parse(line) else { continue }
            let pattern = line.prefix(8)
            let mask = UInt32(String(pattern.map { $0 == "x" ? "0" : "F" }), radix: 16) ?? 0
            let value = UInt32(String(pattern.map { $0 == "x" ? "0" : $0 }), radix: 16) ?? 0
            tables.repeating.append((mask, value, entry))
            if !entry.keyword.isEmpty, tables.byKeyword[entry.keyword] == nil {
                tables.byKeyword[entry.keyword] = DicomTag(value)
            }
        }
        return tables
    }()

    private static func parse(_ line: Substring) -> Entry? {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count >= 6 else { return nil }
        return Entry(
            tag: DicomTag(0), vrText: String(fields[1]), multiplicity: String(fields[2]), keyword: String(fields[3]),
            name: String(fields[4]), isRetired: fields[5] == "R")
    }
}

import DicomCore

/// Any attribute of the DICOM standard as a field, by keyword (`SliceThickness`) or tag
/// (`(0018,0050)`, private tags included), beside the friendly fields of ``Schema``. Its VR
/// decides how it compares: numbers for DS, IS, US, FL, …; dates for DA; text otherwise.
/// Unless it is indexed (`index KEYWORD`), its values are read from the stored headers of the
/// files the indexed conditions leave (see ``ScanPlan``).
public enum AttributeFields {
    /// The field for a keyword or a tag as written, or nil when the name is neither. An
    /// attribute that is a friendly field (`PatientSex`, `(0010,0040)`) is that field.
    public static func field(named name: String) -> Field? {
        let tag: DicomTag
        if let written = self.tag(from: name) {
            tag = written
        } else if let keyword = keywordsByLowercase[name.lowercased()],
            let known = DataDictionary.tag(forKeyword: keyword)
        {
            tag = known
        } else {
            return nil
        }
        // Items and their delimiters are not attributes.
        if tag.group == 0xFFFE { return nil }
        if let friendly = friendlyFieldNames[tag] { return Schema.field(named: friendly) }
        return field(for: tag)
    }

    /// The field of a tag (not indexed).
    static func field(for tag: DicomTag) -> Field {
        let entry = tag.isPrivate ? nil : DataDictionary.entry(for: tag)
        let keyword = entry?.keyword ?? ""
        let key = keyword.isEmpty ? "x" + String(tag.description.filter(\.isHexDigit)) : keyword
        let vr = entry?.vr
        var field = Field(
            keyword.isEmpty ? tag.description : keyword, vr.flatMap(kind(of:)) ?? .tag, path: "$.a." + key,
            attribute: "a_" + key, sortable: true, collapsesWhitespace: true,
            entry.map { "\($0.name) \(tag) \($0.vrText)" } ?? "private attribute \(tag)")
        field.tag = tag
        field.vr = vr
        field.isIndexed = false
        return field
    }

    /// How values of a VR compare, or nil for those that hold no comparable value (sequences,
    /// bulk data).
    static func kind(of vr: VR) -> Field.Kind? {
        switch vr {
        case .DS, .IS, .US, .SS, .UL, .SL, .FL, .FD, .UV, .SV: .numeric
        case .DA: .date
        case .SQ, .OB, .OD, .OF, .OL, .OV, .OW, .UN: nil
        default: .tag
        }
    }

    /// `(0018,0050)` as a tag (any case of hex digits), or nil.
    public static func tag(from text: String) -> DicomTag? {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 11, scalars[0] == "(", scalars[5] == ",", scalars[10] == ")",
            let group = UInt16(String(String.UnicodeScalarView(scalars[1..<5])), radix: 16),
            let element = UInt16(String(String.UnicodeScalarView(scalars[6..<10])), radix: 16)
        else { return nil }
        return DicomTag(group, element)
    }

    /// Every keyword of the data dictionary, by its lower-case spelling.
    static let keywordsByLowercase: [String: String] = {
        var table: [String: String] = [:]
        for keyword in DataDictionary.keywords { table[keyword.lowercased()] = keyword }
        return table
    }()

    /// Every keyword, for suggestions and completion.
    public static var keywords: [String] { Array(keywordsByLowercase.values).sorted() }

    /// The friendly fields that are header attributes, by tag.
    static let friendlyFieldNames: [DicomTag: String] = {
        var names: [DicomTag: String] = [:]
        for field in Schema.fields {
            if let tag = FileDocument.headerTags[field.documentKey] { names[tag] = field.name }
        }
        names[DicomTag(0x0008, 0x0020)] = "date"
        names[DicomTag(0x0028, 0x0008)] = "frames"
        names[DicomTag(0x0002, 0x0010)] = "transferSyntax"
        return names
    }()
}

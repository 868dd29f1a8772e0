import DicomCore

/// The queryable fields: friendly names mapped to the document's JSON paths and the index's
/// attributes. The one table the compiler, the index definition and `fields` all read from;
/// field names in commands never come from user text, only from here.
public struct Field: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Exact-match text (TAG): `=`, `!=`, `in`, `like`; `contains` if it has a word index.
        case tag
        /// A number (NUMERIC): comparisons, ranges, `in`.
        case numeric
        /// The study date, stored as a YYYYMMDD number.
        case date
        /// The year of the study date, stored beside it as a number (grouping on a value
        /// computed in the query fails for files without a date).
        case year
    }

    public var name: String
    public var kind: Kind
    /// The JSON path in the metadata document.
    public var path: String
    /// The index attribute it is sorted, grouped and returned by.
    public var attribute: String
    /// The JSON path conditions match, when it differs from `path`: every value of a list
    /// (a file's names, all of them, where `path` is the first).
    public var matchPath: String?
    /// The index attribute conditions match (`attribute` unless `matchPath` is set).
    public var matchAttribute: String
    /// A second attribute indexing the same path as TEXT, for `contains`.
    public var wordAttribute: String?
    /// A second TAG attribute over the same path that keeps case (CASESENSITIVE), for the
    /// key of a level: the Patient IDs `abc` and `ABC` are two patients, and the rows, files and
    /// deletes of one must not take the other's.
    public var exactAttribute: String? = nil
    /// Declared SORTABLE: it can be grouped and sorted on.
    public var isSortable: Bool
    /// Stored with whitespace runs collapsed and trimmed (header text, padded by scanners);
    /// a value compared with it is normalised the same way (``normalize(_:)``).
    public var collapsesWhitespace: Bool
    public var summary: String
    /// The DICOM attribute, for a field named by keyword or tag (see ``AttributeFields``).
    public var tag: DicomTag? = nil
    /// Its VR in the data dictionary, when known.
    public var vr: VR? = nil
    /// Whether the index holds it; an attribute that is not indexed is read from the stored
    /// headers.
    public var isIndexed = true
    /// Holds one value, never several: a backslash in it is part of the value (a file name may
    /// hold one), not DICOM's separator between values.
    public var isOneValue = false

    public init(
        _ name: String, _ kind: Kind, path: String, attribute: String? = nil, matchPath: String? = nil,
        matchAttribute: String? = nil, words: Bool = false, sortable: Bool = false, collapsesWhitespace: Bool = false,
        _ summary: String
    ) {
        self.name = name
        self.kind = kind
        self.path = path
        self.attribute = attribute ?? name
        self.matchPath = matchPath
        self.matchAttribute = matchAttribute ?? attribute ?? name
        self.wordAttribute = words ? (attribute ?? name) + "_words" : nil
        self.isSortable = sortable
        self.collapsesWhitespace = collapsesWhitespace
        self.summary = summary
    }

    /// The JSON key in the metadata document (`$.protocol` → `protocol`).
    public var documentKey: String { String(path.dropFirst(2)) }

    public var isText: Bool { kind == .tag }

    /// A text value as the field stores it: what is done to stored values is done to values
    /// compared with them, so `protocol = 'a b  c'` finds the Protocol Name `a b  c`.
    public func normalize(_ text: String) -> String {
        collapsesWhitespace ? Self.collapsingWhitespace(text) : text
    }

    static func collapsingWhitespace(_ text: String) -> String {
        // Most values have nothing to collapse: returned as they are, without a split.
        var previousWasSpace = true
        var untouched = true
        for byte in text.utf8 {
            if byte == 0x09 || byte == 0x0A || byte == 0x0D || (byte == 0x20 && previousWasSpace) {
                untouched = false
                break
            }
            previousWasSpace = byte == 0x20
        }
        if untouched && !previousWasSpace { return text }
        return text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(
            separator: " ")
    }

    /// The kind of value the field holds, in a word, for messages: "a date".
    public var kindName: String {
        switch kind {
        case .tag: "text"
        case .numeric: "a number"
        case .date: "a date"
        case .year: "a year"
        }
    }

    /// The operators a condition on the field may use, as written, for `fields` and messages.
    public var operators: [String] {
        switch kind {
        case .tag: ["=", "!=", "in", "like"] + (wordAttribute == nil ? [] : ["contains"]) + ["is missing"]
        case .numeric, .date, .year: ["=", "!=", "<", "<=", ">", ">=", "between", "in", "is missing"]
        }
    }

    /// The kind of value the field compares against, with an example, for `fields`.
    public var valueDescription: String {
        switch kind {
        case .tag: "text"
        case .numeric: "a number"
        case .date: "a date (2019-03-05 or 20190305)"
        case .year: "a year"
        }
    }
}

/// All fields, in the order `fields` lists them.
public enum Schema {
    public static let fields: [Field] = [
        {
            var field = Field(
                "name", .tag, path: "$.name", matchPath: "$.names[*]", matchAttribute: "names", words: true,
                sortable: true,
                "file name: conditions match every name it was loaded under; shown and sorted by the first")
            field.isOneValue = true
            return field
        }(),
        Field(
            "patient", .tag, path: "$.patientName", words: true, sortable: true, collapsesWhitespace: true,
            "Patient's Name (0010,0010)"),
        {
            var field = Field(
                "patientId", .tag, path: "$.patientId", sortable: true, collapsesWhitespace: true,
                "Patient ID (0010,0020)")
            field.exactAttribute = "patientIdExact"
            return field
        }(),
        Field("sex", .tag, path: "$.sex", collapsesWhitespace: true, "Patient's Sex (0010,0040)"),
        Field(
            "date", .date, path: "$.studyDate", attribute: "studyDate", sortable: true,
            "Study Date (0008,0020), as a date"),
        Field(
            "accession", .tag, path: "$.accessionNumber", collapsesWhitespace: true, "Accession Number (0008,0050)"),
        Field(
            "referrer", .tag, path: "$.referringPhysician", words: true, collapsesWhitespace: true,
            "Referring Physician's Name (0008,0090)"),
        Field("year", .year, path: "$.studyYear", attribute: "studyYear", sortable: true, "year of the Study Date"),
        Field("modality", .tag, path: "$.modality", sortable: true, collapsesWhitespace: true, "Modality (0008,0060)"),
        Field(
            "protocol", .tag, path: "$.protocol", words: true, sortable: true, collapsesWhitespace: true,
            "Protocol Name (0018,1030)"),
        Field(
            "study", .tag, path: "$.studyDescription", words: true, sortable: true, collapsesWhitespace: true,
            "Study Description (0008,1030)"),
        Field(
            "series", .tag, path: "$.seriesDescription", words: true, sortable: true, collapsesWhitespace: true,
            "Series Description (0008,103E)"),
        Field(
            "bodyPart", .tag, path: "$.bodyPart", collapsesWhitespace: true,
            "Body Part Examined (0018,0015)"),
        Field(
            "manufacturer", .tag, path: "$.manufacturer", words: true, collapsesWhitespace: true,
            "Manufacturer (0008,0070)"),
        Field(
            "institution", .tag, path: "$.institution", words: true, collapsesWhitespace: true,
            "Institution Name (0008,0080)"),
        Field("studyUid", .tag, path: "$.studyUid", collapsesWhitespace: true, "Study Instance UID (0020,000D)"),
        Field("seriesUid", .tag, path: "$.seriesUid", collapsesWhitespace: true, "Series Instance UID (0020,000E)"),
        Field("sopUid", .tag, path: "$.sopUid", collapsesWhitespace: true, "SOP Instance UID (0008,0018)"),
        Field("sopClass", .tag, path: "$.sopClass", collapsesWhitespace: true, "SOP Class UID (0008,0016)"),
        Field("sop", .tag, path: "$.sopClassName", "SOP class name, e.g. CT Image Storage"),
        Field("transferSyntax", .tag, path: "$.transferSyntax", "Transfer Syntax UID (0002,0010)"),
        Field("rows", .numeric, path: "$.rows", "Rows (0028,0010)"),
        Field("columns", .numeric, path: "$.columns", "Columns (0028,0011)"),
        Field("frames", .numeric, path: "$.frames", "Number of Frames (0028,0008), 1 if absent"),
        Field("size", .numeric, path: "$.size", sortable: true, "file size in bytes"),
        Field("id", .tag, path: "$.sha256", attribute: "sha256", "SHA-256 of the file's bytes (its id)"),
    ]

    /// Aliases people type: `study` is the description, but `studyInstanceUid` is clear too.
    static let aliases: [String: String] = [
        "patientname": "patient", "protocolname": "protocol", "studydate": "date", "studydescription": "study",
        "seriesdescription": "series", "bodypartexamined": "bodyPart", "institutionname": "institution",
        "studyinstanceuid": "studyUid", "seriesinstanceuid": "seriesUid", "sopinstanceuid": "sopUid",
        "sopclassuid": "sopClass", "numberofframes": "frames", "sha256": "id", "filename": "name",
        "accessionnumber": "accession", "referringphysicianname": "referrer", "referringphysician": "referrer",
    ]

    /// The field for a name, case-insensitive, aliases included.
    public static func field(named name: String) -> Field? {
        let key = name.lowercased()
        return byLowercasedName[aliases[key]?.lowercased() ?? key]
    }

    /// Fields by lower-cased name, the first of a name winning (looked up for every column
    /// of every statement).
    private static let byLowercasedName: [String: Field] = Dictionary(
        fields.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })

    /// Every name a field answers to (names and aliases), for suggestions.
    public static let fieldNames: [String] = fields.map(\.name) + aliases.keys.sorted()

    /// The closest field name, for "did you mean".
    public static func suggestion(for name: String) -> String? {
        Suggestion.closest(to: name, among: fieldNames).flatMap(field(named:))?.name
    }

    /// The columns `find` shows when none are named.
    public static let defaultColumns = ["name", "patient", "modality", "protocol", "date", "size"]

    /// The FT.CREATE arguments after the index name: JSON documents under `prefix`, no
    /// stopwords, every field with its type. Strings are TAGs (exact, empty and missing values
    /// indexed) plus a TEXT twin for word search; numbers are NUMERIC. Words keep neither their
    /// positions nor their frequencies (NOOFFSETS, NOFREQS): `contains` asks for words in any
    /// order and nothing is ranked by score, and leaving them out saves about 90 bytes of index
    /// per file.
    public static func indexDefinition(documentPrefix: String) -> [String] {
        var arguments = [
            "ON", "JSON", "PREFIX", "1", documentPrefix, "NOOFFSETS", "NOFREQS", "STOPWORDS", "0", "SCHEMA",
        ]
        var seen: Set<String> = []
        for field in fields where seen.insert(field.attribute).inserted {
            arguments += [field.path, "AS", field.attribute]
            switch field.kind {
            case .tag:
                arguments += ["TAG", "INDEXEMPTY", "INDEXMISSING"]
            case .numeric, .date, .year:
                arguments += ["NUMERIC", "INDEXMISSING"]
            }
            if field.isSortable {
                arguments += field.kind == .tag ? ["SORTABLE", "UNF"] : ["SORTABLE"]
            }
            if let matchPath = field.matchPath {
                arguments += [matchPath, "AS", field.matchAttribute, "TAG", "INDEXEMPTY", "INDEXMISSING"]
            }
            if let exact = field.exactAttribute {
                arguments += [field.path, "AS", exact, "TAG", "CASESENSITIVE", "INDEXMISSING"]
            }
            if let words = field.wordAttribute {
                arguments += [field.matchPath ?? field.path, "AS", words, "TEXT", "INDEXMISSING"]
            }
        }
        return arguments
    }
}

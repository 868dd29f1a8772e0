import DicomCore

/// The metadata document one stored file becomes (storage layout 2): the friendly fields the
/// index searches and the storage facts needed to fetch it. The header itself is not copied
/// into the document (as DICOM JSON it took three quarters of a document's memory, RedisJSON
/// allocating every node): its bytes are the first `headerLength` bytes of the file's chunks,
/// read again when an attribute is shown (see ``StoredHeader``). Documents of layout 1 carry
/// the header as DICOM JSON under `dicom`, and are read as they are.
public struct FileDocument: Sendable {
    /// SHA-256 of the file's bytes, lower-case hex: the file's id.
    public var id: String
    /// The name it was first loaded under (its base name).
    public var name: String
    /// Every name its bytes were loaded under, the first included (a later load of the same
    /// bytes under another name adds it; `name = …` matches any of them).
    public var names: [String]
    public var size: Int
    public var chunkSize: Int
    /// Seconds since 1970.
    public var loadedAt: Int
    /// Paths it was loaded from. Stored as a string while there is one (a one-element array
    /// costs RedisJSON 56 more bytes per document), as an array once there are several; readers
    /// take either (see ``sourceList(_:)``).
    public var sources: [String]
    /// Friendly field values by JSON key (`protocol`, `studyDate`, …).
    public var fields: [(key: String, value: JSONValue)]
    /// Bytes from the start of the file that hold the header (see ``DicomFile/headerLength``).
    public var headerLength: Int
    /// Values of the attributes added to the index (`index KEYWORD`), under `a`.
    public var attributes: [(key: String, value: JSONValue)] = []
    /// XXH3-64 of the file's bytes, what reads check them against (see ``ContentCheck``).
    public var xxh3: UInt64?

    /// The number of chunks, from the size and the chunk size (not stored: see ``json``).
    public var chunkCount: Int { Self.chunkCount(size: size, chunkSize: chunkSize) }

    /// The number of chunks of a file of `size` bytes cut into `chunkSize`-byte chunks.
    public static func chunkCount(size: Int, chunkSize: Int) -> Int {
        size <= 0 || chunkSize <= 0 ? 0 : (size - 1) / chunkSize + 1
    }

    /// The document for a file read with DicomCore.
    public init(
        file: DicomFile, id: String, xxh3: UInt64?, name: String, size: Int, chunkSize: Int, loadedAt: Int,
        source: String, attributes: [Field] = []
    ) {
        self.id = id
        self.xxh3 = xxh3
        self.name = name
        self.names = [name]
        self.size = size
        self.chunkSize = chunkSize
        self.loadedAt = loadedAt
        self.sources = [source]
        self.headerLength = file.headerLength
        self.fields = Self.friendlyFields(of: file, name: name, size: size, id: id)
        self.attributes = attributes.compactMap { field in
            IndexedAttributes.documentValue(field, file).map { (String(field.documentKey.dropFirst(2)), $0) }
        }
    }

    /// The JSON written to Redis. The chunk count, derived from `size` and `chunkSize`, and the
    /// layout number, told by `headerLength`, are left out: RedisJSON keeps an object of up to 32
    /// members in half the memory of one with 33 or more (measured: 2,024 against 2,824 bytes
    /// for a tiny instance's document), and the document must stay within that: the XXH3 is
    /// left out of a document that has no room for it (every field and added attributes; such
    /// a file is checked against its SHA-256 instead).
    public var json: JSONValue {
        var members = fields
        members += [
            ("chunkSize", .integer(Int64(chunkSize))), ("loadedAt", .integer(Int64(loadedAt))),
            ("sources", sources.count == 1 ? .string(sources[0]) : .array(sources.map { .string($0) })),
            ("names", .array(names.map { .string($0) })),
            ("headerLength", .integer(Int64(headerLength))),
        ]
        if !attributes.isEmpty { members.append(("a", .object(attributes))) }
        // The XXH3 as 16 hex digits, not a JSON number: searches return numbers through a
        // double, which keeps only 53 bits (and a string costs a document the same 28 bytes).
        if let xxh3, members.count < Self.maximumMembers {
            members.append(("xxh3", .string(HexDigits.lowercase(xxh3))))
        }
        return .object(members)
    }

    /// A stored `sources` value as a list: one path as a string, several as an array (and one
    /// as an array too, in documents written before the string form).
    public static func sourceList(_ stored: Any?) -> [String] {
        switch stored {
        case let path as String: return [path]
        case let paths as [Any]: return paths.compactMap { $0 as? String }
        default: return []
        }
    }

    /// The most members a document has (see ``json``).
    public static let maximumMembers = 32

    /// Where each friendly field comes from in the header. Text values have whitespace runs
    /// collapsed (as the demo did for protocol names), so `protocol = '1.1 Routine Brain'`
    /// matches however the scanner padded it; empty values count as missing.
    static let headerTags: [String: DicomTag] = [
        "patientName": DicomTag(0x0010, 0x0010), "patientId": DicomTag(0x0010, 0x0020), "sex": DicomTag(0x0010, 0x0040),
        "modality": DicomTag(0x0008, 0x0060), "protocol": DicomTag(0x0018, 0x1030),
        "studyDescription": DicomTag(0x0008, 0x1030), "seriesDescription": DicomTag(0x0008, 0x103E),
        "bodyPart": DicomTag(0x0018, 0x0015), "manufacturer": DicomTag(0x0008, 0x0070),
        "institution": DicomTag(0x0008, 0x0080), "studyUid": DicomTag(0x0020, 0x000D),
        "accessionNumber": DicomTag(0x0008, 0x0050), "referringPhysician": DicomTag(0x0008, 0x0090),
        "seriesUid": DicomTag(0x0020, 0x000E), "sopUid": DicomTag(0x0008, 0x0018), "sopClass": DicomTag(0x0008, 0x0016),
        "rows": DicomTag(0x0028, 0x0010), "columns": DicomTag(0x0028, 0x0011),
    ]

    /// Where a friendly field's value comes from.
    private enum Source {
        case name, size, sha256, studyDate, studyYear, frames, transferSyntax, sopClassName
        case header(DicomTag)
    }

    /// The document's friendly fields in schema order, each key once, with where its value
    /// comes from: made once (walking the schema and deriving keys for every file took a
    /// quarter of the time of loading tiny files).
    private static let friendlySources: [(key: String, field: Field, source: Source)] = {
        var table: [(key: String, field: Field, source: Source)] = []
        var seen: Set<String> = []
        for field in Schema.fields {
            let key = field.documentKey
            let source: Source
            switch key {
            case "name": source = .name
            case "size": source = .size
            case "sha256": source = .sha256
            case "studyDate": source = .studyDate
            case "studyYear": source = .studyYear
            case "frames": source = .frames
            case "transferSyntax": source = .transferSyntax
            case "sopClassName": source = .sopClassName
            default:
                guard let tag = headerTags[key] else { continue }
                source = .header(tag)
            }
            guard seen.insert(key).inserted else { continue }
            table.append((key, field, source))
        }
        return table
    }()

    static func friendlyFields(
        of file: DicomFile, name: String, size: Int, id: String
    ) -> [(key: String, value: JSONValue)] {
        var ordered: [(key: String, value: JSONValue)] = []
        ordered.reserveCapacity(friendlySources.count)
        let studyDate = file.dataset[DicomTag(0x0008, 0x0020)]?.date
        for (key, field, source) in friendlySources {
            let value: JSONValue?
            switch source {
            case .name: value = .string(name)
            case .size: value = .integer(Int64(size))
            case .sha256: value = .string(id)
            case .studyDate: value = studyDate.map { .integer(Int64($0.number)) }
            case .studyYear: value = studyDate.map { .integer(Int64($0.number / 10000)) }
            case .frames: value = .integer(file.dataset[DicomTag(0x0028, 0x0008)]?.integer ?? 1)
            case .transferSyntax:
                value = file.declaredTransferSyntaxUID.flatMap { $0.isEmpty ? nil : .string($0) }
            case .sopClassName:
                value = file.dataset[DicomTag(0x0008, 0x0016)]?.string.flatMap(DataDictionary.uidName).map {
                    .string($0)
                }
            case .header(let tag):
                guard let element = file.dataset[tag] else { continue }
                if field.kind == .numeric {
                    value = element.integer.map { .integer($0) }
                } else {
                    let texts = element.strings.map(field.normalize).filter { !$0.isEmpty }
                    value = texts.count > 1 ? .array(texts.map { .string($0) }) : texts.first.map { .string($0) }
                }
            }
            if let value { ordered.append((key, value)) }
        }
        return ordered
    }
}

import DQL
import DicomCore

/// A QIDO-RS search (PS3.18 §10.6) as DQL: the level, a condition built from the matching
/// keys (and the UIDs of the path), the page, and the attributes to return.
///
/// Matching follows PS3.18 §8.3.4: a single value matches exactly; `\`-separated values are a
/// list (UID list matching, or any value of a list); `*` and `?` are wildcards; `A-B`, `-B`
/// and `A-` are ranges of dates (DA), times (TM) and numbers; an empty value matches anything
/// and only asks for the attribute back.
struct QIDOQuery: Sendable {
    var level: Level
    var condition: Condition?
    var limit: Int
    /// Whether the client set the limit (otherwise ``defaultLimit`` applies, and a Warning
    /// says when more matched).
    var limitGiven: Bool
    var offset: Int
    var includeAll = false
    /// Attributes asked for by `includefield` or named as matching keys.
    var included: [DicomTag] = []
    var fuzzy = false

    /// Rows returned when the request gives no `limit`.
    static let defaultLimit = 1000
    /// The largest `limit` taken.
    static let maximumLimit = 10_000
    /// The largest `offset` taken.
    static let maximumOffset = 100_000_000

    /// Parses the query string's items. `pathKeys` are the UIDs the path fixes
    /// (`/studies/{study}/series`).
    init(
        level: Level, items: [(name: String, value: String)], pathKeys: [(field: String, value: String)]
    ) throws(DICOMwebError) {
        self.level = level
        var limit: Int?
        var offset = 0
        var terms: [Condition] = []
        for (name, value) in pathKeys {
            guard let field = Schema.field(named: name) else { continue }
            terms.append(.compare(Self.reference(field), .equal, Literal(.text(value), range: Self.nowhere)))
        }
        for (name, value) in items {
            switch name.lowercased() {
            case "limit":
                limit = try Self.count(value, name: "limit")
            case "offset":
                offset = try Self.count(value, name: "offset")
            case "includefield":
                for part in value.split(separator: ",").map({ $0.trimmingSpaces }) where !part.isEmpty {
                    if part.lowercased() == "all" {
                        includeAll = true
                    } else {
                        included.append(try Self.attribute(part).tag)
                    }
                }
            case "fuzzymatching":
                switch value.lowercased() {
                case "true": fuzzy = true
                case "false", "": fuzzy = false
                default: throw .badRequest("fuzzymatching=\(value): the value is true or false")
                }
            default:
                var (tag, field) = try Self.attribute(name)
                // Modalities in Study is no instance's attribute: a study matches through the
                // Modality of its instances.
                if tag == LevelAttributes.modalitiesInStudy, let modality = Schema.field(named: "modality") {
                    field = modality
                } else if LevelAttributes.computed.contains(tag), !value.isEmpty {
                    throw .badRequest("\(name) is computed by the server and cannot be matched; leave its value empty")
                }
                if let vr = field.vr, [.SQ, .OB, .OD, .OF, .OL, .OV, .OW, .UN].contains(vr), !value.isEmpty {
                    throw .badRequest(
                        "\(name) holds \(vr == .SQ ? "a sequence" : "binary data") (\(vr.rawValue)), which cannot be matched; leave its value empty to have it returned"
                    )
                }
                included.append(tag)
                if let term = try Self.condition(
                    field, value, name: name, vr: field.vr ?? DataDictionary.entry(for: tag)?.vr)
                {
                    terms.append(term)
                }
            }
        }
        guard offset <= Self.maximumOffset else {
            throw .badRequest("offset=\(offset): results are paged up to offset \(Self.maximumOffset)")
        }
        guard (limit ?? 0) <= Self.maximumLimit else {
            throw .badRequest("limit=\(limit ?? 0): at most \(Self.maximumLimit) results are returned per request")
        }
        self.limit = limit ?? Self.defaultLimit
        self.limitGiven = limit != nil
        self.offset = offset
        condition = terms.isEmpty ? nil : Condition.all(terms)
    }

    static let nowhere = SourceRange(.start, .start)

    static func reference(_ field: Field) -> FieldReference { FieldReference(field: field, range: nowhere) }

    static func count(_ value: String, name: String) throws(DICOMwebError) -> Int {
        guard let number = Int(value), number >= 0 else {
            throw .badRequest("\(name)=\(value): the value is a whole number, 0 or more")
        }
        return number
    }

    /// The attribute of a matching key or `includefield`: a keyword or eight hex digits.
    static func attribute(_ name: String) throws(DICOMwebError) -> (tag: DicomTag, field: Field) {
        if name.contains(".") {
            throw .badRequest("\(name): matching inside sequences is not supported; name a top-level attribute")
        }
        var written = name
        if name.count == 8, name.allSatisfy(\.isHexDigit) {
            written = "(\(name.prefix(4)),\(name.suffix(4)))"
        }
        guard let field = AttributeFields.field(named: written),
            let tag = field.tag ?? AttributeFields.tag(from: written) ?? DataDictionary.tag(forKeyword: name)
        else {
            throw .badRequest(
                "\(name) is not an attribute: name one by keyword (PatientName) or tag (00100010)")
        }
        return (tag, field)
    }

    /// The condition a matching key asks for, or nil for universal matching (an empty value).
    static func condition(_ field: Field, _ value: String, name: String, vr: VR?) throws(DICOMwebError) -> Condition? {
        // An empty value, or `*` alone, is universal matching: every row, with or without it.
        if value.isEmpty || value == "*" { return nil }
        let reference = reference(field)
        func literal(_ text: String) throws(DICOMwebError) -> Literal {
            switch field.kind {
            case .date, .year:
                guard text.count == 8, let number = Int(text), number > 0 else {
                    throw .badRequest("\(name)=\(value): a date is written YYYYMMDD")
                }
                return Literal(.date(number), range: nowhere)
            case .numeric:
                guard let number = Double(text), number.isFinite else {
                    throw .badRequest("\(name)=\(value): \(text) is not a number")
                }
                return Literal(.number(number), range: nowhere)
            case .tag:
                return Literal(.text(text), range: nowhere)
            }
        }
        // Range matching is for dates and times (PS3.4 C.2.2.2.5); `-1` is a number.
        let isRangeKind = field.kind == .date || vr == .DA || vr == .TM || vr == .DT
        if isRangeKind, let dash = value.firstIndex(of: "-"), value != "-" {
            let low = String(value[..<dash])
            let high = String(value[value.index(after: dash)...])
            let typed = try rangeField(field, name: name)
            let reference = Self.reference(typed.field)
            func bound(_ text: String) throws(DICOMwebError) -> Literal {
                if let digits = typed.digits { return try timeLiteral(text, digits: digits, name: name) }
                return try literal(text)
            }
            switch (low.isEmpty, high.isEmpty) {
            case (false, false):
                return .between(reference, try bound(low), try bound(high))
            case (true, false):
                return .compare(reference, .lessOrEqual, try bound(high))
            case (false, true):
                return .compare(reference, .greaterOrEqual, try bound(low))
            case (true, true):
                return nil
            }
        }
        if field.kind == .tag, value.contains("*") || value.contains("?") {
            if value.contains("\\") {
                throw .badRequest("\(name)=\(value): a value with wildcards cannot also be a list")
            }
            return .like(reference, try literal(value))
        }
        // UIDs and codes are listed with commas (PS3.18 §8.3.4.1, as Orthanc takes them) or
        // with backslashes (DICOM's value separator); other values with backslashes only, a
        // comma being part of a name.
        let separators: Set<Character> = vr == .UI || vr == .CS ? ["\\", ","] : ["\\"]
        let values = value.split(omittingEmptySubsequences: true, whereSeparator: separators.contains).map(String.init)
        if values.count > 1 {
            var literals: [Literal] = []
            for text in values { literals.append(try literal(text)) }
            return .oneOf(reference, literals)
        }
        return .compare(reference, .equal, try literal(values.first ?? value))
    }

    /// Times (TM) and date-times (DT) compare as numbers (HHMMSS.FFFFFF, YYYYMMDDHHMMSS); a
    /// time written shorter (HHMM) is padded to seconds, as PS3.18 reads it. Other fields
    /// range as they are.
    static func rangeField(_ field: Field, name: String) throws(DICOMwebError) -> (field: Field, digits: Int?) {
        guard field.vr == .TM || field.vr == .DT else { return (field, nil) }
        if field.isIndexed {
            throw .badRequest(
                "\(name): a range of an indexed \(field.vr?.rawValue ?? "") attribute is not supported (the index holds it as text)"
            )
        }
        var numeric = field
        numeric.kind = .numeric
        return (numeric, field.vr == .TM ? 6 : 14)
    }

    /// A TM or DT bound as the number it compares as.
    static func timeLiteral(_ text: String, digits: Int, name: String) throws(DICOMwebError) -> Literal {
        let whole = text.prefix { $0 != "." }
        guard !whole.isEmpty, whole.allSatisfy(\.isNumber), whole.count <= digits, var number = Double(String(whole))
        else { throw .badRequest("\(name): \(text) is not a time (HHMMSS) or date-time (YYYYMMDDHHMMSS)") }
        for _ in whole.count..<digits { number *= 10 }
        if let dot = text.firstIndex(of: "."), let fraction = Double("0" + text[dot...]) { number += fraction }
        return Literal(.number(number), range: nowhere)
    }
}

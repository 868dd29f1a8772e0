/// A level of the DICOM information model (PS3.3 C.7, PS3.4 C.6) a statement asks about:
/// `find studies …` returns one row per study, `count series …` counts series. A condition at
/// any level means "has an instance that matches": `find studies where modality = 'CT'` is
/// every study with a CT instance, shown with all of its series and instances.
public enum Level: String, Sendable, Hashable, CaseIterable {
    case patients, studies, series, instances

    /// The keyword that names the level after `find`, `count` and `delete`.
    public var keyword: Keyword {
        switch self {
        case .patients: .patients
        case .studies: .studies
        case .series: .series
        case .instances: .instances
        }
    }

    /// One of it, for messages: "a study".
    public var singular: String {
        switch self {
        case .patients: "patient"
        case .studies: "study"
        case .series: "series"
        case .instances: "instance"
        }
    }

    /// `1 study`, `3 series`; files for instances (`2 files`), as results are summed up.
    public func counted(_ count: Int) -> String {
        switch self {
        case .instances: "\(count) file\(count == 1 ? "" : "s")"
        default: "\(count) \(count == 1 ? singular : rawValue)"
        }
    }

    /// The field whose value identifies a row of the level (nil for instances, which are
    /// files): Patient ID, Study Instance UID, Series Instance UID.
    public var keyField: Field? {
        switch self {
        case .patients: Schema.field(named: "patientId")
        case .studies: Schema.field(named: "studyUid")
        case .series: Schema.field(named: "seriesUid")
        case .instances: nil
        }
    }

    /// The keys of the level and of the levels above it: Patient ID, then Study Instance UID,
    /// then Series Instance UID. A condition on these alone selects instances by where they
    /// sit in the hierarchy (see ``LevelPlan/selectsByKeys``).
    public var hierarchyKeys: [Field] {
        let order: [Level] = [.patients, .studies, .series]
        guard let position = order.firstIndex(of: self) else { return [] }
        return order[...position].compactMap(\.keyField)
    }

    /// The columns a row of the level has, in the order `find` shows them.
    public var columns: [LevelColumn] {
        func first(_ name: String) -> LevelColumn? { Schema.field(named: name).map { LevelColumn(.first($0)) } }
        let instances = LevelColumn(.instances)
        let size = LevelColumn(.bytes)
        switch self {
        case .patients:
            return [first("patientId"), first("patient"), first("sex")].compactMap { $0 } + [
                LevelColumn(.distinct("studyUid", as: "numberOfStudies")),
                LevelColumn(.distinct("seriesUid", as: "numberOfSeries")), instances, size,
            ]
        case .studies:
            return [
                first("studyUid"), first("date"), first("patientId"), first("patient"), first("accession"),
                first("study"), first("referrer"),
            ].compactMap { $0 } + [
                LevelColumn(.values("modality", as: "modalities")),
                LevelColumn(.distinct("seriesUid", as: "numberOfSeries")), instances, size,
            ]
        case .series:
            return [
                first("seriesUid"), first("studyUid"), first("modality"), first("series"), first("protocol"),
                first("bodyPart"), first("date"), first("patientId"),
            ].compactMap { $0 } + [instances, size]
        case .instances:
            return []
        }
    }

    /// The column of a name, case-insensitive, field aliases included.
    public func column(named name: String) -> LevelColumn? {
        if let exact = columns.first(where: { $0.name.lowercased() == name.lowercased() }) { return exact }
        guard let field = Schema.field(named: name) else { return nil }
        return columns.first { $0.field == field }
    }

    /// The columns `find` shows by default (all of them).
    public var defaultColumns: [LevelColumn] { columns }

    /// How rows are ordered when the statement does not say: patients by ID, studies newest
    /// first, series by study; ties by the key, so the order is the same every time.
    public var defaultOrder: [(column: String, order: SortOrder)] {
        switch self {
        case .patients: [("patientId", .ascending)]
        case .studies: [("date", .descending), ("studyUid", .ascending)]
        case .series: [("studyUid", .ascending), ("seriesUid", .ascending)]
        case .instances: []
        }
    }
}

/// A column of a level's rows: an attribute of the level (the value its instances share) or
/// a figure computed from its instances (how many series, which modalities, how many bytes).
public struct LevelColumn: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        /// An attribute of the level: the field's value (the key of the row, or the value of
        /// one of its instances).
        case first(Field)
        /// How many different values of a field its instances have (`numberOfSeries`).
        case distinct(String, as: String)
        /// The different values of a field among its instances (`modalities`).
        case values(String, as: String)
        /// How many instances (files) it has.
        case instances
        /// The bytes of its files, summed.
        case bytes
    }

    public var source: Source

    public init(_ source: Source) {
        self.source = source
    }

    /// The name it is shown, ordered and referred to by.
    public var name: String {
        switch source {
        case .first(let field): field.name
        case .distinct(_, let name), .values(_, let name): name
        case .instances: "numberOfInstances"
        case .bytes: "size"
        }
    }

    /// The field it shows, for an attribute of the level.
    public var field: Field? {
        if case .first(let field) = source { field } else { nil }
    }

    /// Whether its values are numbers (sorted as numbers, shown as they are).
    public var isNumeric: Bool {
        switch source {
        case .first(let field): field.kind == .numeric || field.kind == .year
        case .distinct, .instances, .bytes: true
        case .values: false
        }
    }

    /// Whether its value is a list (shown with `\\` between the values, an array in JSON).
    public var isList: Bool {
        if case .values = source { true } else { false }
    }

    /// What a row's value of it is, for `\help` and `fields`.
    public var summary: String {
        switch source {
        case .first(let field): field.summary
        case .distinct(let field, _): "how many different \(field) values its instances have"
        case .values(let field, _): "the different \(field) values of its instances, separated by \\"
        case .instances: "how many instances (files) it has"
        case .bytes: "the bytes of its files, summed"
        }
    }

    /// Its REDUCE clause in a level's FT.AGGREGATE (nothing for the grouped key).
    func reducer(key: Field) -> [String] {
        switch source {
        case .first(let field) where field == key: []
        case .first(let field): ["REDUCE", "FIRST_VALUE", "1", "@" + field.attribute, "AS", name]
        case .distinct(let fieldName, _):
            [
                "REDUCE", "COUNT_DISTINCT", "1", "@" + (Schema.field(named: fieldName)?.attribute ?? fieldName), "AS",
                name,
            ]
        case .values(let fieldName, _):
            ["REDUCE", "TOLIST", "1", "@" + (Schema.field(named: fieldName)?.attribute ?? fieldName), "AS", name]
        case .instances: ["REDUCE", "COUNT", "0", "AS", name]
        case .bytes: ["REDUCE", "SUM", "1", "@size", "AS", name]
        }
    }

    /// The property that holds its value in an aggregate row.
    func property(key: Field) -> String {
        if case .first(let field) = source, field == key { return field.attribute }
        return name
    }
}

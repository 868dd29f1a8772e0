import DQL
import DicomCore

/// Runs a ``QIDOQuery`` with the DQL executor: `find studies|series|instances` for the
/// matching rows (the same levels, conditions and paging as the shell's), then one stored
/// header per row for the attributes the level returns.
struct QIDOSearch: Sendable {
    var query: QIDOQuery
    /// Where the server is reached, for RetrieveURL (no trailing slash).
    var baseURL: String
    var fixedStudy: String?
    var fixedSeries: String?
    var headerCache: HeaderCache

    struct Answer: Sendable {
        var results: [JSONValue]
        /// Whether more rows matched than were returned (a Warning header says so).
        var more: Bool
    }

    func run(_ executor: Executor) throws -> Answer {
        let tags =
            LevelAttributes.returned(
                level: query.level, fixedStudy: fixedStudy != nil, fixedSeries: fixedSeries != nil) + query.included
        if query.level == .instances {
            let (files, total) = try executor.storedFiles(
                matching: query.condition, limit: query.limit, offset: query.offset)
            let headers = try headerCache.headers(of: files, executor: executor)
            let results = zip(files, headers).map { file, header in
                var members = Self.members(header, tags: tags, all: query.includeAll)
                members[LevelAttributes.instanceAvailability] = Self.codeStrings(["ONLINE"])
                if let study = file.studyUid, let series = file.seriesUid, let sop = file.sopUid {
                    members[LevelAttributes.retrieveURL] = retrieveURL(study: study, series: series, instance: sop)
                }
                return Self.object(members)
            }
            return Answer(results: results, more: total > query.offset + files.count)
        }
        var find = FindStatement(
            level: query.level, condition: query.condition, limit: query.limit, offset: query.offset)
        find.withSamples = true
        let found: FoundRows
        do {
            guard case .rows(let rows) = try executor.execute(.find(find)) else {
                return Answer(results: [], more: false)
            }
            found = rows
        } catch let error as ExecutionError {
            if case .noData = error.kind { return Answer(results: [], more: false) }
            throw error
        }
        let more = found.total > query.offset + found.returned
        var samples: [String: String] = [:]
        for (key, sample) in zip(found.ids, found.samples) { samples[key] = sample }
        let headers = try headerCache.headers(ofIds: Array(samples.values), executor: executor)
        let column = Dictionary(found.columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var results: [JSONValue] = []
        for (key, row) in zip(found.ids, found.rows) {
            func value(_ name: String) -> String? { column[name].flatMap { row[$0] } }
            var members: [DicomTag: JSONValue] = [:]
            if let id = samples[key], let header = headers[id] {
                members = Self.members(header, tags: tags, all: query.includeAll)
            }
            members[LevelAttributes.instanceAvailability] = Self.codeStrings(["ONLINE"])
            switch query.level {
            case .studies:
                members[LevelAttributes.studyInstanceUID] = Self.uid(key)
                let modalities = (value("modalities") ?? "").split(separator: "\\").map(String.init)
                members[LevelAttributes.modalitiesInStudy] = Self.codeStrings(modalities)
                members[LevelAttributes.numberOfStudyRelatedSeries] = Self.integer(value("numberOfSeries"))
                members[LevelAttributes.numberOfStudyRelatedInstances] = Self.integer(value("numberOfInstances"))
                members[LevelAttributes.retrieveURL] = retrieveURL(study: key)
            case .series:
                members[LevelAttributes.seriesInstanceUID] = Self.uid(key)
                members[LevelAttributes.numberOfSeriesRelatedInstances] = Self.integer(value("numberOfInstances"))
                if let study = value("studyUid") {
                    members[LevelAttributes.studyInstanceUID] = Self.uid(study)
                    members[LevelAttributes.retrieveURL] = retrieveURL(study: study, series: key)
                }
            case .patients, .instances:
                break
            }
            results.append(Self.object(members))
        }
        return Answer(results: results, more: more)
    }

    /// Where WADO-RS retrieves a study, series or instance; none when one of its UIDs is not a
    /// UID (a file loaded with a malformed one), as the retrieve routes would refuse that URL.
    func retrieveURL(study: String, series: String? = nil, instance: String? = nil) -> JSONValue? {
        (try? RetrieveScope(study: study, series: series, instance: instance)).map { Self.url($0.url(baseURL)) }
    }

    static func members(_ header: DicomFile, tags: [DicomTag], all: Bool) -> [DicomTag: JSONValue] {
        var members: [DicomTag: JSONValue] = [:]
        for element in LevelAttributes.elements(of: header.dataset, tags: tags, all: all) {
            members[element.tag] = DicomJSON.encode(element)
        }
        return members
    }

    /// The attributes in tag order, keyed as DICOM JSON keys them.
    static func object(_ members: [DicomTag: JSONValue]) -> JSONValue {
        .object(members.sorted { $0.key < $1.key }.map { ($0.key.hexString, $0.value) })
    }

    static func codeStrings(_ values: [String]) -> JSONValue {
        values.isEmpty
            ? .object([("vr", .string("CS"))])
            : .object([("vr", .string("CS")), ("Value", .array(values.map { .string($0) }))])
    }

    static func uid(_ value: String) -> JSONValue {
        .object([("vr", .string("UI")), ("Value", .array([.string(value)]))])
    }

    static func url(_ value: String) -> JSONValue {
        .object([("vr", .string("UR")), ("Value", .array([.string(value)]))])
    }

    static func integer(_ text: String?) -> JSONValue {
        guard let digits = text?.filter(\.isNumber), let number = Int64(digits) else {
            return .object([("vr", .string("IS"))])
        }
        return .object([("vr", .string("IS")), ("Value", .array([.integer(number)]))])
    }
}

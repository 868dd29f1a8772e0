import DQL
import DicomCore

/// What a WADO-RS path names: a study, a series of it, or an instance of that series.
struct RetrieveScope: Sendable, Equatable {
    var study: String
    var series: String?
    var instance: String?

    /// The URL of the study, series or instance under `baseURL`.
    func url(_ baseURL: String) -> String {
        var url = "\(baseURL)/studies/\(study)"
        if let series { url += "/series/\(series)" }
        if let instance { url += "/instances/\(instance)" }
        return url
    }

    /// What it is, for messages: "study 1.2.3", "instance 1.2.3.4 of series 1.2.3".
    var described: String {
        if let instance { return "instance \(instance)" }
        if let series { return "series \(series) of study \(study)" }
        return "study \(study)"
    }

    /// The UIDs of a path, checked: a UID is at most 64 characters of digits and dots, with no
    /// empty component (so never `.` or `..`, which a URL would read as a path step).
    init(study: String, series: String? = nil, instance: String? = nil) throws(DICOMwebError) {
        for uid in [study, series, instance].compactMap({ $0 }) where !Self.isUID(uid) {
            throw .badRequest(
                "\(uid.prefix(80)) is not a UID: a UID is 1 to 64 characters of digits and dots, no component empty (PS3.5 §9.1)"
            )
        }
        self.study = study
        self.series = series
        self.instance = instance
    }

    /// Components with leading zeros, which PS3.5 forbids but some devices write, are taken:
    /// such a file can still be retrieved.
    static func isUID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy { $0 == UInt8(ascii: ".") || (48...57).contains($0) }
            && !text.split(separator: ".", omittingEmptySubsequences: false).contains { $0.isEmpty }
    }

    /// The stored files it names, every page of them; 404 when there are none.
    func files(_ executor: Executor) throws -> [StoredFile] {
        var terms: [Condition] = []
        for (name, value) in [("studyUid", study), ("seriesUid", series), ("sopUid", instance)] {
            guard let value, let field = Schema.field(named: name) else { continue }
            terms.append(.compare(QIDOQuery.reference(field), .equal, Literal(.text(value), range: QIDOQuery.nowhere)))
        }
        let found = try executor.storedFiles(matching: Condition.all(terms)).files
        // Conditions on text ignore case; UIDs are compared exactly here.
        let files = found.filter { file in
            file.studyUid == study && (series == nil || file.seriesUid == series)
                && (instance == nil || file.sopUid == instance)
        }
        guard !files.isEmpty else { throw DICOMwebError.notFound("no \(described) is stored") }
        return files.sorted { ($0.seriesUid ?? "", $0.name) < ($1.seriesUid ?? "", $1.name) }
    }
}

import Foundation
import TestSupport

/// What pydicom read from each corpus file (scripts/dicom_oracle.py, run by scripts/test.sh).
struct Oracle: Decodable {
    struct File: Decodable {
        var name: String
        var path: String
        var readable: Bool
        var force: Bool?
        var elementCount: Int?
        var transferSyntax: String?
        var values: [String: OracleValue]?
        var elements: [OracleElement]?
    }

    var pydicom: String
    var files: [File]

    static func load() throws -> Oracle {
        guard let path = ProcessInfo.processInfo.environment["DQL_DICOM_ORACLE"], !path.isEmpty else {
            throw TestSetupError(
                "DQL_DICOM_ORACLE is not set: run the tests with scripts/test.sh, which writes pydicom's reading of the corpus"
            )
        }
        return try JSONDecoder().decode(Oracle.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// A keyword's value in the oracle: the strings pydicom gives, or the error it raised.
enum OracleValue: Decodable, Equatable {
    case strings([String])
    case error(String)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let strings = try? container.decode([String].self) {
            self = .strings(strings)
        } else {
            let object = try container.decode([String: String].self)
            self = .error(object["error"] ?? "unknown error")
        }
    }
}

/// One top-level element as pydicom read it.
struct OracleElement: Decodable {
    var tag: String
    var vr: String
    var strings: [String]?
    var error: String?
    var items: Int?
}

import Foundation

/// What pydicom read from each corpus file (scripts/dicom_oracle.py, run by scripts/test.sh).
public struct Oracle: Decodable, Sendable {
    public struct File: Decodable, Sendable {
        public var name: String
        public var path: String
        public var readable: Bool
        public var force: Bool?
        public var elementCount: Int?
        public var transferSyntax: String?
        public var values: [String: OracleValue]?
        public var elements: [OracleElement]?
    }

    public var pydicom: String
    public var files: [File]

    public static func load() throws -> Oracle {
        guard let path = ProcessInfo.processInfo.environment["DQL_DICOM_ORACLE"], !path.isEmpty else {
            throw TestSetupError(
                "DQL_DICOM_ORACLE is not set: run the tests with scripts/test.sh, which writes pydicom's reading of the corpus"
            )
        }
        return try JSONDecoder().decode(Oracle.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// A keyword's value in the oracle: the strings pydicom gives, or the error it raised.
public enum OracleValue: Decodable, Equatable, Sendable {
    case strings([String])
    case error(String)

    public init(from decoder: any Decoder) throws {
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
public struct OracleElement: Decodable, Sendable {
    public var tag: String
    public var vr: String
    public var strings: [String]?
    public var error: String?
    public var items: Int?
}

/// Why a file could not be read as DICOM at all. Carries the byte offset where reading failed.
public struct DicomError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The bytes do not look like DICOM (no `DICM`, no plausible first element).
        case notDicom
        /// The file could not be opened or read.
        case io
        /// The data is DICOM but broken beyond recovery (e.g. deflate stream corrupt).
        case malformed
    }

    public var kind: Kind
    /// Byte offset in the file (or in the inflated stream, as the message says).
    public var offset: Int
    public var message: String
    /// The file, when reading from a path.
    public var path: String?

    public init(_ kind: Kind, offset: Int, _ message: String, path: String? = nil) {
        self.kind = kind
        self.offset = offset
        self.message = message
        self.path = path
    }

    public var description: String {
        (path.map { "\($0): " } ?? "") + detail
    }

    /// The message and where, without the path (for a caller that names the file itself).
    /// Opening and reading a file fail as a whole; only a place in the data has an offset.
    public var detail: String {
        message + (kind == .io && offset == 0 ? "" : " (at byte \(offset))")
    }
}

/// Something the reader repaired, skipped or could not read, without giving up on the file.
public struct DicomDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case warning
        case error
    }

    public var severity: Severity
    /// Byte offset of the element or structure concerned.
    public var offset: Int
    public var tag: DicomTag?
    public var message: String

    public init(_ severity: Severity, offset: Int, tag: DicomTag? = nil, _ message: String) {
        self.severity = severity
        self.offset = offset
        self.tag = tag
        self.message = message
    }

    public var description: String {
        "\(severity.rawValue): " + (tag.map { "\($0) " } ?? "") + message + " (at byte \(offset))"
    }
}

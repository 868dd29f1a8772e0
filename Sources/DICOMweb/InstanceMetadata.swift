import DQL
import DicomCore

/// WADO-RS metadata (PS3.18 §10.4.1.1.2): each instance's header as DICOM JSON (the data set,
/// without its file meta information), with every bulk value a `BulkDataURI` this server
/// answers (see ``BulkDataLocation``).
enum InstanceMetadata {
    /// The metadata of one instance stored as `file` with header `header`.
    static func json(_ header: DicomFile, file: StoredFile, instanceURL: String) -> JSONValue {
        guard case .object(var members) = DicomJSON.encode(header.dataset) else { return .object([]) }
        members = members.map { ($0.0, absoluteBulkURIs($0.1, instanceURL: instanceURL)) }
        if header.pixelDataOffset != nil, !members.contains(where: { $0.0 == "7FE00010" }) {
            let bits = header.dataset[DicomTag(0x0028, 0x0100)]?.integer ?? 16
            let vr = header.transferSyntax.isEncapsulated || bits <= 8 ? "OB" : "OW"
            members.append(
                (
                    "7FE00010",
                    .object([("vr", .string(vr)), ("BulkDataURI", .string(instanceURL + "/bulkdata/7FE00010"))])
                ))
        }
        return .object(members)
    }

    /// DicomJSON marks bulk values with a reference relative to the file (`?offset=…`); here
    /// they become URLs of this instance's bulk data.
    static func absoluteBulkURIs(_ value: JSONValue, instanceURL: String) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(
                members.map { key, member in
                    if key == "BulkDataURI", case .string(let reference) = member, reference.hasPrefix("?") {
                        return (key, .string(instanceURL + "/bulkdata" + reference))
                    }
                    return (key, absoluteBulkURIs(member, instanceURL: instanceURL))
                })
        case .array(let items):
            return .array(items.map { absoluteBulkURIs($0, instanceURL: instanceURL) })
        default:
            return value
        }
    }
}

import DQL
import DicomCore

/// WADO-RS metadata (PS3.18 §10.4.1.1.2): each instance's header as DICOM JSON (the data set,
/// without its file meta information), with every bulk value a `BulkDataURI` this server
/// answers (`…/bulkdata?offset=N&length=M`, and `…/bulkdata/7FE00010` for Pixel Data).
enum InstanceMetadata {
    /// The metadata of one instance stored as `file` with header `header`.
    static func json(_ header: DicomFile, instanceURL: String) -> JSONValue {
        guard case .object(var members) = DicomJSON.encode(header.dataset, bulkDataPrefix: instanceURL + "/bulkdata")
        else { return .object([]) }
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
}

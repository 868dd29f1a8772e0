import DicomCore
import Foundation
import RedisIO

/// The header of a stored file, read back from its first chunks: a document of layout 2 keeps
/// only what is searched and what a fetch needs, and the header's bytes are the first
/// `headerLength` bytes of the file itself (usually a part of chunk 0). DicomCore reads them
/// again in microseconds, with the same result as at load time (same bytes, same reader).
enum StoredHeader {
    /// `json` (a stored document) as `show` gives it: with the header as DICOM JSON under
    /// `dicom`. A document of layout 1 has it already and is returned as it is.
    static func document(_ json: String, id: String, layout: StorageLayout, client: RedisClient) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            object["dicom"] == nil, json.hasSuffix("}")
        else { return json }
        guard let headerLength = object["headerLength"] as? Int, let chunkSize = object["chunkSize"] as? Int,
            let size = object["size"] as? Int, chunkSize > 0, headerLength >= 0, size >= 0
        else {
            throw ExecutionError(.statementFailed("the document of \(id) has no header length or chunk size"))
        }
        let length = min(headerLength, size)
        let count = (length + chunkSize - 1) / chunkSize
        let keys = (0..<count).map { layout.chunkKey(id: id, index: $0) }
        let replies = try client.pipeline(keys.map { RedisCommand("GET", $0) }, routedBy: keys)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        for (index, reply) in replies.enumerated() {
            if let message = reply.errorMessage {
                throw ExecutionError(
                    .statementFailed("the header of \(id) cannot be read: chunk \(index) (\(keys[index])): \(message)"))
            }
            guard let chunk = reply.bytes else {
                throw ExecutionError(
                    .statementFailed("the header of \(id) cannot be read: chunk \(index) (\(keys[index])) is missing"))
            }
            bytes += chunk
        }
        guard bytes.count >= length else {
            throw ExecutionError(
                .statementFailed(
                    "the header of \(id) cannot be read: its chunks hold \(bytes.count) of \(length) bytes"))
        }
        let header: DicomFile
        do {
            header = try DicomReader.read(Array(bytes[0..<length]), options: .metadataOnly)
        } catch let error as DicomError {
            // The same bytes were read as DICOM when they were loaded.
            throw ExecutionError(
                .statementFailed(
                    "the stored chunks of \(id) are damaged: its header no longer reads as DICOM (\(error.detail)); `fetch` checks the whole file's SHA-256"
                ))
        }
        return String(json.dropLast()) + ",\"dicom\":" + DicomJSON.encode(header).serialized() + "}"
    }
}

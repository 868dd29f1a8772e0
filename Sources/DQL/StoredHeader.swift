import DicomCore
import Foundation
import RedisIO

/// The headers of stored files, read back from their first chunks: a document of layout 2 keeps
/// only what is searched and what a fetch needs, and the header's bytes are the first
/// `headerLength` bytes of the file itself (usually a part of chunk 0). DicomCore reads them
/// again in microseconds, with the same result as at load time (same bytes, same reader).
/// `show` reads one; a statement about attributes the index does not hold reads a page of them
/// at a time, in one pipeline, parsed on every core.
public enum StoredHeader {
    /// Where a stored file's header is: its id and the storage facts of its document.
    public struct Location: Sendable {
        var id: String
        var size: Int
        var chunkSize: Int
        /// Bytes of header; nil for documents of layout 1, whose header is read from chunk 0.
        var headerLength: Int?

        /// From a document's JSON members (`size`, `chunkSize`, `headerLength`).
        init?(id: String, size: Int?, chunkSize: Int?, headerLength: Int?) {
            guard let size, let chunkSize, chunkSize > 0, size >= 0, (headerLength ?? 0) >= 0 else { return nil }
            self.id = id
            self.size = size
            self.chunkSize = chunkSize
            self.headerLength = headerLength
        }
    }

    /// `json` (a stored document) as `show` gives it: with the header as DICOM JSON under
    /// `dicom`. A document of layout 1 has it already and is returned as it is.
    static func document(_ json: String, id: String, layout: StorageLayout, client: RedisClient) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            object["dicom"] == nil, json.hasSuffix("}")
        else { return json }
        guard
            let location = Location(
                id: id, size: object["size"] as? Int, chunkSize: object["chunkSize"] as? Int,
                headerLength: object["headerLength"] as? Int), location.headerLength != nil
        else {
            throw ExecutionError(
                .statementFailed(
                    "the document of \(id) is damaged: its size, chunkSize or headerLength is missing or invalid (size \(Self.shown(object["size"])), chunkSize \(Self.shown(object["chunkSize"])), headerLength \(Self.shown(object["headerLength"])))"
                ))
        }
        let header = try read([location], layout: layout, client: client)[0]
        return String(json.dropLast()) + ",\"dicom\":" + DicomJSON.encode(header).serialized() + "}"
    }

    /// A stored value as a message shows it: `missing`, or its JSON text.
    static func shown(_ value: Any?) -> String {
        guard let value else { return "missing" }
        if let text = value as? String { return "\"\(text)\"" }
        return "\(value)"
    }

    /// The headers of the files, in order, read in one pipeline and parsed concurrently.
    static func read(_ locations: [Location], layout: StorageLayout, client: RedisClient) throws -> [DicomFile] {
        // One GETRANGE where the header lies in chunk 0 (nearly always), else one a chunk it
        // spans; a document of layout 1 reads chunk 0 whole.
        let headers = try StoredRange.read(
            locations.map { location in
                StoredRange(
                    id: location.id, chunkSize: location.chunkSize,
                    range: 0..<min(location.headerLength ?? location.chunkSize, location.size),
                    described: "the header of \(location.id)")
            }, layout: layout, client: client)
        let parsed = ParsedHeaders(count: headers.count)
        let bytes = headers
        DispatchQueue.concurrentPerform(iterations: bytes.count) { index in
            parsed.set(index, Result { try DicomReader.read(bytes[index], options: .metadataOnly) })
        }
        return try zip(locations, parsed.results).map { location, result in
            do {
                return try result.get()
            } catch let error as DicomError {
                // The same bytes were read as DICOM when they were loaded.
                throw ExecutionError(
                    .statementFailed(
                        "the stored chunks of \(location.id) are damaged: its header no longer reads as DICOM (\(error.detail)); `fetch` checks the whole file's SHA-256"
                    ))
            }
        }
    }
}

/// Results written by concurrent parsers, one slot each.
private final class ParsedHeaders: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var results: [Result<DicomFile, any Error>]

    init(count: Int) {
        results = Array(repeating: .failure(CancellationError()), count: count)
    }

    func set(_ index: Int, _ result: Result<DicomFile, any Error>) {
        lock.withLock { results[index] = result }
    }
}

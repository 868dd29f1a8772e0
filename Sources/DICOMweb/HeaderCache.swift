import DQL
import DicomCore

/// Parsed headers of stored files, by id (see ``ContentCache``): searches, metadata, frames
/// and bulk data of files asked for again skip the read and the parse.
final class HeaderCache: Sendable {
    private let cache = ContentCache<DicomFile>(capacity: 20_000)

    /// Drops the header of file `id` (found damaged).
    func forget(_ id: String) { cache.remove { $0 == id } }

    /// The headers of `files`, in order: cached ones as they are, the others read in one
    /// pipeline and kept.
    func headers(of files: [StoredFile], executor: Executor) throws -> [DicomFile] {
        var found = cache.values(files.map(\.id))
        let missing = files.indices.filter { found[$0] == nil }
        guard !missing.isEmpty else { return found.compactMap { $0 } }
        let read = try executor.headers(of: missing.map { files[$0] })
        for (index, header) in zip(missing, read) { found[index] = header }
        cache.store(zip(missing, read).map { (files[$0.0].id, $0.1) })
        return found.compactMap { $0 }
    }

    /// The headers of the files with these ids, by id: cached ones without a round trip, the
    /// others from their documents' storage facts and their first bytes. Ids without a
    /// document (deleted since they were found) are left out.
    func headers(ofIds ids: [String], executor: Executor) throws -> [String: DicomFile] {
        var found: [String: DicomFile] = [:]
        for (id, header) in zip(ids, cache.values(ids)) { found[id] = header }
        let missing = Array(Set(ids.filter { found[$0] == nil }))
        guard !missing.isEmpty else { return found }
        let files = try executor.storedFiles(ids: missing)
        for (file, header) in zip(files, try headers(of: files, executor: executor)) { found[file.id] = header }
        return found
    }
}

import Crypto
import DQL
import DicomCore
import Foundation
import Hummingbird

#if canImport(Glibc)
    import Glibc
#endif

/// STOW-RS (PS3.18 §10.5): a `multipart/related` body of DICOM files, spooled to disk as it
/// arrives (memory stays small whatever the upload), each part's header read, then stored by
/// the same `load` the shell runs (chunks before documents, the same bytes twice stored once,
/// durable when the server persists). The answer is the PS3.18 store response: the
/// instances stored, and those that failed with their reason.
struct StowStore: Sendable {
    var pool: ExecutorPool
    var claims: InstanceClaims
    var options: DICOMwebServer.Options
    var baseURL: String
    /// The study of the path (`POST /studies/{study}`): instances of another are refused.
    var study: String?

    /// PS3.18 failure reasons (Table 10.5.3-2 and PS3.4 Annex GG).
    enum FailureReason: Int, Sendable {
        /// Error: the part cannot be understood (not DICOM, no SOP Instance UID).
        case cannotUnderstand = 0xC000
        /// Error: the data set does not match the request (another study).
        case doesNotMatch = 0xA900
        /// Refused: out of resources (the store refused the write).
        case outOfResources = 0xA700
    }

    struct Part: Sendable {
        var number: Int
        var path: String
        var size = 0
        /// SHA-256 of the spooled bytes, computed only when it decides something before the
        /// load (another file is stored, or an earlier part has, under its SOP Instance UID):
        /// otherwise the loader's hash is the only one (hashing every part as it arrived too
        /// was a sixth of the server's CPU in a STOW of 50 slices).
        var digest: String?
        var sopClass: String?
        var sopInstance: String?
        var studyUid: String?
        var seriesUid: String?
        var failure: (reason: FailureReason, text: String)?
        /// Another file with its SOP Instance UID is stored already, and is kept.
        var keptExisting = false
    }

    func store(_ request: Request) async throws -> (status: HTTPResponse.Status, body: JSONValue, warning: String?) {
        let contentType = MediaRange.ranges(request.headers[.contentType] ?? "").first
        guard let contentType, contentType.mediaType == "multipart/related" else {
            throw DICOMwebError(
                .unsupportedMediaType,
                "STOW-RS takes multipart/related; type=\"application/dicom\" (the body is \(request.headers[.contentType] ?? "without a Content-Type"))"
            )
        }
        if let type = contentType.parameters["type"], type.lowercased() != "application/dicom" {
            throw DICOMwebError(
                .unsupportedMediaType,
                "parts of type \(type) are not stored; dql stores application/dicom parts (whole DICOM files)")
        }
        guard let boundary = contentType.parameters["boundary"], !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw DICOMwebError.badRequest("the Content-Type names no boundary (multipart/related; boundary=…)")
        }
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > options.maximumUpload {
            throw DICOMwebError(
                .contentTooLarge,
                "the body is \(declared) bytes, more than \(options.maximumUpload) (dql serve --max-upload)")
        }
        let spool = try Self.makeSpool(in: options.spoolDirectory)
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let received = try await receive(request.body, boundary: boundary, spool: spool)
        let study = self.study
        let base = baseURL
        let claims = claims
        return try await pool.run { executor in
            var parts = received
            try Self.load(&parts, spool: spool, study: study, claims: claims, executor: executor)
            return Self.answer(parts, baseURL: base)
        }
    }

    /// Reads the body into one file a part.
    private func receive(_ body: RequestBody, boundary: String, spool: String) async throws -> [Part] {
        var reader = MultipartReader(boundary: boundary)
        var parts: [Part] = []
        var descriptor: Int32 = -1
        var head: [UInt8]? = nil
        defer { if descriptor >= 0 { close(descriptor) } }
        func append(_ bytes: [UInt8], part: Int) throws {
            parts[parts.count - 1].size += bytes.count
            try bytes.withUnsafeBytes { raw in
                var written = 0
                while written < raw.count {
                    let result = write(descriptor, raw.baseAddress.map { $0 + written }, raw.count - written)
                    if result < 0 && errno == EINTR { continue }
                    guard result > 0 else {
                        throw DICOMwebError(
                            HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"),
                            "cannot spool part \(part): \(String(cString: strerror(errno)))")
                    }
                    written += result
                }
            }
        }
        var total = 0
        for try await buffer in body {
            total += buffer.readableBytes
            guard total <= options.maximumUpload else {
                throw DICOMwebError(
                    .contentTooLarge, "the body is larger than \(options.maximumUpload) bytes (dql serve --max-upload)")
            }
            let events: [MultipartReader.Event]
            do {
                events = try reader.feed(buffer.readableBytesView)
            } catch {
                throw DICOMwebError.badRequest("the multipart body: \(error.message)")
            }
            for event in events {
                switch event {
                case .began(let headers):
                    let number = parts.count + 1
                    if let type = headers["content-type"],
                        MediaRange.ranges(type).first?.mediaType != "application/dicom"
                    {
                        throw DICOMwebError(
                            .unsupportedMediaType,
                            "part \(number) is \(type); dql stores application/dicom parts (whole DICOM files)")
                    }
                    let path = "\(spool)/part-\(number)"
                    descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                    guard descriptor >= 0 else {
                        throw DICOMwebError(
                            .internalServerError,
                            "cannot spool part \(number) to \(path): \(String(cString: strerror(errno)))")
                    }
                    parts.append(Part(number: number, path: path))
                    head = []
                case .bytes(let bytes):
                    // The first 132 bytes are held until it is known whether the part is a
                    // Part 10 file (preamble and DICM) or a data set that starts with its file
                    // meta group, as some clients send it; that one gets its preamble.
                    if let pending = head {
                        head = pending + bytes
                        if let ready = head, ready.count >= 132 {
                            head = nil
                            try append(Self.withPreamble(ready), part: parts.count)
                        }
                    } else {
                        try append(bytes, part: parts.count)
                    }
                case .ended:
                    if let pending = head {
                        head = nil
                        try append(Self.withPreamble(pending), part: parts.count)
                    }
                    close(descriptor)
                    descriptor = -1
                }
            }
        }
        do {
            try reader.finish()
        } catch {
            throw DICOMwebError.badRequest("the multipart body: \(error.message)")
        }
        guard !parts.isEmpty else { throw DICOMwebError.badRequest("the body holds no part") }
        return parts
    }

    /// `bytes` (the start of a part) with the 128-byte preamble and `DICM` put before it when it
    /// starts with the file meta group instead (group 0002, little endian), so what is stored
    /// is a Part 10 file every reader opens.
    static func withPreamble(_ bytes: [UInt8]) -> [UInt8] {
        let hasMagic = bytes.count >= 132 && bytes[128..<132].elementsEqual("DICM".utf8)
        let startsWithMeta = bytes.count >= 4 && bytes[0] == 0x02 && bytes[1] == 0x00 && bytes[3] == 0x00
        guard !hasMagic, startsWithMeta else { return bytes }
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + bytes
    }

    /// Reads each part's header, moves the acceptable ones under `spool/load`, and loads them.
    static func load(
        _ parts: inout [Part], spool: String, study: String?, claims: InstanceClaims, executor: Executor
    ) throws {
        let loadDirectory = "\(spool)/load"
        try FileManager.default.createDirectory(atPath: loadDirectory, withIntermediateDirectories: false)
        // Each part's header, read once: what it is, and where it belongs.
        for index in parts.indices {
            let header: DicomFile
            do {
                header = try DicomReader.read(contentsOf: parts[index].path, options: .metadataOnly)
            } catch {
                // Said without the spool's path, which is the server's business.
                let reason = "\(error)".replacingOccurrences(of: parts[index].path, with: "the part")
                parts[index].failure = (
                    .cannotUnderstand, "part \(parts[index].number) does not read as DICOM: \(reason)"
                )
                continue
            }
            parts[index].sopClass = header.dataset[DicomTag(0x0008, 0x0016)]?.string
            parts[index].sopInstance = header.dataset[DicomTag(0x0008, 0x0018)]?.string
            parts[index].studyUid = header.dataset[DicomTag(0x0020, 0x000D)]?.string
            parts[index].seriesUid = header.dataset[DicomTag(0x0020, 0x000E)]?.string
        }
        // From here to the end of the load, no other request of this server stores these
        // instances (see InstanceClaims).
        let uids = Set(parts.compactMap { $0.failure == nil ? $0.sopInstance : nil })
        try claims.whileHolding(uids) {
            try load(&parts, loadDirectory: loadDirectory, study: study, executor: executor)
        }
    }

    /// ``load(_:spool:study:claims:executor:)`` once the instances are held.
    private static func load(
        _ parts: inout [Part], loadDirectory: String, study: String?, executor: Executor
    ) throws {
        var byPath: [String: Int] = [:]
        var byName: [String: [Int]] = [:]
        var firstOfBody: [String: String] = [:]
        let uids = parts.compactMap { $0.failure == nil ? $0.sopInstance : nil }.filter(RetrieveScope.isUID)
        let existing = try storedInstances(uids, executor: executor)
        let repeated = Set(Dictionary(grouping: uids, by: { $0 }).filter { $0.value.count > 1 }.keys)
        for index in parts.indices where parts[index].failure == nil {
            guard let sop = parts[index].sopInstance, RetrieveScope.isUID(sop) else {
                parts[index].failure = (
                    .cannotUnderstand, "part \(parts[index].number) has no valid SOP Instance UID (0008,0018)"
                )
                continue
            }
            // An instance WADO-RS cannot address is not stored: its study and series must be
            // UIDs too (1 to 64 digits and dots).
            for (name, uid) in [
                ("Study Instance UID (0020,000D)", parts[index].studyUid),
                ("Series Instance UID (0020,000E)", parts[index].seriesUid),
            ] where !(uid.map(RetrieveScope.isUID) ?? false) {
                parts[index].failure = (
                    .cannotUnderstand,
                    "part \(parts[index].number) (\(sop)) has no valid \(name): \(uid?.prefix(80) ?? "none")"
                )
            }
            if parts[index].failure != nil { continue }
            if let study, parts[index].studyUid != study {
                parts[index].failure = (
                    .doesNotMatch,
                    "part \(parts[index].number) (\(sop)) belongs to study \(parts[index].studyUid ?? "none"), not \(study)"
                )
                continue
            }
            // Other bytes under a SOP Instance UID that is stored already, or that an earlier
            // part of this body has: the first is kept, as across requests.
            if existing[sop] != nil || repeated.contains(sop) {
                let digest = try Self.digest(of: parts[index])
                parts[index].digest = digest
                if let kept = existing[sop] ?? firstOfBody[sop], kept != digest {
                    parts[index].keptExisting = true
                    continue
                }
                firstOfBody[sop] = digest
            }
            // Stored under its SOP Instance UID: in the load directory itself, or (for a second
            // part with the same UID) in a directory of its own. A directory for every part
            // cost an inode each: with the part files, ext4's search for free inodes among the
            // recently deleted ones was a third of a STOW of 50 slices.
            var path = "\(loadDirectory)/\(sop).dcm"
            if byPath[path] != nil {
                let directory = "\(loadDirectory)/\(parts[index].number)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
                path = "\(directory)/\(sop).dcm"
            }
            guard rename(parts[index].path, path) == 0 else {
                throw DICOMwebError(.internalServerError, "cannot move part \(parts[index].number) into place")
            }
            parts[index].path = path
            byPath[path] = index
            // The loader names what it stored by base name: parts with one name have one
            // SOP Instance UID and the same bytes (other bytes were kept out above).
            byName["\(sop).dcm", default: []].append(index)
        }
        guard !byPath.isEmpty else { return }
        let result = try executor.execute(
            .load(LoadStatement(path: PathLiteral(loadDirectory, range: QIDOQuery.nowhere), recursive: true)))
        guard case .loaded(let report) = result else { return }
        if let interruption = report.interruption {
            throw DICOMwebError(.serviceUnavailable, "the store stopped the load: \(interruption)")
        }
        if let error = report.durabilityError {
            throw DICOMwebError(.serviceUnavailable, "the files were written but not confirmed durable: \(error)")
        }
        var stored = Set<Int>()
        for outcome in report.outcomes {
            switch outcome {
            case .loaded(_, let name, _), .alreadyLoaded(_, let name):
                for index in byName[name] ?? [] { stored.insert(index) }
            case .failed(let path, let reason):
                if let index = byPath[path] {
                    parts[index].failure = (
                        .outOfResources,
                        "part \(parts[index].number): \(reason.replacingOccurrences(of: path, with: "the part"))"
                    )
                }
            }
        }
        for index in byPath.values where !stored.contains(index) && parts[index].failure == nil {
            parts[index].failure = (.outOfResources, "part \(parts[index].number) was not stored")
        }
    }

    /// The SHA-256 of a spooled part, read back from its file (see ``Part/digest``).
    static func digest(of part: Part) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: part.path) else {
            throw DICOMwebError(.internalServerError, "cannot read part \(part.number) back from the spool")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let data: Data
            do {
                guard let read = try handle.read(upToCount: 1 << 20), !read.isEmpty else { break }
                data = read
            } catch {
                throw DICOMwebError(.internalServerError, "cannot read part \(part.number) back from the spool")
            }
            hasher.update(data: data)
        }
        return HexDigits.lowercase(hasher.finalize())
    }

    /// The stored files among `uids`, by SOP Instance UID: their ids (SHA-256). An instance
    /// is stored once: a second file with the same UID but other bytes keeps the first, as
    /// Orthanc does by default.
    static func storedInstances(_ uids: [String], executor: Executor) throws -> [String: String] {
        guard !uids.isEmpty, let field = Schema.field(named: "sopUid") else { return [:] }
        var found: [String: String] = [:]
        for batch in stride(from: 0, to: uids.count, by: 200).map({ uids[$0..<min(uids.count, $0 + 200)] }) {
            let condition = Condition.oneOf(
                QIDOQuery.reference(field), batch.map { Literal(.text($0), range: QIDOQuery.nowhere) })
            do {
                guard case .rows(let rows) = try executor.execute(.find(FindStatement(condition: condition))) else {
                    continue
                }
                for file in try executor.storedFiles(ids: rows.ids) {
                    if let sop = file.sopUid, found[sop] == nil { found[sop] = file.id }
                }
            } catch let error as ExecutionError {
                guard case .noData = error.kind else { throw error }
            }
        }
        return found
    }

    /// The store response (PS3.18 Table 10.5.3-1) and its status: 200 when every instance
    /// was stored, 202 when some were, 409 when none was.
    static func answer(
        _ parts: [Part], baseURL: String
    ) -> (status: HTTPResponse.Status, body: JSONValue, warning: String?) {
        func uid(_ value: String?) -> JSONValue {
            guard let value else { return .object([("vr", .string("UI"))]) }
            return .object([("vr", .string("UI")), ("Value", .array([.string(value)]))])
        }
        var referenced: [JSONValue] = []
        var failed: [JSONValue] = []
        var studies = Set<String>()
        for part in parts {
            if let failure = part.failure {
                failed.append(
                    .object([
                        ("00081150", uid(part.sopClass)), ("00081155", uid(part.sopInstance)),
                        (
                            "00081197",
                            .object([
                                ("vr", .string("US")), ("Value", .array([.integer(Int64(failure.reason.rawValue))])),
                            ])
                        ),
                    ]))
            } else {
                let url =
                    "\(baseURL)/studies/\(part.studyUid ?? "")/series/\(part.seriesUid ?? "")/instances/\(part.sopInstance ?? "")"
                if let study = part.studyUid { studies.insert(study) }
                referenced.append(
                    .object([
                        ("00081150", uid(part.sopClass)), ("00081155", uid(part.sopInstance)),
                        ("00081190", QIDOSearch.url(url)),
                    ]))
            }
        }
        var members: [(String, JSONValue)] = []
        if studies.count == 1, let study = studies.first {
            members.append(("00081190", QIDOSearch.url("\(baseURL)/studies/\(study)")))
        }
        if !failed.isEmpty {
            members.append(("00081198", .object([("vr", .string("SQ")), ("Value", .array(failed))])))
        }
        if !referenced.isEmpty {
            members.append(("00081199", .object([("vr", .string("SQ")), ("Value", .array(referenced))])))
        }
        let status: HTTPResponse.Status = failed.isEmpty ? .ok : referenced.isEmpty ? .conflict : .accepted
        let warning =
            parts.compactMap(\.failure?.text).first
            ?? parts.first(where: \.keptExisting).map {
                "instance \($0.sopInstance ?? "") is stored already with other bytes; the stored one is kept"
            }
        return (status, .object(members), warning)
    }

    static func makeSpool(in directory: String) throws -> String {
        var template = Array(
            "\(directory.hasSuffix("/") ? String(directory.dropLast()) : directory)/dql-stow-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard let made else {
            throw DICOMwebError(
                .internalServerError,
                "cannot make a spool directory in \(directory): \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }
}

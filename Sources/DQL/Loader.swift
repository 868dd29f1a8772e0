import Crypto
import DicomCore
import Foundation
import RedisIO

/// Stores DICOM files: each read once (SHA-256, header, chunks), chunks written first over
/// several connections, the metadata document last, so nothing is visible before the file is
/// whole. The same bytes loaded again are a no-op; a file that is not DICOM is reported and
/// the load goes on.
public struct Loader: Sendable {
    public var layout: StorageLayout
    public var transfer: ChunkTransfer

    /// Seconds a load's lease lasts unrenewed (see ``LoadLease``).
    public var leaseSeconds = StorageLayout.loadingLeaseSeconds

    public init(layout: StorageLayout, chunkSize: Int = 512 * 1024, connections: Int = 8, window: Int = 8) {
        self.layout = layout
        self.transfer = ChunkTransfer(chunkSize: chunkSize, connections: connections, window: window)
    }

    /// What happened to one file.
    public enum Outcome: Sendable, Equatable {
        case loaded(id: String, name: String, size: Int)
        case alreadyLoaded(id: String, name: String)
        case failed(path: String, reason: String)
    }

    /// The files a path names: the file itself, or the regular files in a directory (sorted;
    /// with `recursive`, also in its subdirectories). Hidden files are skipped.
    public static func files(at path: String, recursive: Bool) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LoadError("no such file or directory: \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        let base = URL(fileURLWithPath: path)
        var found: [String] = []
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        for name in names where !name.hasPrefix(".") {
            let child = base.appendingPathComponent(name).path
            var childIsDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: child, isDirectory: &childIsDirectory)
            if childIsDirectory.boolValue {
                if recursive { found += try files(at: child, recursive: true) }
            } else {
                found.append(child)
            }
        }
        return found
    }

    /// Loads one file. Problems with the file itself (not DICOM, unreadable, refused by the
    /// server) come back as `.failed` so a load of many files goes on; a cancel or a lost
    /// connection throws, after removing the chunks this load wrote, so nothing half-written
    /// stays behind (what cannot be removed then is left for `vacuum`).
    public func load(
        file path: String, pool: RedisPool, context: StatementContext = StatementContext(),
        now: Int = Int(Date().timeIntervalSince1970)
    ) throws -> Outcome {
        do {
            return try loadOrThrow(file: path, pool: pool, context: context, now: now)
        } catch let error as RedisError where error.isConnectionFailure {
            throw error
        } catch ChunkTransferError.cancelled {
            throw ChunkTransferError.cancelled
        } catch let error as DicomError {
            return .failed(path: path, reason: error.description)
        } catch {
            return .failed(path: path, reason: "\(error)")
        }
    }

    private func loadOrThrow(
        file path: String, pool: RedisPool, context: StatementContext, now: Int
    ) throws
        -> Outcome
    {
        let mapped = try MappedFile(path: path)
        let bytes = mapped.buffer
        let id = context.profile.measure(.checksum) { SHA256.hash(data: bytes).map { Self.hex($0) }.joined() }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let header = try DicomReader.read(bytes, options: .metadataOnly)
        let documentKey = layout.documentKey(id: id)
        let source = URL(fileURLWithPath: path).standardizedFileURL.path
        let exists = try context.profile.measure(.query) {
            try pool.withConnection { try $0.call("EXISTS", documentKey).integer == 1 }
        }
        if exists {
            try pool.withConnection { connection in
                // Remember a new source path; the bytes are already there.
                let known = try connection.call("JSON.GET", documentKey, "$.sources").string ?? ""
                if !known.contains(JSONValue.string(source).serialized()) {
                    try connection.call(
                        "JSON.ARRAPPEND", documentKey, "$.sources", JSONValue.string(source).serialized())
                }
            }
            context.activity.add(bytes: bytes.count)
            return .alreadyLoaded(id: id, name: name)
        }
        let layout = layout
        let lease = try LoadLease(key: layout.loadingKey(id: id), seconds: leaseSeconds, pool: pool, now: now)
        defer { lease.release() }
        let activity = context.activity
        do {
            try context.profile.measure(.transfer) {
                try withExtendedLifetime(mapped) {
                    try transfer.upload(
                        bytes, key: { layout.chunkKey(id: id, index: $0) }, pool: pool,
                        progress: { activity.add(bytes: $0) }, isCancelled: context.isCancelled)
                }
            }
        } catch {
            removeChunks(id: id, count: transfer.chunkCount(totalSize: bytes.count), pool: pool)
            throw error
        }
        context.profile.add(bytes: bytes.count)
        let document = FileDocument(
            file: header, id: id, name: name, size: bytes.count, chunkSize: transfer.chunkSize, loadedAt: now,
            source: source)
        // NX: if another loader finished the same bytes meanwhile, its document stands.
        try context.profile.measure(.query) {
            try pool.withConnection { connection in
                try connection.call(RedisCommand(["JSON.SET", documentKey, "$", document.json.serialized(), "NX"]))
            }
        }
        return .loaded(id: id, name: name, size: bytes.count)
    }

    /// Best effort: deletes the chunks of an unfinished load. Whatever cannot be deleted now
    /// (the server went away) has no document pointing at it, and `vacuum` removes it later.
    func removeChunks(id: String, count: Int, pool: RedisPool) {
        let batch = 1000
        _ = try? pool.withConnection { connection in
            for start in stride(from: 0, to: count, by: batch) {
                let keys = (start..<min(count, start + batch)).map { layout.chunkKey(id: id, index: $0) }
                try connection.call(RedisCommand(["UNLINK"] + keys))
            }
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}

/// A load that could not start (the path does not exist).
public struct LoadError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

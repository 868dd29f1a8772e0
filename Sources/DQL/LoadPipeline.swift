import Crypto
import DicomCore
import Foundation

/// A file read, hashed and parsed, ready to be stored.
struct PreparedFile: @unchecked Sendable {
    var path: String
    /// Mapped while the file waits to be stored (the chunks are sent straight from it).
    var mapped: MappedFile
    var header: DicomFile
    /// SHA-256 of the bytes, lower-case hex.
    var id: String
    /// XXH3-64 of the bytes (see ``ContentCheck``).
    var xxh3: UInt64
    var name: String
    /// The absolute path it was loaded from.
    var source: String
    /// What the reader repaired or skipped, or found wrong (see ``Loader/damage(of:in:)``).
    var repairs: [String]
    /// The metadata document, serialized (made here, on the preparing threads).
    var document = ""

    /// Its Study Instance UID, which places its document on a spread store.
    var studyUid: String? { header.dataset[DicomTag(0x0020, 0x000D)]?.string }
}

/// Reads files ahead of the stores that write them: a thread of its own prepares the next
/// batches of small files (mapping, SHA-256 and header of each, the batch's files in parallel
/// on the machine's cores) while two batches are uploaded. Large files are left to the
/// single-file path, which overlaps their hashing with their upload instead.
final class LoadPipeline: @unchecked Sendable {
    /// What the store gets next, in the order of the walk.
    enum Item {
        /// Consecutive small files: each prepared, or why it could not be.
        case batch([Result<PreparedFile, LoadFailure>])
        /// A file at least as large as the threshold, for the single-file path.
        case large(path: String)
    }

    /// Why a file could not be prepared.
    struct LoadFailure: Error {
        var path: String
        var reason: String
    }

    /// Prepared items that wait for the store: two, as two batches are stored at once.
    static let waiting = 2
    /// At most this many files in a batch.
    static let maximumFiles = 64
    /// At most this many mapped files (larger than ``MappedFile/readLimit``; smaller ones are
    /// read into memory) in a batch: every mapping takes one of CMappingGuard's 256 slots, and
    /// at most five batches are held at once (two being stored, two ready, one being
    /// prepared), with room left for files loaded alone.
    static let maximumMapped = 48
    /// At most this many bytes in a batch (more files are pointless once the connections are
    /// busy with chunks).
    static let maximumBytes = 32 << 20

    private let condition = NSCondition()
    /// Guarded by `condition`: the prepared item waiting, and whether the producer is done.
    nonisolated(unsafe) private var ready: [Item] = []
    nonisolated(unsafe) private var producing = true
    nonisolated(unsafe) private var stopped = false
    private let checksum: @Sendable (Duration) -> Void
    private let document: @Sendable (PreparedFile) -> String

    /// Starts preparing `files`; files of `largeThreshold` bytes or more go to the single path.
    /// `checksum` is told the time each hash took, and `document` makes each file's metadata
    /// document (both called from the preparing threads).
    init(
        files: [FileWalker.Entry], largeThreshold: Int, checksum: @escaping @Sendable (Duration) -> Void,
        document: @escaping @Sendable (PreparedFile) -> String
    ) {
        self.checksum = checksum
        self.document = document
        let thread = Thread { [self] in produce(files, largeThreshold: largeThreshold) }
        thread.name = "dql.prepare"
        thread.start()
    }

    /// The next item, waiting for it to be prepared; nil when every file has been handed out
    /// (or after ``stop()``).
    func next() -> Item? {
        condition.withLock {
            while ready.isEmpty && producing && !stopped { condition.wait() }
            guard !stopped, !ready.isEmpty else { return nil }
            let item = ready.removeFirst()
            condition.broadcast()
            return item
        }
    }

    /// Stops preparing (the files prepared and not taken are unmapped) and waits for the
    /// producer to finish the batch in hand.
    func stop() {
        condition.withLock {
            stopped = true
            ready.removeAll()
            condition.broadcast()
            while producing { condition.wait() }
        }
    }

    private func produce(_ files: [FileWalker.Entry], largeThreshold: Int) {
        defer {
            condition.withLock {
                producing = false
                condition.broadcast()
            }
        }
        var index = 0
        while index < files.count {
            let item: Item
            if files[index].size >= largeThreshold {
                item = .large(path: files[index].path)
                index += 1
            } else {
                var end = index
                var bytes = 0
                var mapped = 0
                while end < files.count, end - index < Self.maximumFiles, files[end].size < largeThreshold,
                    end == index || bytes + files[end].size <= Self.maximumBytes,
                    files[end].size <= MappedFile.readLimit || mapped < Self.maximumMapped
                {
                    bytes += files[end].size
                    if files[end].size > MappedFile.readLimit { mapped += 1 }
                    end += 1
                }
                item = .batch(prepare(Array(files[index..<end])))
                index = end
            }
            // Up to two items wait while the store works on the two before.
            let keepGoing = condition.withLock {
                while ready.count >= Self.waiting && !stopped { condition.wait() }
                guard !stopped else { return false }
                ready.append(item)
                condition.broadcast()
                return true
            }
            guard keepGoing else { return }
        }
    }

    /// Prepares `files` in parallel on the machine's cores (no thread of its own per file).
    private func prepare(_ files: [FileWalker.Entry]) -> [Result<PreparedFile, LoadFailure>] {
        let results = PreparedSlots(count: files.count)
        let checksum = checksum
        let document = document
        DispatchQueue.concurrentPerform(iterations: files.count) { position in
            results.set(
                position,
                Self.prepare(files[position], checksum: checksum).map { file in
                    var prepared = file
                    prepared.document = document(file)
                    return prepared
                })
        }
        return results.values
    }

    /// Maps, hashes and parses one file.
    static func prepare(_ entry: FileWalker.Entry, checksum: (Duration) -> Void) -> Result<PreparedFile, LoadFailure> {
        let path = entry.path
        do {
            let mapped = try MappedFile(path: path)
            let header = try DicomReader.read(mapped.buffer, options: .metadataOnly)
            let started = ContinuousClock.now
            let id = Loader.id(of: mapped.buffer)
            let xxh3 = ContentCheck.xxh3(of: mapped.buffer)
            checksum(ContinuousClock.now - started)
            try Loader.checkUnchanged(mapped)
            return .success(
                PreparedFile(
                    path: path, mapped: mapped, header: header, id: id, xxh3: xxh3, name: entry.name,
                    source: entry.source, repairs: Loader.damage(of: header, in: mapped.buffer)))
        } catch let error as DicomError {
            return .failure(LoadFailure(path: path, reason: error.detail))
        } catch {
            return .failure(LoadFailure(path: path, reason: "\(error)"))
        }
    }
}

/// Per-position results written by the preparing threads.
private final class PreparedSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<PreparedFile, LoadPipeline.LoadFailure>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ position: Int, _ result: Result<PreparedFile, LoadPipeline.LoadFailure>) {
        lock.withLock { slots[position] = result }
    }

    var values: [Result<PreparedFile, LoadPipeline.LoadFailure>] {
        lock.withLock { slots.compactMap { $0 } }
    }
}

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
    /// Builds the size lookup (the same settings as the statement's).
    public var compiler: Compiler
    /// Attributes added to the index (`index KEYWORD`), written into each new document; a
    /// `load` statement reads them from the server when it starts.
    var attributes: [Field] = []
    /// The load statement's marker and its token, checked at each commit.
    var runMarker: LoadLease.RunMarker?

    /// Seconds a load's lease lasts unrenewed (see ``LoadLease``).
    public var leaseSeconds = StorageLayout.loadingLeaseSeconds
    /// Replicas of each master the load waits for to have its writes (see ``Durability``).
    public var replicas = 0
    /// How long the load waits for its writes to reach the disks (the statement timeout; the
    /// usual AOF policy, `appendfsync everysec`, writes them within about a second).
    public var durabilityTimeoutMilliseconds = 10_000

    public init(layout: StorageLayout, chunkSize: Int = 512 * 1024, connections: Int = 8, window: Int = 8) {
        self.layout = layout
        self.transfer = ChunkTransfer(chunkSize: chunkSize, connections: connections, window: window)
        self.compiler = Compiler(layout: layout)
    }

    /// What happened to one file.
    public enum Outcome: Sendable, Equatable {
        case loaded(id: String, name: String, size: Int)
        case alreadyLoaded(id: String, name: String)
        case failed(path: String, reason: String)
    }

    /// Loads every file `path` names (see ``FileWalker``). Small files go in batches through a
    /// pipeline (the next batches are read, hashed and parsed while two are stored at once;
    /// see ``store(batch:beside:keeper:client:context:)``), large ones one at a time with their hash
    /// overlapped with their upload. A file that cannot be loaded is reported and the load
    /// goes on; a cancel, a lost connection, or a refusal that every further file would meet
    /// too (NOPERM, OOM, READONLY, …) stops it, said once.
    func load(path: PathLiteral, recursive: Bool, client: RedisClient, context: StatementContext) throws -> LoadReport {
        // Files of one statement can meet the same condition (a wait for another load's
        // claims): each note is said once.
        var context = context
        context.note = OnceEach(context.note).say
        let expanded = try PathExpansion.expand(path)
        let walk: FileWalker.Walk
        do {
            walk = try FileWalker.walk(expanded, recursive: recursive)
        } catch {
            throw ExecutionError(.cannotLoad(path: error.path, reason: error.reason), at: path.range)
        }
        context.activity.begin(files: walk.files.count, bytes: walk.files.reduce(0) { $0 + $1.size })
        let clock = ContinuousClock()
        let started = clock.now
        var report = LoadReport()
        report.outcomes = walk.skipped.map { .failed(path: $0.path, reason: $0.reason) }
        report.hidden = walk.hidden
        report.subdirectoriesLeft = walk.subdirectoriesLeft
        let keeper = LeaseKeeper(client: client, seconds: leaseSeconds)
        let markers = LoadLease.RunMarker(
            key: { [layout, token = keeper.token] in layout.loadRunKey(token: token, documentKey: $0) },
            token: keeper.token, placementKey: layout.placement == .single ? layout.placementKey : nil)
        keeper.runMarker = markers
        // Marked as running before the attributes to write are read (see `loadRunKey`).
        let attributes: [Field]
        do {
            try keeper.hold(
                layout.loadRunKey(token: keeper.token), buckets: layout.bucketLoadRunKeys(token: keeper.token))
            attributes = try client.withConnection(routedBy: layout.metadataRoutingKey) {
                try IndexedAttributes.read($0, layout: layout).written
            }
        } catch let error as RedisError {
            // Refused (NOPERM, OOM, READONLY) or cut off before any file: the load stops there.
            keeper.stop(releasing: !error.isConnectionFailure)
            report.interruption = .connection(error)
            report.elapsed = clock.now - started
            return report
        }
        let profile = context.profile
        let chunkSize = transfer.chunkSize
        let loadedAt = Int(Date().timeIntervalSince1970)
        let pipeline = LoadPipeline(
            files: walk.files, largeThreshold: overlapThreshold, checksum: { profile.add($0, to: .checksum) },
            document: { file in
                FileDocument(
                    file: file.header, id: file.id, xxh3: file.xxh3, name: file.name, size: file.mapped.buffer.count,
                    chunkSize: chunkSize, loadedAt: loadedAt, source: file.source, attributes: attributes
                ).json.serialized()
            })
        defer {
            pipeline.stop()
            // Releasing claims on a server that stopped answering would wait out its timeout:
            // they expire by themselves.
            keeper.stop(releasing: !report.interruption.isConnectionFailure)
        }
        // The ids this load has stored (or found stored), for copies a batch left for later.
        var storedIds: Set<String> = []
        func record(_ outcome: Outcome, _ repairs: [String], path: String) {
            switch outcome {
            case .loaded(let id, _, _), .alreadyLoaded(let id, _): storedIds.insert(id)
            case .failed: break
            }
            report.outcomes.append(outcome)
            if !repairs.isEmpty, case .loaded = outcome { report.repaired.append((path, repairs)) }
            context.activity.finishFile()
        }
        var alone = self
        alone.attributes = attributes
        alone.runMarker = markers
        func loadAlone(_ path: String) throws {
            let (outcome, repairs) = try alone.loadReporting(file: path, client: client, context: context)
            record(outcome, repairs, path: path)
        }
        /// What stops the load, or nil for an error that is thrown on.
        func interruption(_ error: any Error) -> LoadReport.Interruption? {
            switch error {
            case ChunkTransferError.cancelled: .cancelled
            case LoadLeaseError.suspended(let seconds): .suspended(seconds: seconds)
            case let error as RedisError: .connection(error)
            default: nil
            }
        }
        /// Records a finished batch's files; those it left for later are taken now, when the
        /// batch that ran beside it has committed: copies of what it stored are recorded in one
        /// write, the rest loaded alone (unless the load stops).
        func finish(_ batch: BatchInFlight, aloneToo: Bool) throws {
            var later: [PreparedFile] = []
            for result in try batch.results() {
                switch result {
                case .done(let outcome, let path, let repairs): record(outcome, repairs, path: path)
                case .alone(let path): if aloneToo { try loadAlone(path) }
                case .after(let file): later.append(file)
                }
            }
            for (file, result) in zip(
                later, try recordCopies(later, stored: storedIds, client: client, context: context))
            {
                switch result {
                case .done(let outcome, let path, let repairs): record(outcome, repairs, path: path)
                case .alone, .after: if aloneToo { try loadAlone(file.path) }
                }
            }
        }
        // Two batches are stored at once (see ``BatchInFlight``); a large file waits for the
        // batches before it.
        var running: BatchInFlight?
        items: while let item = pipeline.next() {
            if context.isCancelled() {
                report.interruption = .cancelled
                break
            }
            do {
                switch item {
                case .large(let path):
                    if let previous = running {
                        running = nil
                        try finish(previous, aloneToo: true)
                    }
                    try loadAlone(path)
                case .batch(let files):
                    // A heavy batch is stored alone: its chunks keep the connections busy, and a
                    // second batch beside it only contends (2,000 CT slices of 132 KB: 1.17 s
                    // against 0.85 s one batch at a time).
                    let heavy = BatchInFlight.isHeavy(files)
                    if heavy, let previous = running {
                        running = nil
                        try finish(previous, aloneToo: true)
                    }
                    let beside = running?.ids ?? []
                    let (store, context) = (self, context)
                    let started = BatchInFlight(files: files) {
                        try store.store(batch: files, beside: beside, keeper: keeper, client: client, context: context)
                    }
                    let previous = running
                    running = started
                    if let previous { try finish(previous, aloneToo: true) }
                    if heavy {
                        running = nil
                        try finish(started, aloneToo: true)
                    }
                }
            } catch {
                guard let stop = interruption(error) else {
                    // Thrown on: the batch still running finishes first (its files are
                    // committed or rolled back by then).
                    _ = try? running?.results()
                    throw error
                }
                report.interruption = stop
                break items
            }
        }
        // The batch still running finishes whatever stopped the loop: what it stored is
        // reported; after an interruption, what it left is not loaded alone.
        if let last = running {
            do {
                try finish(last, aloneToo: report.interruption == nil)
            } catch {
                guard let stop = interruption(error) else { throw error }
                if report.interruption == nil { report.interruption = stop }
            }
        }
        if report.loaded > 0, !report.interruption.isConnectionFailure {
            confirmDurability(&report, client: client, context: context)
        }
        report.elapsed = clock.now - started
        return report
    }

    /// A load counts as done when its writes are on the servers' disks: one wait per master
    /// for everything written before it (WAITAOF where the server keeps an append-only file,
    /// WAIT for replicas as the `replicas` setting says).
    func confirmDurability(_ report: inout LoadReport, client: RedisClient, context: StatementContext) {
        let layout = layout
        report.replicas = replicas
        do {
            report.durability = try context.profile.measure(.query) {
                try Durability.wait(
                    client: client, replicas: replicas, timeoutMilliseconds: durabilityTimeoutMilliseconds,
                    marker: { layout.durabilityMarker(tag: $0) })
            }
        } catch let error as RedisError {
            report.durabilityError = error
        } catch {
            report.durabilityError = RedisError(.unexpectedReply, "\(error)")
        }
    }

    /// Server error codes that refuse every write alike: once one file meets them, so will
    /// all the others.
    static let refusalsForEveryFile: Set<Substring> = ["NOPERM", "OOM", "READONLY", "MISCONF", "NOAUTH", "NOREPLICAS"]

    /// Loads one file. Problems with the file itself (not DICOM, unreadable, refused by the
    /// server) come back as `.failed` so a load of many files goes on; a cancel or a lost
    /// connection throws, after removing the chunks this load wrote, so nothing half-written
    /// stays behind (what cannot be removed then is left for `vacuum`).
    public func load(
        file path: String, client: RedisClient, context: StatementContext = StatementContext(),
        now: Int = Int(Date().timeIntervalSince1970)
    ) throws -> Outcome {
        try loadReporting(file: path, client: client, context: context, now: now).outcome
    }

    /// ``load(file:client:context:now:)``, with what the reader repaired or skipped in the
    /// header (the document was made from what could be read).
    func loadReporting(
        file path: String, client: RedisClient, context: StatementContext = StatementContext(),
        now: Int = Int(Date().timeIntervalSince1970)
    ) throws -> (outcome: Outcome, repairs: [String]) {
        do {
            return try loadOrThrow(file: path, client: client, context: context, now: now)
        } catch let error as RedisError where error.isConnectionFailure {
            throw error
        } catch let error as RedisError
            where error.serverErrorCode.map(Self.refusalsForEveryFile.contains) == true
        {
            throw error
        } catch ChunkTransferError.cancelled {
            throw ChunkTransferError.cancelled
        } catch LoadLeaseError.suspended(let seconds) {
            throw LoadLeaseError.suspended(seconds: seconds)
        } catch let error as DicomError {
            return (.failed(path: path, reason: error.detail), [])
        } catch {
            return (.failed(path: path, reason: "\(error)"), [])
        }
    }

    private func loadOrThrow(
        file path: String, client: RedisClient, context: StatementContext, now: Int
    ) throws -> (outcome: Outcome, repairs: [String]) {
        let mapped = try MappedFile(path: path)
        let bytes = mapped.buffer
        let name = URL(fileURLWithPath: path).lastPathComponent
        let header = try DicomReader.read(bytes, options: .metadataOnly)
        let repairs = Self.damage(of: header, in: bytes)
        let source = URL(fileURLWithPath: path).standardizedFileURL.path
        let chunkCount = transfer.chunkCount(totalSize: bytes.count)
        let provisional: String?
        // On a cluster the provisional chunks could not be renamed (RENAME stays within a slot).
        if bytes.count >= overlapThreshold, !client.isCluster,
            try !anyDocument(ofSize: bytes.count, client: client, context: context)
        {
            // No stored file has this size, so these bytes are new: upload under a provisional
            // id while the hash is computed, instead of hashing first.
            provisional = "new-" + UUID().uuidString.lowercased()
        } else {
            provisional = nil
        }
        let hashing = HashingThread(mapped)
        // The provisional chunks are this load's alone; claimed so vacuum leaves them alone.
        var provisionalLease: LoadLease?
        defer { provisionalLease?.release() }
        if let provisional {
            let key = layout.loadingKey(id: provisional)
            if case .claimed(let lease) = try LoadLease.claim(
                key: key, documentKey: layout.documentKey(id: provisional), seconds: leaseSeconds, client: client)
            {
                provisionalLease = lease
            }
            do {
                try upload(bytes, id: provisional, mapped: mapped, client: client, context: context)
                try Self.checkUnchanged(mapped)
            } catch {
                removeChunks(id: provisional, count: chunkCount, client: client)
                throw error
            }
        }
        let uploaded = provisional != nil
        let (id, xxh3) = try context.profile.measure(.checksum) { try hashing.wait() }
        // The hash is of the bytes as they were read: worthless if the file changed meanwhile.
        do {
            try Self.checkUnchanged(mapped)
        } catch {
            if let provisional { removeChunks(id: provisional, count: chunkCount, client: client) }
            throw error
        }
        let study = header.dataset[DicomTag(0x0020, 0x000D)]?.string
        let documentKey = layout.documentKey(id: id, study: study)
        func alreadyStored() throws -> (outcome: Outcome, repairs: [String]) {
            if let provisional { removeChunks(id: provisional, count: chunkCount, client: client) }
            // Remember a new source path; the bytes are already there.
            try appendSources([(documentKey, source, name)], client: client, context: context)
            if !uploaded { context.activity.add(bytes: bytes.count) }
            return (.alreadyLoaded(id: id, name: name), repairs)
        }
        let exists = try context.profile.measure(.query) {
            try client.call(RedisCommand("EXISTS", documentKey), routedBy: documentKey).integer == 1
        }
        if exists { return try alreadyStored() }
        // One load at a time writes an id's chunks; a load of the same bytes already under way
        // is waited for.
        let lease: LoadLease
        switch try LoadLease.claim(
            key: layout.loadingKey(id: id, study: study), documentKey: documentKey, seconds: leaseSeconds,
            client: client,
            isCancelled: context.isCancelled,
            waiting: {
                // A load killed moments ago holds its claims until they expire: said, so the
                // wait is not taken for a hang (once per statement; see `load(path:…)`).
                context.note(
                    "waiting for another load of the same bytes: it is still running, or it was stopped and its claim expires within \(leaseSeconds) s"
                )
            })
        {
        case .stored: return try alreadyStored()
        case .claimed(let claimed): lease = claimed
        }
        defer { lease.release() }
        do {
            if let provisional {
                try rename(from: provisional, to: id, count: chunkCount, client: client)
            } else {
                try upload(bytes, id: id, mapped: mapped, client: client, context: context)
            }
            try Self.checkUnchanged(mapped)
            context.profile.add(bytes: bytes.count)
            let document = FileDocument(
                file: header, id: id, xxh3: xxh3, name: name, size: bytes.count, chunkSize: transfer.chunkSize,
                loadedAt: now, source: source, attributes: attributes)
            try context.profile.measure(.query) {
                _ = try lease.commit(documentKey: documentKey, json: document.json.serialized(), marker: runMarker)
            }
        } catch {
            // The chunks under the final id are this load's only while the claim is.
            if lease.isHeld() { removeChunks(id: id, count: chunkCount, client: client) }
            if let provisional { removeChunks(id: provisional, count: chunkCount, client: client) }
            throw error
        }
        return (.loaded(id: id, name: name, size: bytes.count), repairs)
    }

    /// What the reader repaired or skipped in the header, and what is wrong after it (a file
    /// cut short inside Pixel Data): the notes a load prints for the file.
    static func damage(of header: DicomFile, in bytes: UnsafeRawBufferPointer) -> [String] {
        (header.diagnostics + DicomReader.diagnosticsAfterHeader(bytes, header: header)).map(\.description)
    }

    /// Throws when the file changed while it was read (it shrank, or its size or modification
    /// time differ): what was read from it cannot be stored under its hash.
    static func checkUnchanged(_ file: MappedFile) throws {
        if file.changedSinceOpened { throw LoadFileChanged() }
    }

    /// Files at least this large upload while they are hashed (when no stored file has their
    /// size); smaller ones are hashed first, which costs little and skips the upload of bytes
    /// already stored.
    var overlapThreshold: Int { max(4 << 20, 4 * transfer.chunkSize) }

    /// Whether any stored file may have exactly `size` bytes (only those could hold the same
    /// bytes).
    func anyDocument(ofSize size: Int, client: RedisClient, context: StatementContext) throws -> Bool {
        let reply = try context.profile.measure(.query) {
            try client.send(RedisCommand(compiler.sizeLookupCommand(size)), routedBy: layout.metadataRoutingKey)
        }
        // No answer (no index yet, say): assume there may be one, and hash first.
        guard let total = reply.array?.first?.integer else { return true }
        return total > 0
    }

    /// Writes the chunks of `bytes` under `id` (the caller removes them if anything fails). A
    /// send from a file that shrank meanwhile fails in the kernel (EFAULT, taken for a broken
    /// connection): that is reported as the file's change.
    private func upload(
        _ bytes: UnsafeRawBufferPointer, id: String, mapped: MappedFile, client: RedisClient, context: StatementContext
    ) throws {
        let layout = layout
        let activity = context.activity
        do {
            try context.profile.measure(.transfer) {
                try withExtendedLifetime(mapped) {
                    try transfer.upload(
                        bytes, key: { layout.chunkKey(id: id, index: $0) }, client: client,
                        progress: { activity.add(bytes: $0) }, isCancelled: context.isCancelled)
                }
            }
        } catch {
            if mapped.changedSinceOpened { throw LoadFileChanged() }
            throw error
        }
    }

    /// Moves chunks from their provisional keys to the keys of the file's id (one server only:
    /// RENAME is a pointer move, not a copy, but it cannot cross cluster slots). The caller
    /// holds the id's claim and removes both sets of keys if this fails.
    func rename(from provisional: String, to id: String, count: Int, client: RedisClient) throws {
        try client.pool(forKey: layout.chunkKey(id: id, index: 0)).withConnection { connection in
            for start in stride(from: 0, to: count, by: 1000) {
                let replies = try connection.pipeline(
                    (start..<min(count, start + 1000)).map {
                        RedisCommand(
                            "RENAME", layout.chunkKey(id: provisional, index: $0), layout.chunkKey(id: id, index: $0))
                    })
                for reply in replies {
                    // The provisional chunks are gone: the load stalled past its claim and
                    // `vacuum` took them as an interrupted load's.
                    if let message = reply.errorMessage, message.lowercased().contains("no such key") {
                        throw LoadLeaseError.lost(key: layout.loadingKey(id: provisional), seconds: leaseSeconds)
                    }
                    _ = try reply.checked()
                }
            }
        }
    }

    /// Best effort: deletes the chunks of an unfinished load. Whatever cannot be deleted now
    /// (the server went away) has no document pointing at it, and `vacuum` removes it later.
    func removeChunks(id: String, count: Int, client: RedisClient) {
        _ = try? client.unlink((0..<count).map { layout.chunkKey(id: id, index: $0) })
    }

    /// A file's id: the SHA-256 of its bytes, lower-case hex.
    static func id(of bytes: UnsafeRawBufferPointer) -> String {
        HexDigits.lowercase(SHA256.hash(data: bytes))
    }
}

/// A file that changed while it was loaded.
struct LoadFileChanged: Error, CustomStringConvertible {
    var description: String { "the file changed while it was loaded; nothing was stored" }
}

/// SHA-256 (the id) and XXH3 (the check, see ``ContentCheck``) of a mapped file on a thread of
/// its own, so they can run alongside an upload.
final class HashingThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var digests: (id: String, xxh3: UInt64)?

    /// Starts hashing; the thread keeps `file` mapped until it is done.
    init(_ file: MappedFile) {
        let thread = Thread { [self] in
            let computed = withExtendedLifetime(file) {
                (Loader.id(of: file.buffer), ContentCheck.xxh3(of: file.buffer))
            }
            condition.withLock {
                digests = computed
                condition.broadcast()
            }
        }
        thread.name = "dql.hash"
        thread.start()
    }

    /// The id (SHA-256, hex) and the XXH3, once computed.
    func wait() throws -> (id: String, xxh3: UInt64) {
        condition.withLock {
            while digests == nil { condition.wait() }
            return digests ?? ("", 0)
        }
    }
}

import CSystemCalls
import Crypto
import DicomCore
import Foundation
import RedisIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Fetches stored files to disk: chunks written in place into a temporary file in the target
/// directory, the SHA-256 checked against the id, and only then the file linked into place
/// under its stored name, made safe. A failed or cancelled fetch leaves no file behind.
public struct Fetcher: Sendable {
    public var layout: StorageLayout
    public var connections: Int
    public var window: Int

    public init(layout: StorageLayout, connections: Int = 8, window: Int = 8) {
        self.layout = layout
        self.connections = connections
        self.window = window
    }

    /// What a fetch wrote, or found already there.
    public struct Result: Sendable, Equatable {
        public var id: String
        public var path: String
        public var size: Int
        /// The target directory already held these bytes under this name (or a `_N` variant of
        /// it, as an earlier fetch named it): nothing was transferred or written.
        public var alreadyThere = false

        public init(id: String, path: String, size: Int, alreadyThere: Bool = false) {
            self.id = id
            self.path = path
            self.size = size
            self.alreadyThere = alreadyThere
        }
    }

    /// Fetches file `id` into `directory` (created if needed).
    public func fetch(
        id: String, into directory: String, client: RedisClient, context: StatementContext = StatementContext(),
        names: FetchNames = FetchNames()
    ) throws -> Result {
        let facts = try context.profile.measure(.query) {
            try StoredFacts.read(ids: [id], layout: layout, client: client, fields: names.layout?.fields ?? [])[0]
        }
        try names.check([(id, facts)], in: directory)
        return try fetch(
            id: id, facts: facts, into: directory, client: client, connections: connections, context: context,
            names: names)
    }

    /// Fetches many files into `directory`: a file with enough chunks to keep every connection
    /// busy is fetched alone over all of them; smaller files are fetched several at once, one
    /// connection each. Stops at the first failure; files already written stay (each is whole
    /// and verified). `name`, when given, is the name to write a single file under (the one
    /// it was asked for by, which may be any of the names it was loaded under).
    public func fetchAll(
        ids: [String], into directory: String, client: RedisClient, context: StatementContext = StatementContext(),
        name: String? = nil, names: FetchNames = FetchNames()
    ) throws -> [Result] {
        try fetchAll(
            ids: ids, returned: nil, into: directory, client: client, context: context, name: name, names: names)
    }

    /// ``fetchAll(ids:into:client:context:name:names:)`` for files a search found, with the
    /// attributes it returned for each (`name`, `size`, `$.chunkSize`): when they are all there
    /// and valid, the documents are not read again (one round trip fewer). A fetch layout reads
    /// its fields from the documents, as stored.
    func fetchAll(
        ids: [String], returned: [[String: String]]?, into directory: String, client: RedisClient,
        context: StatementContext = StatementContext(), name: String? = nil, names: FetchNames = FetchNames()
    ) throws -> [Result] {
        let layout = layout
        let known = names.layout == nil ? returned?.compactMap(StoredFacts.init(returned:)) : nil
        let stored =
            try known.flatMap { $0.count == ids.count ? $0 : nil }
            ?? context.profile.measure(.query) {
                try StoredFacts.read(ids: ids, layout: layout, client: client, fields: names.layout?.fields ?? [])
            }
        let facts = stored.map { fact in
            var renamed = fact
            if let name, ids.count == 1 { renamed.name = name }
            return renamed
        }
        try names.check(Array(zip(ids, facts)), in: directory)
        // Added to what earlier pages of the same statement began, so a statement that stops
        // says how many files it fetched in all.
        context.activity.expect(files: ids.count, bytes: facts.reduce(0) { $0 + $1.size })
        var results = [Result?](repeating: nil, count: ids.count)
        let isLarge = facts.map { ($0.size + $0.chunkSize - 1) / $0.chunkSize >= connections }
        for index in ids.indices where isLarge[index] {
            results[index] = try fetch(
                id: ids[index], facts: facts[index], into: directory, client: client, connections: connections,
                context: context, names: names)
            context.activity.finishFile()
        }
        let small = ids.indices.filter { !isLarge[$0] }
        let next = Atomic<Int>(0)
        let collected = Mutex<[Int: Result]>([:])
        let this = self
        // Small files run side by side: their transfer time is the wall time of the lot.
        let sideBySide = StatementContext(
            profile: ProfileRecorder(), activity: context.activity, isCancelled: context.isCancelled)
        let started = ContinuousClock.now
        defer {
            context.profile.add(ContinuousClock.now - started, to: .transfer)
            let parts = sideBySide.profile.profile
            context.profile.add(parts[.write], to: .write)
            context.profile.add(parts[.checksum], to: .checksum)
            context.profile.add(bytes: parts.bytesTransferred)
        }
        _ = try DedicatedThreads.run(count: min(connections, small.count, Self.smallFileWorkers), name: "dql.fetch") {
            _ in
            while !context.isCancelled() {
                let claimed = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard claimed < small.count else { return }
                let index = small[claimed]
                let result: Result
                do {
                    result = try this.fetch(
                        id: ids[index], facts: facts[index], into: directory, client: client, connections: 1,
                        context: sideBySide, names: names)
                } catch {
                    next.store(small.count, ordering: .relaxed)  // the other workers stop claiming
                    throw error
                }
                collected.withLock { $0[index] = result }
                context.activity.finishFile()
            }
            // Cancelled: what is left undone says so below.
        }
        for (index, result) in collected.withLock({ $0 }) { results[index] = result }
        // Cancelled only if something is left undone: a Ctrl-C that lands as the last file is
        // written does not make a finished fetch a failed one.
        if results.contains(where: { $0 == nil }) { throw ChunkTransferError.cancelled }
        return results.compactMap { $0 }
    }

    private func fetch(
        id: String, facts: StoredFacts, into directory: String, client: RedisClient, connections: Int,
        context: StatementContext, names: FetchNames
    ) throws -> Result {
        let (directory, name) = names.target(of: id, facts, in: directory)
        try createDirectories(directory)
        // With `overwrite` the file is wanted under its very name: only that name counts.
        if let path = try context.profile.measure(
            .checksum,
            {
                names.alreadyThere(id, size: facts.size, name: name, in: directory)
            })
        {
            context.activity.add(bytes: facts.size)
            return Result(id: id, path: path, size: facts.size, alreadyThere: true)
        }
        // Small files are written into an anonymous file (O_TMPFILE) that gets its one name when
        // it is whole and verified: one directory operation instead of three (create, link,
        // unlink), which is most of a small file's cost (0.18 s against 0.20 s for 2,000 files
        // of 132 KB, 1.22 s against 1.65 s right after mass deletions). Large files, file
        // systems without O_TMPFILE, and `overwrite` (rename(2) needs a name) use a temporary
        // name.
        let anonymous =
            facts.size < Self.directMinimum && names.existing != .overwrite ? Self.anonymousFile(in: directory) : nil
        let temporary =
            anonymous.map { "/proc/self/fd/\($0)" }
            ?? PathText.join(directory, ".dql-\(id.prefix(16))-\(UUID().uuidString.prefix(8)).part")
        let descriptor = anonymous ?? open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FetchError.cannotWrite(path: directory, reason: systemMessage(errno))
        }
        // The temporary name goes in every case: on success the file lives on under its final
        // name (a hard link), on failure nothing is left (an anonymous file leaves nothing at all).
        defer {
            close(descriptor)
            if anonymous == nil { unlink(temporary) }
        }
        let direct = Self.directDescriptor(temporary, size: facts.size, chunkSize: facts.chunkSize)
        defer { if let direct { close(direct) } }
        // Large files get their blocks allocated up front: direct writes into them run side by
        // side (ext4 serialises direct writes that must allocate blocks: 1.0 s against 0.8 s
        // for a 1 GiB fetch here), and a file that cannot fit fails before the transfer.
        // Where that is not supported the file is sized sparse.
        func noRoom(_ error: Int32) -> Bool { [ENOSPC, EDQUOT, EFBIG].contains(error) }
        func failure(_ error: Int32) -> FetchError {
            let reason = systemMessage(error)
            return noRoom(error)
                ? .noRoom(name: facts.name, size: facts.size, directory: directory, reason: reason)
                : .cannotWrite(path: anonymous == nil ? temporary : PathText.join(directory, name), reason: reason)
        }
        var allocated = false
        if direct != nil {
            allocated = fallocate(descriptor, 0, 0, off_t(facts.size)) == 0
            if !allocated, noRoom(errno) { throw failure(errno) }
        }
        // Sized up front (sparse) so a large file's chunks can land in any order; a small one
        // grows as its chunks are written.
        guard allocated || anonymous != nil || ftruncate(descriptor, off_t(facts.size)) == 0 else {
            throw failure(errno)
        }
        let memory = Self.memoryPlan(chunkSize: facts.chunkSize, size: facts.size, connections: connections)
        let transfer = ChunkTransfer(chunkSize: facts.chunkSize, connections: memory.connections, window: window)
        let storage = layout
        let activity = context.activity
        let chunkSize = facts.chunkSize
        // The hash follows the transfer chunk by chunk, on the very buffers the replies were
        // read into, instead of reading the file afterwards.
        let check = ContentCheck(id: id, xxh3: facts.xxh3)
        let hasher = StreamingHasher(totalSize: facts.size, chunkSize: facts.chunkSize, check: check)
        defer { hasher.cancel() }
        let writeTime = try Self.namingDamage(id: id, name: facts.name, client: client, layout: storage) {
            try context.profile.measure(.transfer) {
                try transfer.download(
                    totalSize: facts.size, key: { storage.chunkKey(id: id, index: $0) }, client: client,
                    buffersPerConnection: memory.buffers,
                    progress: { activity.add(bytes: $0) }, isCancelled: context.isCancelled,
                    abandon: { hasher.abandon() }
                ) { loan in
                    // Whole blocks go around the page cache; a short last chunk goes through it.
                    let aligned = loan.bytes.count % Self.directAlignment == 0
                    try writeFully(aligned ? direct ?? descriptor : descriptor, loan.bytes, at: loan.index * chunkSize)
                    hasher.add(loan)
                }
            }
        }
        context.profile.add(writeTime, to: .write)
        context.profile.add(bytes: facts.size)
        let digest = try context.profile.measure(.checksum) { try hasher.finish() }
        guard digest == check.expected else {
            throw FetchError.checksumMismatch(id: id, found: digest, name: facts.name)
        }
        let final = try names.place(temporary, id: id, into: directory, name: name)
        var written = stat()
        if lstat(final, &written) == 0 {
            Self.remember(id, of: final, FileVersion(written))
            let key = Self.variantsKey(directory, name, size: facts.size)
            Self.variants.withLock { index in
                if index[key]?[id] == nil { index[key, default: [:]][id] = final }
            }
        }
        return Result(id: id, path: final, size: facts.size)
    }

    /// Runs a file's transfer; a chunk that is missing or the wrong length is told as the
    /// file's damage, by name, or as its deletion when its document is gone too (another
    /// client deleted it while this fetch read it).
    static func namingDamage<Result>(
        id: String, name: String, client: RedisClient, layout: StorageLayout, _ body: () throws -> Result
    ) throws -> Result {
        do {
            return try body()
        } catch let error as ChunkTransferError where error != .cancelled {
            let documentKey = (try? layout.documentKeys(ids: [id], client: client))?[id]
            let exists =
                documentKey.map { key in
                    (try? client.call(RedisCommand("EXISTS", key), routedBy: key).integer) ?? nil
                } ?? 0
            if exists == 0 { throw FetchError.deletedWhileFetching(id: id, name: name) }
            throw FetchError.damagedChunks(id: id, name: name, detail: error.description)
        }
    }

    /// Connections and receive buffers for one file. Chunks waiting for the hash hold their
    /// buffers, so a connection can run ahead of the hash by its buffers: about 32 MiB of them
    /// in all, 2 to 16 a connection, and at most 128 MiB however large the chunks (fewer
    /// connections for large ones; one connection and one buffer for a chunk of 32 MiB or
    /// more, as a store written with huge chunks can hold). A buffer is never larger than the
    /// file.
    static func memoryPlan(chunkSize: Int, size: Int, connections: Int) -> (connections: Int, buffers: Int) {
        let chunk = max(1, min(chunkSize, size))
        if chunk >= 32 << 20 { return (1, 1) }
        let usable = max(1, min(connections, (128 << 20) / (2 * chunk)))
        return (usable, max(2, min(16, (32 << 20) / (chunk * usable))))
    }

    /// How many small files are fetched at once, at most: twice the cores. A small file's
    /// fetch is mostly work on this machine (hashing, copying, the file system creating it),
    /// so more at once than that only contend: 2,000 files of 132 KB on 2 cores took
    /// 0.36–0.45 s with 4 at once against 0.41–0.53 s with 8 (and 0.47–0.65 s with 2).
    static let smallFileWorkers = max(2, 2 * ProcessInfo.processInfo.activeProcessorCount)

    /// Files this large are written around the page cache (and with a temporary name).
    static let directMinimum = 8 << 20

    /// An unnamed file in `directory` (O_TMPFILE), or nil where the file system has none.
    static func anonymousFile(in directory: String) -> Int32? {
        let descriptor = open(directory, Int32(__O_TMPFILE) | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o644)
        return descriptor >= 0 ? descriptor : nil
    }

    /// Block size for direct I/O: offsets, lengths and buffers must be multiples of it.
    static let directAlignment = 4096

    /// A second descriptor with O_DIRECT for large files with block-aligned chunks: writing a
    /// large new file through the page cache makes the kernel allocate a page per 4 KiB under
    /// the file's lock, which on virtual machines can cost more than the network transfer.
    /// Nil where it does not apply or the file system refuses it (tmpfs); then all writes go
    /// through the page cache.
    static func directDescriptor(_ path: String, size: Int, chunkSize: Int) -> Int32? {
        guard size >= directMinimum, chunkSize % directAlignment == 0 else { return nil }
        let descriptor = open(path, O_WRONLY | O_CLOEXEC | Int32(__O_DIRECT))
        return descriptor >= 0 ? descriptor : nil
    }

    /// The file in `directory` that already holds file `id`'s bytes under `name` or one of the
    /// `stem_N.ext` names a fetch gives when a name is taken, if any: same size, then the same
    /// SHA-256. The names in use are indexed by digest once per directory and name (each file
    /// read once, only those of the right size), so an archive whose series all hold an
    /// `IM00000.dcm` costs one pass, not one per file; fetching the same files into the same
    /// directory again writes nothing new.
    static func identicalFile(named name: String, in directory: String, id: String, size: Int) -> String? {
        let key = variantsKey(directory, name, size: size)
        if let indexed = variants.withLock({ $0[key] }) {
            // Indexed on an earlier look in this process, and kept up to date with what it
            // wrote since.
            guard let path = indexed[id] else { return nil }
            if let same = sameFile(at: path, id: id, size: size) { return same }
            _ = variants.withLock { $0[key]?.removeValue(forKey: id) }
            return nil
        }
        // The first look at this name here: index the names in use, up to the first free one.
        var byDigest: [String: String] = [:]
        let (stem, ext) = PathText.splitExtension(name)
        for attempt in 1... {
            let candidate = attempt == 1 ? name : stem + "_\(attempt)" + (ext.isEmpty ? "" : "." + ext)
            let path = PathText.join(directory, candidate)
            var status = stat()
            guard lstat(path, &status) == 0 else { break }
            guard status.st_mode & S_IFMT == S_IFREG, Int(status.st_size) == size,
                let digest = digest(of: path, status), byDigest[digest] == nil
            else { continue }
            byDigest[digest] = path
        }
        variants.withLock { index in
            if index.count > 100_000 { index.removeAll() }
            index[key, default: [:]].merge(byDigest) { kept, _ in kept }
        }
        return byDigest[id]
    }

    /// `path` if it is a regular file holding file `id`'s bytes (same size, then SHA-256).
    static func sameFile(at path: String, id: String, size: Int) -> String? {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG, Int(status.st_size) == size,
            digest(of: path, status) == id
        else { return nil }
        return path
    }

    /// Per target path (`directory/name`) and size: the files under it and its `_N` names of
    /// that size, by digest.
    /// Indexed per size too: only files of a file's size can hold its bytes, and files that
    /// share a name may differ in size (a series's `IM00000.dcm` in several transfer syntaxes).
    private static let variants = Mutex<[String: [String: String]]>([:])

    static func variantsKey(_ directory: String, _ name: String, size: Int) -> String {
        PathText.join(directory, name) + "#\(size)"
    }

    /// What identifies a file's version cheaply: a file whose inode, size and modification
    /// time are unchanged still has the digest it had.
    struct FileVersion: Hashable {
        var inode: UInt
        var size: Int
        var seconds: Int
        var nanoseconds: Int

        init(_ status: stat) {
            inode = UInt(status.st_ino)
            size = Int(status.st_size)
            seconds = status.st_mtim.tv_sec
            nanoseconds = status.st_mtim.tv_nsec
        }
    }

    /// Digests of files this process wrote or read, by path: files that share a name (every
    /// series has its `IM00000.dcm`) are compared with many candidates, and each is hashed at
    /// most once, not once per comparison.
    private static let knownDigests = Mutex<[String: (version: FileVersion, digest: String)]>([:])

    static func digest(of path: String, _ status: stat) -> String? {
        let version = FileVersion(status)
        if let known = knownDigests.withLock({ $0[path] }), known.version == version { return known.digest }
        guard let file = try? MappedFile(path: path) else { return nil }
        let digest = withExtendedLifetime(file) { Loader.id(of: file.buffer) }
        remember(digest, of: path, version)
        return digest
    }

    static func remember(_ digest: String, of path: String, _ version: FileVersion) {
        knownDigests.withLock { known in
            if known.count > 200_000 { known.removeAll() }
            known[path] = (version, digest)
        }
    }

    /// Links `temporary` into `directory` as `name`, or `stem_2.ext`, `stem_3.ext`, … if taken;
    /// link(2) never replaces an existing file.
    /// Where to start looking for a free name: an archive fetched into one directory repeats
    /// names (every series has its `IM00000.dcm`), and trying `_2`, `_3`, … from the start for
    /// each file made a fetch of 2,000 slices spend most of its time in link(2). Only a hint:
    /// link(2) still decides.
    private static let nextAttempt = Mutex<[String: Int]>([:])

    /// `besideOnly`: never the name itself (it belongs to another file of the statement).
    static func link(
        _ temporary: String, into directory: String, name: String, besideOnly: Bool = false
    ) throws
        -> String
    {
        let (stem, ext) = PathText.splitExtension(name)
        let target = PathText.join(directory, name)
        // The name itself first (unless it is another file's), then from where the last free
        // `_N` was found.
        let hint = max(nextAttempt.withLock { $0[target] } ?? 2, 2)
        var attempt = besideOnly ? hint : 1
        while attempt < hint + 10_000 {
            let candidate = attempt == 1 ? name : stem + "_\(attempt)" + (ext.isEmpty ? "" : "." + ext)
            let path = PathText.join(directory, candidate)
            // Following the link: an anonymous file is named through /proc/self/fd/N.
            if linkat(AT_FDCWD, temporary, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 {
                if attempt > 1 {
                    nextAttempt.withLock { hints in
                        if hints.count > 100_000 { hints.removeAll() }
                        hints[target] = max(hints[target] ?? 2, attempt + 1)
                    }
                }
                return path
            }
            guard errno == EEXIST else {
                throw FetchError.cannotWrite(path: path, reason: systemMessage(errno))
            }
            attempt = attempt == 1 ? hint : attempt + 1
        }
        throw FetchError.cannotWrite(path: directory, reason: "no free name for \(name)")
    }
}

/// The names one statement's fetch writes, and what it does where a different file already
/// has one: files of the statement that share a name (every series's `IM00000.dcm`) are
/// written side by side as `NAME_2.dcm`, …; a file that was there before is refused (nothing
/// is fetched), replaced, or written beside, as `existing` says.
public final class FetchNames: Sendable {
    public let existing: ExistingFiles
    /// Where under the directory each file goes; nil: its stored name, in the directory.
    public let layout: FetchTemplate?
    /// `directory/name` paths this statement writes, each with the file that has it: the first
    /// of the statement's files (in result order) to go there. The others that would go there
    /// too are written beside it (`NAME_2.dcm`, …), so a layout that gives several files one
    /// name never has them replace each other, `overwrite` or not, however often it is run.
    private let owners = Mutex<[String: String]>([:])

    public init(existing: ExistingFiles = .refuse, layout: FetchTemplate? = nil) {
        self.existing = existing
        self.layout = layout
    }

    /// The directory and name file `id` is written to under `directory`.
    func target(of id: String, _ facts: StoredFacts, in directory: String) -> (directory: String, name: String) {
        guard let layout else { return (directory, facts.safeName(id: id)) }
        let path = layout.path(values: facts.values, fallback: facts.safeName(id: id))
        guard let slash = path.lastIndex(of: "/") else { return (directory, path) }
        return (PathText.join(directory, String(path[..<slash])), String(path[path.index(after: slash)...]))
    }

    /// Whether file `id` has `path` (the first to claim it; a path nobody claimed is its own).
    func owns(_ path: String, _ id: String) -> Bool {
        owners.withLock { owners in
            if let owner = owners[path] { return owner == id }
            owners[path] = id
            return true
        }
    }

    /// Claims each file's path in order, then throws, before anything is fetched, if any file
    /// would go where something else already is: with `refuse`, anything but a file with the
    /// same bytes (recognised, not in the way); with `overwrite`, a directory (files are
    /// replaced, directories are not). A file that goes beside another of the statement's is
    /// never in the way.
    func check(_ files: [(id: String, facts: StoredFacts)], in root: String) throws {
        var inTheWay: [FetchError.Entry] = []
        for (id, facts) in files {
            let (directory, name) = target(of: id, facts, in: root)
            let path = PathText.join(directory, name)
            guard owns(path, id), existing != .rename else { continue }
            var status = stat()
            guard lstat(path, &status) == 0 else { continue }
            let kind = status.st_mode & S_IFMT
            if existing == .overwrite {
                if kind == S_IFDIR { throw FetchError.cannotWrite(path: path, reason: "it is a directory") }
                continue
            }
            guard Fetcher.identicalFile(named: name, in: directory, id: id, size: facts.size) == nil else { continue }
            let shown = layout == nil ? name : String(path.dropFirst(PathText.join(root, "").count))
            guard !inTheWay.contains(where: { $0.name == shown }) else { continue }
            inTheWay.append(FetchError.Entry(name: shown, kind: kind == S_IFREG ? nil : fileKind(status.st_mode)))
        }
        if !inTheWay.isEmpty { throw FetchError.differentFilesThere(directory: root, entries: inTheWay) }
    }

    /// Whether a file already there under `name` (or, for a file that goes beside another, one
    /// of its `_N` names) has file `id`'s bytes: with `overwrite` the file that has the name
    /// wants that very name.
    func alreadyThere(_ id: String, size: Int, name: String, in directory: String) -> String? {
        let path = PathText.join(directory, name)
        if existing == .overwrite && owns(path, id) { return Fetcher.sameFile(at: path, id: id, size: size) }
        return Fetcher.identicalFile(named: name, in: directory, id: id, size: size)
    }

    /// Puts the verified `temporary` file into `directory` as `name`: over an older file with
    /// `overwrite` when this file has the name (rename(2), atomic), else with link(2), which
    /// never replaces one (then as `NAME_2.dcm`, … if the name is taken).
    func place(_ temporary: String, id: String, into directory: String, name: String) throws -> String {
        let path = PathText.join(directory, name)
        let owner = owns(path, id)
        var status = stat()
        guard existing == .overwrite && owner && lstat(path, &status) == 0 else {
            // The name is its owner's even while the owner is still on its way.
            return try Fetcher.link(temporary, into: directory, name: name, besideOnly: !owner)
        }
        guard status.st_mode & S_IFMT != S_IFDIR else {
            throw FetchError.cannotWrite(path: path, reason: "it is a directory")
        }
        guard Glibc.rename(temporary, path) == 0 else {
            throw FetchError.cannotWrite(path: path, reason: systemMessage(errno))
        }
        return path
    }
}

/// Why a fetch failed.
public enum FetchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How a stored file whose chunks are damaged is mended: loading it again finds its
    /// document and stores nothing, so the document goes first.
    public static func mending(id: String) -> String {
        "to mend it, `delete where id = '\(id)'` and load the file again"
    }

    case notFound(id: String)
    case damagedDocument(id: String, reason: String)
    case checksumMismatch(id: String, found: String, name: String = "")
    /// A chunk of the file is missing or has the wrong length (`detail` says which).
    case damagedChunks(id: String, name: String, detail: String)
    /// The file was deleted by someone else while this fetch read it.
    case deletedWhileFetching(id: String, name: String)
    case cannotWrite(path: String, reason: String)
    /// The file would not fit where it was to go (found before any byte was fetched).
    case noRoom(name: String, size: Int, directory: String, reason: String)
    /// Other files (or directories, links, …) already have names the fetch would write
    /// (nothing was fetched).
    case differentFilesThere(directory: String, entries: [Entry])

    /// Something in the way of a fetch: its name, and what it is unless a regular file.
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// `a directory`, `a symbolic link`, …; nil for a regular file.
        public var kind: String?

        public init(name: String, kind: String? = nil) {
            self.name = name
            self.kind = kind
        }
    }

    public var description: String {
        switch self {
        case .notFound(let id): "no stored file with id \(id)"
        case .damagedDocument(let id, let reason): "the document of \(id) is damaged: \(reason)"
        case .checksumMismatch(let id, let found, let name):
            "checksum mismatch for \(name.isEmpty ? id : "\(name) (\(id))"): the stored chunks hash to \(found); nothing was written for it; \(Self.mending(id: id))"
        case .damagedChunks(let id, let name, let detail):
            "\(name) (\(id)) cannot be fetched: \(detail); nothing was written for it; \(Self.mending(id: id))"
        case .deletedWhileFetching(let id, let name):
            "\(name) (\(id)) was deleted while it was being fetched; nothing was written for it"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .noRoom(let name, let size, let directory, let reason):
            "no room for \(name) (\(size) bytes) in \(directory): \(reason); nothing was written"
        case .differentFilesThere(let directory, let entries):
            "\(directory) already has "
                + (entries.count == 1
                    ? "\(entries[0].kind ?? "a different file") named \(entries[0].name)"
                    : "other files under the names "
                        + entries.prefix(5).map { $0.name + ($0.kind.map { " (\($0))" } ?? "") }.joined(separator: ", ")
                        + (entries.count > 5 ? " and \(entries.count - 5) more" : ""))
                + "; nothing was fetched. "
                // overwrite replaces files, never a directory.
                + (entries.contains { $0.kind == "a directory" }
                    ? "Add rename to write beside "
                    : "Add overwrite to replace \(entries.count == 1 ? "it" : "them"), or rename to write beside ")
                + (entries.count == 1 ? "it" : "them") + " (NAME_2.dcm)"
        }
    }
}

/// What a fetch needs from the metadata document.
struct StoredFacts: Sendable {
    var name: String
    var size: Int
    var chunkSize: Int
    /// The XXH3 its bytes are checked against, when its document has one (see ``ContentCheck``).
    var xxh3: UInt64?
    /// Values of the fields a fetch layout reads, as rows show them.
    var values: [Field: String] = [:]

    /// The name the file is written under: its stored name made safe, or its id's start.
    func safeName(id: String) -> String {
        SafeName.make(name, fallback: String(id.prefix(16)) + ".dcm")
    }

    /// The largest value Redis stores (proto-max-bulk-len's default): no chunk can be larger.
    static let largestChunk = 512 << 20

    /// The facts of each of `ids`, in one pipeline to the metadata server.
    static func read(
        ids: [String], layout: StorageLayout, client: RedisClient, fields: [Field] = []
    ) throws
        -> [StoredFacts]
    {
        let located = try layout.documentKeys(ids: ids, client: client)
        let keys = ids.map { located[$0] ?? layout.documentKey(id: $0) }
        let paths =
            ["$.name", "$.size", "$.chunkSize", "$.xxh3"]
            + fields.map(\.path).filter { !["$.name", "$.size"].contains($0) }
        let replies = try client.pipeline(
            keys.map { RedisCommand(["JSON.GET", $0] + paths) }, routedBy: keys)
        return try zip(ids, replies).map { id, reply in try read(id: id, reply: reply.checked(), fields: fields) }
    }

    static func read(id: String, reply: RedisReply, fields: [Field] = []) throws -> StoredFacts {
        guard let text = reply.string, text != "{}" else { throw FetchError.notFound(id: id) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [Any]],
            var facts = StoredFacts(
                name: object["$.name"]?.first as? String, size: object["$.size"]?.first as? Int,
                chunkSize: object["$.chunkSize"]?.first as? Int)
        else { throw FetchError.damagedDocument(id: id, reason: "name, size or chunkSize missing or invalid") }
        facts.xxh3 = ContentCheck.recordedXXH3(jsonValue: object["$.xxh3"]?.first)
        for field in fields {
            guard let value = object[field.path]?.first, !(value is NSNull) else { continue }
            // Several values as DICOM writes them, `a\\b`.
            let raw = (value as? String) ?? (value as? [Any])?.map { "\($0)" }.joined(separator: "\\") ?? "\(value)"
            facts.values[field] = Executor.display(field, [field.attribute: raw]) ?? raw
        }
        return facts
    }
}

extension StoredFacts {
    /// Facts a fetch can act on, or nil: a size that is not negative, a positive chunk size, and
    /// no chunk larger than Redis stores.
    init?(name: String?, size: Int?, chunkSize: Int?) {
        guard let name, let size, let chunkSize, size >= 0, chunkSize > 0, min(chunkSize, size) <= Self.largestChunk
        else { return nil }
        self.init(name: name, size: size, chunkSize: chunkSize)
    }

    /// What a search returns for each file a fetch takes from its rows.
    static let returnedAttributes = ["sha256", "name", "size", "$.chunkSize", "$.xxh3"]

    /// The facts of a file from the attributes a search returned (``returnedAttributes``), or
    /// nil when one is missing or out of range (then its document is read).
    init?(returned attributes: [String: String]) {
        self.init(
            name: attributes["name"], size: attributes["size"].flatMap { Int($0) },
            chunkSize: attributes["$.chunkSize"].flatMap { Int($0) })
        xxh3 = ContentCheck.recordedXXH3(attributes["$.xxh3"])
    }
}

/// File names from stored names that can never point outside the target directory.
enum SafeName {
    /// The last path component of `stored`, without control characters; `fallback` if nothing
    /// usable is left (empty, `.`, `..`). A backslash is kept: on this system it is part of a
    /// file's name (`back\slash.dcm` was loaded under that name), not a separator.
    static func make(_ stored: String, fallback: String) -> String {
        // The common case, a plain printable ASCII name, as it is (checked byte by byte: this
        // runs for every file fetched).
        let bytes = stored.utf8
        if bytes.count <= 200, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x2F }),
            stored != ".", stored != "..", !stored.hasPrefix(".dql-"), !stored.isEmpty
        {
            return stored
        }
        let last = stored.split(separator: "/").last.map(String.init) ?? ""
        var cleaned = String(String.UnicodeScalarView(last.unicodeScalars.filter { !isUnsafeOnATerminal($0) }))
        while cleaned.utf8.count > 200 { cleaned.removeFirst() }
        if cleaned.isEmpty || cleaned == "." || cleaned == ".." || cleaned.hasPrefix(".dql-") { return fallback }
        return cleaned
    }
}

import DicomCore
import Foundation
import RedisIO

/// Storing a batch of small prepared files with a few round trips for the whole batch: claims
/// (one pipeline, which also finds the documents already there), the chunks of every claimed
/// file as one transfer (the connections stay busy across the files), documents written with
/// their claims given back (one) and new source paths (one, when there are any). The
/// guarantees are those of a single file: chunks before the
/// document, one load per id at a time, the same bytes twice is a no-op, and a cancel or a
/// lost connection removes the chunks of every file not yet committed.
extension Loader {
    /// What became of one file of a batch.
    enum BatchResult {
        case done(Outcome, path: String, repairs: [String])
        /// Another load holds its id, or it needs a second look: loaded alone, after the batch.
        case alone(path: String)
        /// Its id is in the batch stored beside this one: recorded as a copy once that batch
        /// has stored it (or loaded alone if it did not).
        case after(PreparedFile)
    }

    /// At most this many names and source paths are kept per file: 3,000 copies of one file
    /// made a document of 224 KB, re-indexed at every name (134 MB of index for one file).
    static let maximumNames = 256

    /// Adds paths and names (ARGV: path, name, path, name, …) to a document's `sources` (a
    /// string while it holds one path, see ``FileDocument/sources``) and
    /// `names`, each unless recorded already and up to ARGV[#ARGV] entries, in one write (the
    /// index re-indexes a document at every write to it). Returns how many names it left out
    /// for the limit (-3: a `migrate` has begun).
    static let appendSourceScript = """
        if #KEYS > 1 then
          local placement = redis.call('GET', KEYS[2])
          if placement and placement ~= 'single' then return -3 end
        end
        local found = redis.call('JSON.GET', KEYS[1], '$.sources', '$.names')
        if not found then return 0 end
        local current = cjson.decode(found)
        local sources = (current['$.sources'] or {})[1] or {}
        if type(sources) == 'string' then sources = {sources} end
        local names = (current['$.names'] or {})[1] or {}
        local limit = tonumber(ARGV[#ARGV])
        local known = {}
        for _, value in ipairs(sources) do known['s' .. value] = true end
        for _, value in ipairs(names) do known['n' .. value] = true end
        local changed = false
        local left = 0
        for i = 1, #ARGV - 1, 2 do
          if not known['s' .. ARGV[i]] and #sources < limit then
            table.insert(sources, ARGV[i]); known['s' .. ARGV[i]] = true; changed = true
          end
          if not known['n' .. ARGV[i + 1]] then
            if #names < limit then
              table.insert(names, ARGV[i + 1]); changed = true
            else
              left = left + 1
            end
            known['n' .. ARGV[i + 1]] = true
          end
        end
        if changed then
          local stored = sources
          if #sources == 1 then stored = sources[1] end
          redis.call('JSON.MSET', KEYS[1], '$.sources', cjson.encode(stored), KEYS[1], '$.names', cjson.encode(names))
        end
        return left
        """

    /// Adds each source path to its document's `sources` and its name to `names`: one script
    /// per document (one write however many files share its bytes), in one round trip. Names
    /// past ``maximumNames`` are not recorded, which `context` is told once.
    func appendSources(
        _ sources: [(documentKey: String, source: String, name: String)], client: RedisClient,
        context: StatementContext
    ) throws {
        guard !sources.isEmpty else { return }
        var order: [String] = []
        var pairs: [String: [String]] = [:]
        // A `{m}` document is not written once a `migrate` has begun (see
        // ``LoadLease/commitWhileRunningScript``): its copy would lack the name.
        let watched = layout.placement == .single ? [layout.placementKey] : []
        for (documentKey, source, name) in sources {
            if pairs[documentKey] == nil { order.append(documentKey) }
            pairs[documentKey, default: []] += [source, name]
        }
        let replies = try client.pipeline(
            order.map { key in
                RedisCommand(
                    ["EVAL", Self.appendSourceScript] + (watched.isEmpty ? ["1", key] : ["2", key] + watched)
                        + (pairs[key] ?? []) + [String(Self.maximumNames)])
            },
            routedBy: order)
        var left = 0
        for reply in replies {
            let value = try reply.checked().integer ?? 0
            if value == -3 { throw LoadLease.migrationBegun(endpoint: client.configuration.url.endpoint) }
            left += max(0, Int(value))
        }
        if left > 0 {
            context.note(
                "names not recorded: a file's bytes keep at most \(Self.maximumNames) names and sources, and copies past"
                    + " that are counted as already stored but cannot be found by their own names")
        }
    }

    /// Stores the files of one batch; results in the batch's order. Files whose ids are in
    /// `beside` (the batch being stored at the same time) are left for after it (``BatchResult/after(_:)``).
    func store(
        batch: [Result<PreparedFile, LoadPipeline.LoadFailure>], beside: Set<String> = [], keeper: LeaseKeeper,
        client: RedisClient, context: StatementContext
    ) throws -> [BatchResult] {
        var results = [BatchResult?](repeating: nil, count: batch.count)
        // The first file of each id writes it; later ones with the same bytes follow it.
        var writers: [(position: Int, file: PreparedFile)] = []
        var followers: [(position: Int, file: PreparedFile)] = []
        var seen: Set<String> = []
        for (position, prepared) in batch.enumerated() {
            switch prepared {
            case .failure(let failure):
                results[position] = .done(
                    .failed(path: failure.path, reason: failure.reason), path: failure.path, repairs: [])
            case .success(let file):
                if beside.contains(file.id) {
                    results[position] = .after(file)
                } else if seen.insert(file.id).inserted {
                    writers.append((position, file))
                } else {
                    followers.append((position, file))
                }
            }
        }
        let layout = layout
        // A claim finds a document already there as well: no separate look first.
        let claims = try context.profile.measure(.query) {
            try keeper.claim(
                writers.map {
                    (
                        layout.loadingKey(id: $0.file.id, study: $0.file.studyUid),
                        layout.documentKey(id: $0.file.id, study: $0.file.studyUid)
                    )
                })
        }
        var stored: [(position: Int, file: PreparedFile)] = []
        var claimed: [(position: Int, file: PreparedFile)] = []
        for (writer, claim) in zip(writers, claims) {
            switch claim {
            case .claimed: claimed.append(writer)
            case .stored: stored.append(writer)
            case .busy: results[writer.position] = .alone(path: writer.file.path)
            }
        }
        // Until committed, a claimed file's chunks are removed if anything goes wrong.
        var uncommitted = claimed
        func abandon(_ files: [(position: Int, file: PreparedFile)]) {
            guard !files.isEmpty else { return }
            removeChunks(of: files.map(\.file), client: client)
            keeper.release(files.map { layout.loadingKey(id: $0.file.id, study: $0.file.studyUid) })
        }
        do {
            let uploaded = try uploadChunks(of: claimed, client: client, context: context, results: &results)
            let kept = Set(uploaded.map(\.position))
            // Those to be loaded alone give their claims back first (or they would wait for them).
            keeper.release(
                claimed.filter { !kept.contains($0.position) }.map {
                    layout.loadingKey(id: $0.file.id, study: $0.file.studyUid)
                })
            claimed = uploaded
            uncommitted = claimed
            // The hash is of the bytes as they were read: worthless if a file changed since.
            // Asked once: a file that changed between two askings was dropped from the commit
            // with no result (reported under an empty name) and its chunks left behind.
            let changed = claimed.filter { $0.file.mapped.changedSinceOpened }
            let changedPositions = Set(changed.map(\.position))
            abandon(changed)
            for (position, file) in changed {
                results[position] = .done(
                    .failed(path: file.path, reason: LoadFileChanged().description), path: file.path, repairs: [])
            }
            claimed.removeAll { changedPositions.contains($0.position) }
            uncommitted = claimed
            let documents = claimed.map { _, file in
                (
                    key: layout.loadingKey(id: file.id, study: file.studyUid),
                    documentKey: layout.documentKey(id: file.id, study: file.studyUid),
                    json: file.document
                )
            }
            let replies = try context.profile.measure(.query) { try keeper.commitAndRelease(documents) }
            var refusal: RedisError?
            var failed: [(position: Int, file: PreparedFile)] = []
            for ((position, file), reply) in zip(claimed, replies) {
                let outcome: Outcome
                if let message = reply.errorMessage {
                    let error = RedisError(.server, endpoint: "", message)
                    if error.serverErrorCode.map(Self.refusalsForEveryFile.contains) == true { refusal = error }
                    failed.append((position, file))
                    outcome = .failed(path: file.path, reason: message)
                } else if reply.integer == -1 {
                    // Another load (or vacuum) took over the id: the chunks are no longer ours.
                    outcome = .failed(
                        path: file.path, reason: LoadLeaseError.lost(key: "", seconds: keeper.seconds).description)
                } else if reply.integer == 0 {
                    outcome = .alreadyLoaded(id: file.id, name: file.name)
                } else {
                    context.profile.add(bytes: file.mapped.buffer.count)
                    outcome = .loaded(id: file.id, name: file.name, size: file.mapped.buffer.count)
                }
                results[position] = .done(outcome, path: file.path, repairs: file.repairs)
            }
            uncommitted = failed
            abandon(failed)
            uncommitted = []
            if let refusal { throw refusal }
        } catch {
            // A server that stopped answering would make every clean-up wait out its timeout
            // (a batch's worth of minutes): its claims expire instead, and `vacuum` removes
            // the chunks.
            if (error as? RedisError)?.isConnectionFailure != true { abandon(uncommitted) }
            throw error
        }
        // Files whose bytes were stored already (by another load, or by this batch): only
        // their paths are new.
        let storedIds = Set(
            results.compactMap { result -> String? in
                guard case .done(let outcome, _, _) = result else { return nil }
                switch outcome {
                case .loaded(let id, _, _), .alreadyLoaded(let id, _): return id
                case .failed: return nil
                }
            }
        ).union(stored.map(\.file.id))
        let copies = stored + followers
        let recorded = try recordCopies(copies.map(\.file), stored: storedIds, client: client, context: context)
        for ((position, _), result) in zip(copies, recorded) { results[position] = result }
        // Every file has its result by now; one that had none would be loaded alone.
        return zip(batch, results).map { prepared, result in
            switch prepared {
            case .success(let file): result ?? .alone(path: file.path)
            case .failure(let failure): result ?? .alone(path: failure.path)
            }
        }
    }

    /// Files whose bytes are stored (their ids in `stored`) are recorded as already there, their
    /// names and sources added in one write; the others are to be loaded alone. Results in the
    /// files' order.
    func recordCopies(
        _ files: [PreparedFile], stored: Set<String>, client: RedisClient, context: StatementContext
    ) throws -> [BatchResult] {
        var sources: [(documentKey: String, source: String, name: String)] = []
        let results = files.map { file -> BatchResult in
            guard stored.contains(file.id) else { return .alone(path: file.path) }
            context.activity.add(bytes: file.mapped.buffer.count)
            sources.append((layout.documentKey(id: file.id, study: file.studyUid), file.source, file.name))
            return .done(.alreadyLoaded(id: file.id, name: file.name), path: file.path, repairs: file.repairs)
        }
        try context.profile.measure(.query) { try appendSources(sources, client: client, context: context) }
        return results
    }

    /// Best effort: deletes the chunks of unfinished files, in one deletion for the lot (what
    /// cannot be deleted now is left to `vacuum`).
    func removeChunks(of files: [PreparedFile], client: RedisClient) {
        _ = try? client.unlink(
            files.flatMap { file in
                (0..<transfer.chunkCount(totalSize: file.mapped.buffer.count)).map {
                    layout.chunkKey(id: file.id, index: $0)
                }
            })
    }

    /// Uploads the chunks of `files` as one transfer and returns the files to commit. A file
    /// that shrank under the send (EFAULT, taken for a broken connection) is marked failed and
    /// the others are loaded alone; any other failure is thrown.
    private func uploadChunks(
        of files: [(position: Int, file: PreparedFile)], client: RedisClient, context: StatementContext,
        results: inout [BatchResult?]
    ) throws -> [(position: Int, file: PreparedFile)] {
        guard !files.isEmpty else { return [] }
        let layout = layout
        let activity = context.activity
        let parts = files.map { _, file in
            let id = file.id
            return UploadPart(file.mapped.buffer) { layout.chunkKey(id: id, index: $0) }
        }
        do {
            try context.profile.measure(.transfer) {
                try withExtendedLifetime(files) {
                    try transfer.upload(
                        parts, client: client, progress: { activity.add(bytes: $0) }, isCancelled: context.isCancelled)
                }
            }
            return files
        } catch {
            guard files.contains(where: { $0.file.mapped.changedSinceOpened }) else { throw error }
            removeChunks(of: files.map(\.file), client: client)
            for (position, file) in files {
                results[position] =
                    file.mapped.changedSinceOpened
                    ? .done(
                        .failed(path: file.path, reason: LoadFileChanged().description), path: file.path, repairs: [])
                    : .alone(path: file.path)
            }
            return []
        }
    }
}

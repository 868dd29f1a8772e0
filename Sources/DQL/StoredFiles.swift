import DicomCore
import Foundation
import RedisIO

/// A stored file as a server handing out DICOM needs it (DICOMweb): its id, where its bytes
/// are, and the UIDs that place it in the hierarchy.
public struct StoredFile: Sendable, Hashable {
    /// SHA-256 of its bytes: its id.
    public var id: String
    /// The name it was first loaded under.
    public var name: String
    public var size: Int
    public var chunkSize: Int
    /// Bytes of header at the start of the file (nil for documents of layout 1).
    public var headerLength: Int?
    public var studyUid: String?
    public var seriesUid: String?
    public var sopUid: String?
    public var sopClass: String?
    /// The Transfer Syntax UID of its file meta information.
    public var transferSyntax: String?
    /// The XXH3 its bytes are checked against, when its document has one.
    public var xxh3: UInt64?

    /// What its bytes are checked against.
    public var check: ContentCheck { ContentCheck(id: id, xxh3: xxh3) }

    /// The document members read for it, by field name, and the JSON paths they come from.
    static let members: [(field: String, path: String)] = [
        ("name", "$.name"), ("size", "$.size"), ("chunkSize", "$.chunkSize"), ("headerLength", "$.headerLength"),
        ("studyUid", "$.studyUid"), ("seriesUid", "$.seriesUid"), ("sopUid", "$.sopUid"), ("sopClass", "$.sopClass"),
        ("transferSyntax", "$.transferSyntax"), ("xxh3", "$.xxh3"),
    ]

    /// From the reply of `JSON.GET key path…` with the paths of ``members``: each path's
    /// first value, read as FT.SEARCH would return it.
    init?(id: String, reply: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: [Any]] else {
            return nil
        }
        var attributes: [String: String] = [:]
        for (path, values) in object {
            switch values.first {
            case let text as String: attributes[path] = text
            case let number as NSNumber: attributes[path] = number.stringValue
            case let list as [Any]: attributes[path] = (list.first as? String) ?? (list.first as? NSNumber)?.stringValue
            default: continue
            }
        }
        self.init(id: id, attributes: attributes)
    }

    /// From the attributes FT.SEARCH returned for the paths of ``members`` (a list, for a
    /// damaged header's multi-valued UID, is placed by its first value).
    init?(id: String, attributes: [String: String]) {
        func text(_ field: String) -> String? {
            guard let path = Self.members.first(where: { $0.field == field })?.path else { return nil }
            return Executor.storedValues(attributes[path]).first
        }
        guard let size = text("size").flatMap({ Int($0) }), let chunkSize = text("chunkSize").flatMap({ Int($0) }),
            size >= 0, chunkSize > 0
        else { return nil }
        self.id = id
        self.name = text("name") ?? id
        self.size = size
        self.chunkSize = chunkSize
        self.headerLength = text("headerLength").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        self.studyUid = text("studyUid")
        self.seriesUid = text("seriesUid")
        self.sopUid = text("sopUid")
        self.sopClass = text("sopClass")
        self.transferSyntax = text("transferSyntax")
        self.xxh3 = ContentCheck.recordedXXH3(text("xxh3"))
    }

    var location: StoredHeader.Location? {
        StoredHeader.Location(id: id, size: size, chunkSize: chunkSize, headerLength: headerLength)
    }
}

/// Reading stored files for a server (DICOMweb): their facts, one file of each study or
/// series, headers, and byte ranges, each in one pipeline.
extension Executor {
    /// The stored files of the given ids, in order; ids without a document are left out.
    public func storedFiles(ids: [String]) throws -> [StoredFile] {
        guard !ids.isEmpty else { return [] }
        let located = try layout.documentKeys(ids: ids, client: client)
        let keys = ids.map { located[$0] ?? layout.documentKey(id: $0) }
        let commands = keys.map { RedisCommand(["JSON.GET", $0] + StoredFile.members.map(\.path)) }
        let replies = try client.pipeline(commands, routedBy: keys)
        var files: [StoredFile] = []
        files.reserveCapacity(ids.count)
        for (id, reply) in zip(ids, replies) {
            if let message = reply.errorMessage {
                throw RedisError(.server, endpoint: client.configuration.url.endpoint, message)
            }
            if let text = reply.string, let file = StoredFile(id: id, reply: text) { files.append(file) }
        }
        return files
    }

    /// The stored files matching `condition` (all of them when `limit` is nil), with how
    /// many match in all, read by the search itself (FT.SEARCH … RETURN their storage facts)
    /// where the index answers the condition; a condition on attributes it does not hold
    /// goes through `find` and the files' documents. An empty store has none.
    public func storedFiles(
        matching condition: Condition?, limit: Int? = nil, offset: Int = 0
    ) throws -> (
        files: [StoredFile], total: Int
    ) {
        let find = FindStatement(condition: condition, limit: limit, offset: offset)
        let context = StatementContext()
        let prepared: (plan: Plan, hasIndex: Bool)
        do {
            prepared = try prepare(.find(find), context: context)
        } catch let error as ExecutionError {
            if case .noData = error.kind { return ([], 0) }
            throw error
        }
        guard prepared.hasIndex, case .find(var search) = prepared.plan else {
            guard case .rows(let rows) = try execute(.find(find), context: context) else { return ([], 0) }
            return (try storedFiles(ids: rows.ids), rows.total)
        }
        try checkPatterns(search.query, context: context)
        search.returnAttributes = StoredFile.members.map(\.path)
        var files: [StoredFile] = []
        var total = 0
        try SearchRunner.page(from: offset, limit: limit, pageSize: search.pageSize) { start, count in
            let page = try SearchPage(
                runner.query(search.command(offset: start, count: count), context: context), returning: true)
            total = page.total
            for document in page.documents {
                let id = layout.id(fromDocumentKey: document.key) ?? document.key
                if let file = StoredFile(id: id, attributes: document.attributes) { files.append(file) }
            }
            return page.documents.count
        }
        return (files, total)
    }

    /// The headers of the files (up to Pixel Data's tag and length), in order, read in one
    /// pipeline and parsed on every core.
    public func headers(of files: [StoredFile]) throws -> [DicomFile] {
        let locations = files.compactMap(\.location)
        guard locations.count == files.count else {
            throw ExecutionError(.statementFailed("a stored document has no size or chunk size"))
        }
        return try StoredHeader.read(locations, layout: layout, client: client)
    }

    /// The bytes `range` of a stored file, read from the chunks it spans in one pipeline.
    public func bytes(of file: StoredFile, in range: Range<Int>) throws -> [UInt8] {
        try bytes(of: [(file, range)])[0]
    }

    /// Byte ranges of stored files read straight into `destination`: one after another in the
    /// order given, or each at its offset in `offsets`. Each chunk's reply is read from the
    /// socket to where it belongs, with no copy in between (the chunk transfer engine's raw
    /// channel). A cluster redirect (a slot moving) falls back to ``bytes(of:)``.
    public func read(
        _ pieces: [(file: StoredFile, range: Range<Int>)], into destination: UnsafeMutableRawBufferPointer,
        at offsets: [Int]? = nil
    ) throws {
        struct Read {
            var key: String
            var from: Int
            var length: Int
            var offset: Int
            var file: StoredFile
            var chunk: Int
        }
        var reads: [Read] = []
        var offset = 0
        var starts: [Int] = []
        for (position, (file, range)) in pieces.enumerated() {
            if let offsets { offset = offsets[position] }
            starts.append(offset)
            guard range.lowerBound >= 0, range.upperBound <= file.size else {
                throw ExecutionError(
                    .statementFailed(
                        "bytes \(range.lowerBound)..<\(range.upperBound) are outside \(file.name) (\(file.size) bytes)")
                )
            }
            guard !range.isEmpty else { continue }
            for index in (range.lowerBound / file.chunkSize)...((range.upperBound - 1) / file.chunkSize) {
                let chunkStart = index * file.chunkSize
                let from = max(range.lowerBound, chunkStart)
                let to = min(range.upperBound, chunkStart + file.chunkSize)
                reads.append(
                    Read(
                        key: layout.chunkKey(id: file.id, index: index), from: from - chunkStart, length: to - from,
                        offset: offset, file: file, chunk: index))
                offset += to - from
            }
        }
        guard offset <= destination.count, offsets.map({ $0.count == pieces.count }) ?? true else {
            throw ExecutionError(.statementFailed("\(offset) bytes asked for into a buffer of \(destination.count)"))
        }
        var groups: [ObjectIdentifier: (pool: RedisPool, reads: [Read])] = [:]
        for read in reads {
            let pool = try client.pool(forKey: read.key)
            groups[ObjectIdentifier(pool), default: (pool, [])].reads.append(read)
        }
        struct Redirected: Error {}
        do {
            for (pool, group) in groups.values {
                try pool.withConnection { connection in
                    try connection.withRawChannel { channel in
                        for read in group {
                            try channel.send(
                                ["GETRANGE", read.key, String(read.from), String(read.from + read.length - 1)])
                        }
                        for read in group {
                            let target = UnsafeMutableRawBufferPointer(
                                rebasing: destination[read.offset..<(read.offset + read.length)])
                            switch try channel.readBulk(into: target) {
                            case .value: continue
                            case .error(let message) where ClusterRedirect(errorMessage: message) != nil:
                                throw Redirected()
                            case .error(let message):
                                throw ExecutionError(
                                    .statementFailed(
                                        "chunk \(read.chunk) of \(read.file.name) (\(read.key)): \(message)"))
                            case .missing, .wrongLength:
                                throw ExecutionError(
                                    .statementFailed(
                                        "chunk \(read.chunk) of \(read.file.name) (\(read.key)) is missing or short; \(FetchError.mending(id: read.file.id))"
                                    ))
                            }
                        }
                    }
                }
            }
        } catch is Redirected {
            for (bytes, start) in zip(try self.bytes(of: pieces), starts) {
                bytes.withUnsafeBytes { source in
                    UnsafeMutableRawBufferPointer(rebasing: destination[start..<(start + source.count)])
                        .copyMemory(from: source)
                }
            }
        }
    }

    /// Byte ranges of stored files, all read in one pipeline (a GETRANGE for each chunk a
    /// range spans), in order: many small files cost one round trip.
    public func bytes(of pieces: [(file: StoredFile, range: Range<Int>)]) throws -> [[UInt8]] {
        var ranges: [StoredRange] = []
        for (file, range) in pieces {
            guard range.lowerBound >= 0, range.upperBound <= file.size else {
                throw ExecutionError(
                    .statementFailed(
                        "bytes \(range.lowerBound)..<\(range.upperBound) are outside \(file.name) (\(file.size) bytes)")
                )
            }
            ranges.append(StoredRange(id: file.id, chunkSize: file.chunkSize, range: range, described: file.name))
        }
        return try StoredRange.read(ranges, layout: layout, client: client)
    }
}

/// A byte range of a stored file, by its id and chunk size, and what to call it in messages.
struct StoredRange {
    var id: String
    var chunkSize: Int
    var range: Range<Int>
    var described: String

    /// The ranges' bytes, in order, from one pipeline: a GETRANGE for each chunk a range spans.
    /// A chunk that is missing or shorter than the range needs is an error naming it.
    static func read(_ ranges: [StoredRange], layout: StorageLayout, client: RedisClient) throws -> [[UInt8]] {
        var keys: [String] = []
        var commands: [RedisCommand] = []
        var spans: [(first: Int, commands: Range<Int>)] = []
        for stored in ranges {
            let start = commands.count
            let range = stored.range
            let first = range.lowerBound / stored.chunkSize
            if !range.isEmpty {
                for index in first...((range.upperBound - 1) / stored.chunkSize) {
                    let chunkStart = index * stored.chunkSize
                    let from = max(range.lowerBound, chunkStart) - chunkStart
                    let to = min(range.upperBound, chunkStart + stored.chunkSize) - chunkStart - 1
                    let key = layout.chunkKey(id: stored.id, index: index)
                    keys.append(key)
                    commands.append(RedisCommand("GETRANGE", key, String(from), String(to)))
                }
            }
            spans.append((first, start..<commands.count))
        }
        let replies = commands.isEmpty ? [] : try client.pipeline(commands, routedBy: keys)
        return try zip(ranges, spans).map { stored, span in
            let range = stored.range
            var bytes: [UInt8] = []
            bytes.reserveCapacity(range.count)
            for position in span.commands {
                let index = span.first + position - span.commands.lowerBound
                let chunkStart = index * stored.chunkSize
                let expected = min(range.upperBound, chunkStart + stored.chunkSize) - max(range.lowerBound, chunkStart)
                if let message = replies[position].errorMessage {
                    throw ExecutionError(
                        .statementFailed(
                            "\(stored.described) cannot be read: chunk \(index) (\(keys[position])): \(message)"))
                }
                guard let part = replies[position].bytes, part.count == expected else {
                    throw ExecutionError(
                        .statementFailed(
                            "\(stored.described) cannot be read: chunk \(index) (\(keys[position])) is missing or short; \(FetchError.mending(id: stored.id))"
                        ))
                }
                if span.commands.count == 1 { return part }
                bytes += part
            }
            return bytes
        }
    }
}

import DQL
import DicomCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOHTTP1
import RedisIO
import Synchronization

/// The endpoints of PS3.18 this server answers, each a thin handler over QIDOSearch,
/// RetrieveScope, InstanceMetadata, FrameReader, RetrieveStream and StowStore.
struct DICOMwebRoutes: Sendable {
    var pool: ExecutorPool
    var options: DICOMwebServer.Options
    /// The port the server listens on (known once bound: `--listen …:0` picks one).
    var boundPort: BoundPort
    var headerCache = HeaderCache()
    /// The instances STOW-RS requests are storing now.
    var claims = InstanceClaims()
    /// Each instance's metadata as JSON text, by id and URL (128 MiB of text at most).
    var metadataCache = ContentCache<String>(capacity: 128 << 20, cost: { $0.utf8.count })

    func register(on routes: RouterGroup<BasicRequestContext>) {
        // QIDO-RS
        routes.get("studies") { request, _ in try await search(request, .studies) }
        routes.get("series") { request, _ in try await search(request, .series) }
        routes.get("instances") { request, _ in try await search(request, .instances) }
        routes.get("studies/:study/series") { request, context in
            try await search(request, .series, study: context.parameters.get("study"))
        }
        routes.get("studies/:study/instances") { request, context in
            try await search(request, .instances, study: context.parameters.get("study"))
        }
        routes.get("studies/:study/series/:series/instances") { request, context in
            try await search(
                request, .instances, study: context.parameters.get("study"), series: context.parameters.get("series"))
        }
        // WADO-RS
        routes.get("studies/:study") { request, context in try await retrieve(request, try scope(context)) }
        routes.get("studies/:study/series/:series") { request, context in
            try await retrieve(request, try scope(context))
        }
        routes.get("studies/:study/series/:series/instances/:instance") { request, context in
            try await retrieve(request, try scope(context))
        }
        routes.get("studies/:study/metadata") { request, context in try await metadata(request, try scope(context)) }
        routes.get("studies/:study/series/:series/metadata") { request, context in
            try await metadata(request, try scope(context))
        }
        routes.get("studies/:study/series/:series/instances/:instance/metadata") { request, context in
            try await metadata(request, try scope(context))
        }
        routes.get("studies/:study/series/:series/instances/:instance/frames/:frames") { request, context in
            try await frames(request, try scope(context), list: context.parameters.get("frames") ?? "")
        }
        routes.get("studies/:study/series/:series/instances/:instance/bulkdata") { request, context in
            try await bulkData(request, try scope(context), tag: nil)
        }
        routes.get("studies/:study/series/:series/instances/:instance/bulkdata/:tag") { request, context in
            try await bulkData(request, try scope(context), tag: context.parameters.get("tag"))
        }
        // STOW-RS
        routes.post("studies") { request, _ in try await store(request, study: nil) }
        routes.post("studies/:study") { request, context in
            try await store(request, study: context.parameters.get("study"))
        }
    }

    // MARK: Handlers

    func search(
        _ request: Request, _ level: Level, study: String? = nil, series: String? = nil
    ) async throws
        -> Response
    {
        try await answering {
            let type = try jsonType(request)
            if let study { _ = try RetrieveScope(study: study, series: series) }
            var keys: [(field: String, value: String)] = []
            if let study { keys.append(("studyUid", study)) }
            if let series { keys.append(("seriesUid", series)) }
            let query = try QIDOQuery(level: level, items: Self.queryItems(request), pathKeys: keys)
            let search = QIDOSearch(
                query: query, baseURL: baseURL(request), fixedStudy: study, fixedSeries: series,
                headerCache: headerCache)
            let answer = try await pool.run { try search.run($0) }
            var response = json(.array(answer.results), type: type)
            var warnings: [String] = []
            if answer.more {
                warnings.append(
                    "299 dql: \"There are additional results that can be requested\" (limit=\(query.limit), offset=\(query.offset))"
                )
            }
            if query.fuzzy {
                warnings.append(
                    "299 dql: \"The fuzzymatching parameter is not supported. Only literal matching has been performed.\""
                )
            }
            if !warnings.isEmpty { response.headers[Self.warning] = warnings.joined(separator: ", ") }
            return response
        }
    }

    func retrieve(_ request: Request, _ scope: RetrieveScope) async throws -> Response {
        try await answering {
            let headerCache = self.headerCache
            let negotiation = PartNegotiation(accept: request.headers[.accept])
            let pool = self.pool
            let verify = options.verifyRetrieves
            // The files found, and a small body (or a large one's first batch) read and checked
            // on the same executor thread (one trip through the pool for a small instance
            // instead of two; a damaged first file is a 500 before the 200 is sent).
            let (stream, single, opening) = try await pool.run {
                executor -> (RetrieveStream, Bool, (whole: ByteBuffer?, first: RetrieveStream.Batch?)) in
                // A file stored without file meta information has no Transfer Syntax UID: its
                // parts are labelled with the syntax its header was read in.
                var files = try scope.files(executor)
                let unlabelled = files.indices.filter { files[$0].transferSyntax == nil }
                if !unlabelled.isEmpty {
                    let headers = try headerCache.headers(of: unlabelled.map { files[$0] }, executor: executor)
                    for (index, header) in zip(unlabelled, headers) {
                        files[index].transferSyntax = header.transferSyntax.uid
                    }
                }
                let refused = files.first {
                    !negotiation.acceptsMultipart(
                        partType: "application/dicom", transferSyntax: $0.servedTransferSyntax)
                }
                guard
                    let form = negotiation.form(
                        "application/dicom", transferSyntax: files[0].servedTransferSyntax,
                        singleAllowed: scope.instance != nil, multipartAccepted: refused == nil)
                else {
                    let file = refused ?? files[0]
                    throw DICOMwebError.notAcceptable(
                        "\(scope.described) is stored as \(file.servedTransferSyntax) (\(file.name)), which the Accept header (\(negotiation.written)) does not take; dql serves instances as stored, without transcoding"
                    )
                }
                let single = form == .single
                let stream = RetrieveStream(files: single ? [files[0]] : files, pool: pool, verify: verify)
                return (stream, single, try stream.opening(multipart: !single, with: executor))
            }
            if single {
                let file = stream.files[0]
                return Response(
                    status: .ok,
                    headers: [
                        .contentType: stream.partContentType(file),
                        .contentLength: String(file.size),
                    ],
                    body: opening.whole.map { ResponseBody(byteBuffer: $0) }
                        ?? stream.singleBody(file, first: opening.first))
            }
            return Response(
                status: .ok,
                headers: [.contentType: stream.contentType, .contentLength: String(stream.contentLength)],
                body: opening.whole.map { ResponseBody(byteBuffer: $0) } ?? stream.body(first: opening.first))
        }
    }

    func metadata(_ request: Request, _ scope: RetrieveScope) async throws -> Response {
        try await answering {
            let type = try jsonType(request)
            let base = baseURL(request)
            let metadataCache = self.metadataCache
            let headerCache = self.headerCache
            let body = try await pool.run { executor -> String in
                let files = try scope.files(executor)
                @Sendable func url(_ file: StoredFile) -> String {
                    "\(base)/studies/\(scope.study)/series/\(file.seriesUid ?? scope.series ?? "")/instances/\(file.sopUid ?? "")"
                }
                let keys = files.map { "\($0.id) \(url($0))" }
                var texts = metadataCache.values(keys)
                let missing = files.indices.filter { texts[$0] == nil }
                if !missing.isEmpty {
                    let headers = try headerCache.headers(of: missing.map { files[$0] }, executor: executor)
                    // Each instance's JSON is made on every core.
                    let workers = min(max(1, ProcessInfo.processInfo.activeProcessorCount), missing.count)
                    let made = try DedicatedThreads.run(count: workers, name: "dql.metadata") { worker in
                        stride(from: worker, to: missing.count, by: workers).map { position -> String in
                            let file = files[missing[position]]
                            return InstanceMetadata.json(headers[position], instanceURL: url(file)).serialized()
                        }
                    }
                    var entries: [(key: String, value: String)] = []
                    for position in missing.indices {
                        let text = made[position % workers][position / workers]
                        texts[missing[position]] = text
                        entries.append((keys[missing[position]], text))
                    }
                    metadataCache.store(entries)
                }
                return "[" + texts.compactMap { $0 }.joined(separator: ",") + "]"
            }
            return json(body, type: type)
        }
    }

    func frames(_ request: Request, _ scope: RetrieveScope, list: String) async throws -> Response {
        try await answering {
            var numbers: [Int] = []
            for part in list.split(separator: ",", omittingEmptySubsequences: false) {
                guard let number = Int(part.trimmingSpaces), number >= 1 else {
                    throw DICOMwebError.badRequest(
                        "frames/\(list): frames are listed as numbers from 1, separated by commas (frames/1,3)")
                }
                numbers.append(number)
            }
            if let repeated = Dictionary(grouping: numbers, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw DICOMwebError.badRequest("frames/…: frame \(repeated) is listed twice")
            }
            guard !numbers.isEmpty, numbers.count <= 10_000 else {
                throw DICOMwebError.badRequest("frames/\(list): list from 1 to 10000 frame numbers")
            }
            let negotiation = PartNegotiation(accept: request.headers[.accept])
            let frameNumbers = numbers
            let (parts, partType) = try await pool.run { executor -> ([[UInt8]], String) in
                guard let file = try scope.files(executor).first else {
                    throw DICOMwebError.notFound("no \(scope.described)")
                }
                let header = try headerCache.headers(of: [file], executor: executor)[0]
                let (mediaType, syntax) = FrameReader.frameMediaType(header.transferSyntax)
                var partType = "\(mediaType); transfer-syntax=\(syntax)"
                if !negotiation.acceptsMultipart(partType: mediaType, transferSyntax: syntax) {
                    // Compressed frames as application/octet-stream, when the client names
                    // their transfer syntax (or any).
                    guard negotiation.acceptsOctetStreamParts(transferSyntax: syntax) else {
                        throw DICOMwebError.notAcceptable(
                            "the frames of \(scope.described) are served as multipart/related; type=\"\(mediaType)\"; transfer-syntax=\(syntax) (as stored, without transcoding), which the Accept header (\(negotiation.written)) does not take"
                        )
                    }
                    partType = "application/octet-stream; transfer-syntax=\(syntax)"
                }
                return (try FrameReader.frames(frameNumbers, of: file, header: header, executor: executor), partType)
            }
            let layout = MultipartLayout.random()
            let body = layout.body(parts.map { (partType, $0) })
            let type = partType.split(separator: ";").first.map(String.init) ?? partType
            return Response(
                status: .ok,
                headers: [
                    .contentType: layout.contentType(partType: type), .contentLength: String(body.readableBytes),
                ],
                body: ResponseBody(byteBuffer: body))
        }
    }

    func bulkData(_ request: Request, _ scope: RetrieveScope, tag: String?) async throws -> Response {
        try await answering {
            let items = Self.queryItems(request)
            func number(_ name: String) throws(DICOMwebError) -> Int? {
                guard let text = items.last(where: { $0.name == name })?.value else { return nil }
                return try QIDOQuery.count(text, name: name)
            }
            if items.contains(where: { $0.name == "inflatedOffset" }) {
                throw DICOMwebError.notAcceptable("bulk data of a deflated file is not served (no transcoding)")
            }
            let offset = try number("offset")
            let length = try number("length")
            let bytes = try await pool.run { executor -> [UInt8] in
                guard let file = try scope.files(executor).first else {
                    throw DICOMwebError.notFound("no \(scope.described)")
                }
                let header = try headerCache.headers(of: [file], executor: executor)[0]
                return try FrameReader.bulkData(
                    of: file, header: header, offset: offset, length: length, tag: tag, executor: executor)
            }
            let negotiation = PartNegotiation(accept: request.headers[.accept])
            let form = negotiation.form(
                "application/octet-stream",
                multipartAccepted: negotiation.acceptsMultipart(
                    partType: "application/octet-stream", transferSyntax: TransferSyntax.explicitVRLittleEndian.uid))
            if form == .single {
                return Response(
                    status: .ok,
                    headers: [.contentType: "application/octet-stream", .contentLength: String(bytes.count)],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
            }
            guard form == .multipart else {
                throw DICOMwebError.notAcceptable(
                    "bulk data is served as application/octet-stream; the Accept header (\(negotiation.written)) does not take it"
                )
            }
            let layout = MultipartLayout.random()
            let body = layout.body([("application/octet-stream", bytes)])
            return Response(
                status: .ok,
                headers: [
                    .contentType: layout.contentType(partType: "application/octet-stream"),
                    .contentLength: String(body.readableBytes),
                ],
                body: ResponseBody(byteBuffer: body))
        }
    }

    func store(_ request: Request, study: String?) async throws -> Response {
        try await answering {
            if let study { _ = try RetrieveScope(study: study) }
            let store = StowStore(
                pool: pool, claims: claims, options: options, baseURL: baseURL(request), study: study)
            let answer = try await store.store(request)
            var response = json(answer.body)
            response.status = answer.status
            if let warning = answer.warning {
                options.log("STOW: \(warning)")
                response.headers[Self.warning] = "299 dql: \"\(warning.replacingOccurrences(of: "\"", with: "'"))\""
            }
            return response
        }
    }

    // MARK: Helpers

    static let warning = HTTPField.Name("Warning")!

    func scope(_ context: BasicRequestContext) throws -> RetrieveScope {
        try RetrieveScope(
            study: context.parameters.get("study") ?? "", series: context.parameters.get("series"),
            instance: context.parameters.get("instance"))
    }

    /// The URL clients reach the service at: `--public-url`, else the request's Host.
    func baseURL(_ request: Request) -> String {
        if let publicURL = options.publicURL { return publicURL }
        let root = options.root == "/" ? "" : options.root
        let port = boundPort.value
        // A Host that is not a host name, an address and a port is not copied into URLs.
        guard var host = request.head.authority, !host.isEmpty,
            host.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:[]".unicodeScalars.contains($0))
            })
        else { return "http://\(options.host):\(port)\(root)" }
        // Some clients (dicomweb-client) send Host without the port they connected to.
        let hasPort = host.hasPrefix("[") ? host.contains("]:") : host.contains(":")
        if !hasPort && port != 80 { host += ":\(port)" }
        return "http://\(host)\(root)"
    }

    /// The JSON media type to answer a search or metadata request with:
    /// `application/dicom+json`, or `application/json` for a client that accepts only that
    /// (some ask for it so; the body is DICOM JSON either way). 406 when it takes neither.
    func jsonType(_ request: Request) throws(DICOMwebError) -> String {
        let negotiation = PartNegotiation(accept: request.headers[.accept])
        if negotiation.acceptsSingle("application/dicom+json") { return "application/dicom+json" }
        if negotiation.acceptsSingle("application/json") { return "application/json" }
        throw .notAcceptable(
            "this resource is served as application/dicom+json; the Accept header (\(negotiation.written)) does not take it"
        )
    }

    func json(_ value: JSONValue, type: String = "application/dicom+json") -> Response {
        json(value.serialized(), type: type)
    }

    func json(_ text: String, type: String = "application/dicom+json") -> Response {
        let buffer = ByteBuffer(string: text)
        return Response(
            status: .ok,
            headers: [.contentType: type, .contentLength: String(buffer.readableBytes)],
            body: ResponseBody(byteBuffer: buffer))
    }

    /// The query string's items, percent-decoded (`+` is a space), in order.
    static func queryItems(_ request: Request) -> [(name: String, value: String)] {
        guard let query = request.uri.query, !query.isEmpty else { return [] }
        return query.split(separator: "&").compactMap { item in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            guard let name = pair.first, !name.isEmpty else { return nil }
            return (decoded(name), pair.count > 1 ? decoded(pair[1]) : "")
        }
    }

    /// Runs a handler, every failure a PS3.18 status with a JSON body.
    func answering(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch {
            let answer = DICOMwebError.answering(error)
            if let id = answer.damagedFile {
                headerCache.forget(id)
                // Metadata is kept by id and the URL it was made for.
                metadataCache.remove { $0.hasPrefix(id + " ") }
            }
            throw answer
        }
    }
}

/// A port set once the socket is bound, read by every request.
final class BoundPort: Sendable {
    private let port: Atomic<Int>

    init(_ port: Int) { self.port = Atomic(port) }

    var value: Int { port.load(ordering: .relaxed) }

    func set(_ value: Int) { port.store(value, ordering: .relaxed) }
}

extension DICOMwebError {
    /// What an error from the store means for the client: a query DQL refuses is the
    /// client's (400); a server that cannot be reached is 503; anything else is 500.
    static func answering(_ error: any Error) -> DICOMwebError {
        switch error {
        case let error as DICOMwebError: return error
        case let error as DQLError: return .badRequest(error.message)
        case let error as ExecutionError:
            switch error.kind {
            case .resultWindowTooLarge, .patternTooBroad: return .badRequest(error.description)
            // The Redis account may not do it (a reader asked to store): the server's rights.
            case .notPermitted, .cannotWrite: return DICOMwebError(.forbidden, error.description)
            // A `migrate` is moving the store: a write waits for it, a read may be asked again.
            case .storeMigrating, .migrationBusy, .migrationMovedUnderStatement:
                return DICOMwebError(.serviceUnavailable, error.description)
            default: return DICOMwebError(.internalServerError, error.description)
            }
        case let error as RedisError where error.serverErrorCode == "NOPERM":
            return DICOMwebError(.forbidden, "the Redis account may not do this: \(error)")
        case let error as RedisError where error.isConnectionFailure:
            return DICOMwebError(.serviceUnavailable, "the Redis server cannot be reached: \(error)")
        // The request itself was broken or cut short (a client that closed the connection in
        // the middle of its upload): the client's doing, not the server's.
        case let error as HTTPParserError:
            return .badRequest("the request could not be read to its end: \(error.debugDescription)")
        default:
            return DICOMwebError(.internalServerError, "\(error)")
        }
    }
}

import DQL
import DicomCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import RedisIO

/// `dql serve`: DICOMweb (PS3.18) over a dql store. QIDO-RS searches run as DQL statements at
/// the levels of the shell; WADO-RS reads headers and chunks as `show` and `fetch` do; STOW-RS
/// stores through the loader. Requests are served concurrently; at most ``Options/executors``
/// of them talk to Redis at once.
public struct DICOMwebServer: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8042
        /// Path the service is rooted at (`/dicom-web`: `/dicom-web/studies`).
        public var root = "/dicom-web"
        /// The server's URL as clients reach it, for RetrieveURL and BulkDataURI (default:
        /// from each request's Host header).
        public var publicURL: String?
        /// A bearer token every request must present.
        public var token: String?
        /// A user and password (HTTP basic) every request must present.
        public var credentials: (user: String, password: String)?
        /// Requests talking to Redis at once.
        public var executors = 8
        /// The largest STOW-RS body taken, in bytes.
        public var maximumUpload = 4 << 30
        /// Whether a retrieve checks each file against its SHA-256 before its last bytes go
        /// out (a damaged file then ends the response early instead of arriving wrong).
        public var verifyRetrieves = true
        /// Seconds a connection may send nothing while its request is read, or while it is
        /// idle between requests, before it is closed.
        public var idleTimeout = 60
        /// Where uploads are spooled before they are loaded.
        public var spoolDirectory = NSTemporaryDirectory()
        /// Where an access line per request goes.
        public var log: @Sendable (String) -> Void = { _ in }

        public init() {}
    }

    let client: RedisClient
    let layout: StorageLayout
    let options: Options

    public init(client: RedisClient, layout: StorageLayout, options: Options) {
        self.client = client
        self.layout = layout
        self.options = options
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests under way, for at most the
    /// idle timeout; a second signal stops at once (a client that stopped reading would hold the
    /// server for ever). `listening`
    /// is told the address once the socket is bound (the port, when 0 asked for any).
    /// Watches SIGINT and SIGTERM beside the graceful shutdown (which takes the first): the
    /// second of them ends the process, saying so. So does the first, `grace` seconds after it,
    /// when answers are still going to clients that stopped reading (they would hold the stop
    /// for as long as they like; found by a hostile round).
    static func stopAtOnceOnSecondSignal(
        grace: Int, log: @escaping @Sendable (String) -> Void
    ) -> [any DispatchSourceSignal] {
        let count = SignalCount()
        return [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                guard count.next() >= 2 else {
                    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(grace)) {
                        log(
                            "dql: requests still under way \(grace) s after the signal (clients not reading their answers): stopped"
                        )
                        exit(1)
                    }
                    return
                }
                log("dql: a second signal: stopped at once, without finishing the requests under way")
                exit(1)
            }
            source.resume()
            return source
        }
    }

    /// Whether a request is refused on its head alone, before its body is read: without the
    /// credentials the server needs, or declaring a body over the upload limit.
    static func refusesAtOnce(_ options: Options) -> @Sendable (HTTPRequest) -> Bool {
        let (token, credentials, limit) = (options.token, options.credentials, options.maximumUpload)
        return { head in
            if token != nil || credentials != nil,
                !Authentication<BasicRequestContext>.allows(
                    head.headerFields[.authorization], token: token, credentials: credentials)
            {
                return true
            }
            return head.headerFields[.contentLength].flatMap { Int($0) }.map { $0 > limit } ?? false
        }
    }

    public func run(listening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let pool = ExecutorPool(client: client, layout: layout, count: options.executors)
        let boundPort = BoundPort(options.port)
        let routes = DICOMwebRoutes(pool: pool, options: options, boundPort: boundPort)
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: AccessLog(log: options.log))
        router.add(
            middleware: CORSMiddleware(
                allowOrigin: .all, allowHeaders: [.accept, .authorization, .contentType, .origin, .range],
                allowMethods: [.get, .head, .post, .options],
                exposedHeaders: ["Content-Type", "Content-Length", "Warning", "Content-Location"], maxAge: .seconds(600)
            )
        )
        router.add(middleware: MethodPolicy())
        if options.token != nil || options.credentials != nil {
            router.add(middleware: Authentication(token: options.token, credentials: options.credentials))
        }
        routes.register(on: router.group(RouterPath(options.root == "/" ? "" : options.root)))
        let root = options.root
        let app = Application(
            router: router,
            // A connection that sends nothing for a minute while a request is read (a stalled
            // upload, a slow-headers client) or while idle between requests is closed; one
            // waiting for its response is not.
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ExpectContinue(refusesAtOnce: Self.refusesAtOnce(options))],
                    idleTimeout: .seconds(Int64(options.idleTimeout)))),
            configuration: ApplicationConfiguration(
                address: .hostname(options.host, port: options.port), serverName: "dql/\(DQLVersion.current)"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.set(port)
                let host = options.host.contains(":") ? "[\(options.host)]" : options.host
                listening("http://\(host):\(port)\(root == "/" ? "" : root)")
            },
            logger: {
                var logger = Logger(label: "dql.serve")
                logger.logLevel = .error
                return logger
            }()
        )
        defer { pool.stop() }
        let second = Self.stopAtOnceOnSecondSignal(grace: options.idleTimeout, log: options.log)
        defer { second.forEach { $0.cancel() } }
        // Every task of the server (each connection's, each request's) runs on the pool's
        // threads (see ``ExecutorPool``).
        try await withTaskExecutorPreference(pool) {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        }
    }
}

/// Signals received, from any thread.
private final class SignalCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func next() -> Int {
        lock.withLock {
            count += 1
            return count
        }
    }
}

import ArgumentParser
import DICOMweb
import DQL
import Foundation
import NIOCore
import RedisIO

/// `dql serve`: DICOMweb (QIDO-RS, WADO-RS, STOW-RS) over the store, for viewers (OHIF,
/// Slicer) and pipelines (dicomweb-client).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the store over DICOMweb (QIDO-RS, WADO-RS, STOW-RS).",
        discussion: """
            Viewers and DICOMweb clients point at http://HOST:PORT/dicom-web. Every request is logged \
            on stderr. Ctrl-C or SIGTERM stops the server after the requests under way (waiting at most \
            --idle-timeout seconds for them; a second signal stops it at once). \
            Credentials: --token (or $DQL_SERVE_TOKEN) for a bearer token, --user USER:PASSWORD \
            (or $DQL_SERVE_USER) for HTTP basic; without either anyone who reaches the port reads the store.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Address and port to listen on.", valueName: "HOST:PORT"))
    var listen = "127.0.0.1:8042"

    @Option(name: .long, help: "Path the service is rooted at.")
    var root = "/dicom-web"

    @Option(
        name: .long,
        help:
            "The service's URL as clients reach it, for RetrieveURL and BulkDataURI (default: from each request's Host)."
    )
    var publicURL: String?

    @Option(name: .long, help: "A bearer token every request must present (default: $DQL_SERVE_TOKEN).")
    var token: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A user and password every request must present, HTTP basic (default: $DQL_SERVE_USER).",
            valueName: "USER:PASSWORD"))
    var user: String?

    @Option(name: .long, help: "Requests that talk to Redis at once.")
    var connections = 8

    @Option(name: .long, help: ArgumentHelp("Largest STOW-RS body taken (bytes; K, M, G suffixes).", valueName: "SIZE"))
    var maxUpload = "4G"

    @Flag(
        name: .long,
        help:
            "Send retrieved files without checking them against their SHA-256 first (faster; a damaged chunk would go out unnoticed)."
    )
    var noVerify = false

    @Option(
        name: .long,
        help:
            "Seconds a connection may send nothing while its request is read, or between requests, before it is closed."
    )
    var idleTimeout = 60

    @Flag(name: .long, help: "No access log line per request.")
    var quiet = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var prefixOption: PrefixOption

    func validate() throws { _ = try options(environment: ProcessInfo.processInfo.environment) }

    /// The server's options from the arguments and the environment, or why they cannot be used.
    func options(environment: [String: String]) throws -> DICOMwebServer.Options {
        var options = DICOMwebServer.Options()
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port), colon > listen.startIndex
        else {
            throw ValidationError("--listen takes HOST:PORT (127.0.0.1:8042), not '\(excerpt(listen))'")
        }
        options.host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        options.port = port
        guard root.hasPrefix("/"), !root.contains("?"), !root.contains("#"), !root.contains(" ") else {
            throw ValidationError("--root is a path beginning with / (/dicom-web), not '\(excerpt(root))'")
        }
        options.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        if let publicURL {
            guard let url = URL(string: publicURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil
            else { throw ValidationError("--public-url is an http(s) URL, not '\(excerpt(publicURL))'") }
            options.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        }
        if token == "" { throw ValidationError("--token is empty: give a token, or leave the option out") }
        options.token = (token ?? environment["DQL_SERVE_TOKEN"]).flatMap { $0.isEmpty ? nil : $0 }
        if let pair = (user ?? environment["DQL_SERVE_USER"]).flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let colon = pair.firstIndex(of: ":"), colon > pair.startIndex,
                pair.index(after: colon) < pair.endIndex
            else { throw ValidationError("--user takes USER:PASSWORD, both not empty") }
            options.credentials = (String(pair[..<colon]), String(pair[pair.index(after: colon)...]))
        }
        guard (1...256).contains(connections) else {
            throw ValidationError("--connections is from 1 to 256, not \(connections)")
        }
        options.executors = connections
        guard let upload = Self.bytes(maxUpload), upload > 0 else {
            throw ValidationError("--max-upload is a size in bytes (500M, 4G), not '\(excerpt(maxUpload))'")
        }
        options.maximumUpload = upload
        options.verifyRetrieves = !noVerify
        guard (1...86_400).contains(idleTimeout) else {
            throw ValidationError("--idle-timeout is from 1 to 86400 seconds, not \(idleTimeout)")
        }
        options.idleTimeout = idleTimeout
        return options
    }

    /// `4G`, `500M`, `64K` or a number of bytes.
    static func bytes(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let last = text.uppercased().last, let unit = units[last] {
            guard let number = Int(text.dropLast()), number <= Int.max / unit else { return nil }
            return number * unit
        }
        return Int(text)
    }

    func run() async throws {
        try await reportingErrors {
            let environment = ProcessInfo.processInfo.environment
            var options = try options(environment: environment)
            let prefix = try prefixOption.resolved(environment: environment).get()
            let configuration = try connection.configuration()
            let report = try await DedicatedThreads.detach { try ServerCheck.run(configuration) }
            if !report.missingModules.isEmpty {
                printError(
                    "dql: \(configuration.url): missing module(s) \(report.missingModules.joined(separator: ", ")); dql needs RediSearch (search) and RedisJSON (ReJSON)"
                )
                throw ExitCode(ExitCodes.connection)
            }
            if !quiet { options.log = { printError($0) } }
            AllocatorTuning.keepFreedBuffersForReuse()
            let client = try RedisClient(configuration, connectionsPerServer: options.executors + 8)
            defer { client.close() }
            let server = DICOMwebServer(client: client, layout: StorageLayout(prefix: prefix), options: options)
            let credentials = options.token != nil || options.credentials != nil
            let (host, port) = (options.host, options.port)
            do {
                try await server.run { address in
                    printError("dql: serving DICOMweb for \(configuration.url) (prefix \(prefix)) at \(address)")
                    if !credentials && !["127.0.0.1", "localhost", "::1"].contains(host) {
                        printError(
                            "dql: note: no --token or --user: anyone who reaches \(host):\(port) reads and writes the store"
                        )
                    }
                }
            } catch let error as IOError {
                printError("dql: cannot listen on \(listen): \(error)")
                throw ExitCode(ExitCodes.usage)
            }
            printError("dql: stopped serving")
        }
    }
}

import ArgumentParser
import DQL
import Foundation
import RedisIO

/// `dql server start|stop|status`: the local Redis that `scripts/setup.sh` installed.
struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Start, stop or check the local Redis (with RediSearch and RedisJSON) that setup installed.",
        discussion: """
            The server listens on 127.0.0.1 only, keeps its data in a per-user directory \
            ($DQL_DATA_DIR, else $XDG_DATA_HOME/dql/redis-PORT, else ~/.local/share/dql/redis-PORT) and \
            persists every write to an append-only file, so loaded images survive a restart.
            """,
        subcommands: [Start.self, Stop.self, Status.self]
    )

    struct Place: ParsableArguments {
        @Option(name: .long, help: "Port to listen on.")
        var port: Int = 6379

        @Option(name: .long, help: "Data directory (see above for the default).")
        var dataDir: String?

        func server() -> LocalServer {
            LocalServer(
                port: port,
                dataDirectory: dataDir
                    ?? LocalServer.defaultDataDirectory(port: port, environment: ProcessInfo.processInfo.environment))
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the server (a no-op if it runs).")
        @OptionGroup var place: Place
        @Option(name: .long, help: "The redis-server executable (default: from the setup's Python environment).")
        var redisServer: String?
        @Option(name: .long, help: "Directory holding rejson.so and redisearch.so.")
        var modules: String?
        @Flag(
            name: .long, help: "Also serve TLS (rediss://), through stunnel4: this Redis build has no TLS of its own.")
        var tls = false
        @Option(name: .long, help: "Port for TLS (default: the port + 1).")
        var tlsPort: Int?
        @Option(
            name: .customLong("server-cert"),
            help: "PEM certificate the TLS port shows (default: one made for localhost by a private CA).")
        var tlsCertificate: String?
        @Option(name: .customLong("server-key"), help: "PEM private key of --server-cert.")
        var tlsKey: String?

        func validate() throws {
            if !tls && (tlsPort != nil || tlsCertificate != nil || tlsKey != nil) {
                throw ValidationError("--tls-port, --server-cert and --server-key go with --tls")
            }
            if let tlsPort, !(1...65535).contains(tlsPort) || tlsPort == place.port {
                throw ValidationError("--tls-port must be a port from 1 to 65535 other than --port")
            }
            if tlsKey != nil && tlsCertificate == nil { throw ValidationError("--server-key needs --server-cert") }
            if tlsCertificate != nil && tlsKey == nil { throw ValidationError("--server-cert needs --server-key") }
            for (flag, path) in [("--server-cert", tlsCertificate), ("--server-key", tlsKey)] {
                if let path, let problem = ConnectionOptions.fileProblem(path, directory: false) {
                    throw ValidationError("\(flag) \(excerpt(path)): \(problem)")
                }
            }
            if let tlsCertificate, let tlsKey,
                let problem = TLSContext.problemWithKeyPair(certificate: tlsCertificate, key: tlsKey)
            {
                throw ValidationError("--server-cert/--server-key: \(problem)")
            }
        }

        func run() throws {
            try reportingErrors {
                let installation = try LocalServer.Installation.find(
                    server: redisServer, modules: modules, environment: ProcessInfo.processInfo.environment)
                let server = place.server()
                print(try server.start(installation))
                if tls {
                    let terminator = LocalTLSTerminator(
                        server: server, tlsPort: tlsPort ?? min(server.port + 1, 65535), certificate: tlsCertificate,
                        key: tlsKey)
                    do {
                        print(try terminator.start())
                    } catch let error as SessionError {
                        throw SessionError(
                            error.description
                                + "; the server itself runs, without TLS, on 127.0.0.1:\(server.port) (`dql server stop --port \(server.port)` stops it)",
                            exitCode: error.exitCode)
                    }
                }
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the server; its data stays.")
        @OptionGroup var place: Place

        func run() throws {
            try reportingErrors {
                let server = place.server()
                if LocalTLSTerminator(server: server, tlsPort: 0).stop() {
                    print("stopped the TLS terminator (stunnel)")
                }
                print(try server.stop())
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether the server runs (exit status 0) or not (3).")
        @OptionGroup var place: Place

        func run() throws {
            let (text, running) = place.server().status()
            print(text)
            if !running { throw ExitCode(3) }
        }
    }
}

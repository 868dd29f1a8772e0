import ArgumentParser
import Foundation

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

        func run() throws {
            try reportingErrors {
                let installation = try LocalServer.Installation.find(
                    server: redisServer, modules: modules, environment: ProcessInfo.processInfo.environment)
                print(try place.server().start(installation))
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the server; its data stays.")
        @OptionGroup var place: Place

        func run() throws {
            try reportingErrors { print(try place.server().stop()) }
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

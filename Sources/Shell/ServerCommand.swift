import ArgumentParser

/// `dql server start|stop|status`: the local Redis that `scripts/setup.sh` installed.
struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Start, stop or check the local Redis (with RediSearch and RedisJSON) that setup installed.",
        subcommands: []
    )
}

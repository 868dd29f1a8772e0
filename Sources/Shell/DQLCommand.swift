import ArgumentParser
import DQL
import Foundation
import RedisIO

/// The `dql` command line.
@main
struct DQLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dql",
        abstract: "A query shell for DICOM images stored in Redis.",
        version: "dql \(DQLVersion.current)",
        subcommands: [DumpCommand.self, PingCommand.self]
    )
}

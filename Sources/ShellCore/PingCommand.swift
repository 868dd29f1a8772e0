import ArgumentParser
import Foundation
import RedisIO

/// `dql ping`: checks that the server answers and has the modules dql needs.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Check that the Redis server answers and has RediSearch and RedisJSON loaded."
    )

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let configuration = try connection.configuration()
            let report = try await DedicatedThreads.detach { try ServerCheck.run(configuration) }
            print(report.summary)
            if configuration.url.database != 0 {
                printError(
                    "dql: note: the URL selects database \(configuration.url.database); dql's statements need database 0 (RediSearch indexes only that one)"
                )
            }
            if !report.missingModules.isEmpty {
                printError(
                    "dql: \(configuration.url): missing module(s) \(report.missingModules.joined(separator: ", ")); dql needs RediSearch (search) and RedisJSON (ReJSON)"
                )
                throw ExitCode(ExitCodes.connection)
            }
        }
    }
}

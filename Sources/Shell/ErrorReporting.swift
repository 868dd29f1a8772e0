import ArgumentParser
import RedisIO

/// Runs a command body, printing any error as one `dql: …` line on stderr and exiting with the
/// documented code for its category.
func reportingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch let error as RedisError {
        printError("dql: \(error)")
        throw ExitCode(exitCode(for: error))
    }
}

func exitCode(for error: RedisError) -> Int32 {
    switch error.kind {
    case .invalidURL, .unsupported: ExitCodes.usage
    case .server, .unexpectedReply: ExitCodes.statement
    case .connect, .timeout, .authentication, .io, .protocolViolation: ExitCodes.connection
    }
}

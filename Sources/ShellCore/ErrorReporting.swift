import ArgumentParser
import RedisIO

/// Runs a subcommand's body, printing a failure as one `dql: …` line on stderr and exiting
/// with the documented code for its category.
func reportingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch {
        throw report(error)
    }
}

/// The same for synchronous bodies.
func reportingErrors<Result>(_ body: () throws -> Result) throws -> Result {
    do {
        return try body()
    } catch {
        throw report(error)
    }
}

/// Prints `error` and returns the exit to throw; errors dql does not know go on unchanged
/// (argument parsing reports its own).
private func report(_ error: Error) -> Error {
    switch error {
    case let error as SessionError:
        printError("dql: \(error)")
        return ExitCode(error.exitCode)
    case let error as RedisError:
        printError("dql: \(error)")
        return ExitCode(exitCode(for: error))
    case ChunkTransferError.cancelled:
        printError("dql: cancelled; nothing partial was kept")
        return ExitCode(ExitCodes.interrupted)
    default:
        return error
    }
}

func exitCode(for error: RedisError) -> Int32 {
    if error.kind == .cancelled { return Interrupt.exitCode }
    if error.isConnectionFailure { return ExitCodes.connection }
    // A cluster with a failed master refuses every command, the reachable masters' too.
    if error.kind == .server, error.serverErrorCode == "CLUSTERDOWN" { return ExitCodes.connection }
    switch error.kind {
    case .invalidURL, .unsupported, .tlsSettings: return ExitCodes.usage
    default: return ExitCodes.statement
    }
}

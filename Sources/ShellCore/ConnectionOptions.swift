import ArgumentParser
import Foundation
import RedisIO

/// `--url` and how it falls back to `REDIS_URL` and the default server.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Redis server, redis://[user[:password]@]host[:port][/db]. Default: $REDIS_URL, else redis://127.0.0.1:6379.",
            valueName: "url"))
    var url: String?

    @Option(name: .long, help: "Seconds to wait for the connection.")
    var connectTimeout: Double = 5

    func configuration() throws -> RedisConfiguration {
        guard connectTimeout.isFinite, connectTimeout > 0, connectTimeout <= 3600 else {
            throw RedisError(.invalidURL, "--connect-timeout must be a number of seconds above 0 and at most 3600")
        }
        let resolved = try RedisURL.resolve(explicit: url, environment: ProcessInfo.processInfo.environment)
        return RedisConfiguration(url: resolved, connectTimeout: connectTimeout)
    }
}

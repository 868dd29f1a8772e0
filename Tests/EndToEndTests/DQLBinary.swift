import Foundation
import TestSupport

/// The built `dql` executable, run as a user would run it.
enum DQLBinary {
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["DQL_BINARY"], !path.isEmpty { return path }
        // `swift test` puts the test bundle next to the products it built.
        return Bundle.main.bundleURL.appendingPathComponent("dql").path
    }

    static func run(
        _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
        currentDirectory: String? = nil
    ) throws -> ProcessResult {
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        return try ProcessResult.run(
            path, arguments, input: input, environment: merged, currentDirectory: currentDirectory)
    }
}

import ArgumentParser
import DQL

/// `--prefix`, falling back to `$DQL_PREFIX`, then `dql`. An option group, so a subcommand
/// (`dql acl`) that declares it too receives the value the root command parsed.
struct PrefixOption: ParsableArguments {
    @Option(name: .long, help: "Key prefix of the dql data in Redis (default: $DQL_PREFIX, else dql).")
    var prefix: String?

    /// The prefix in force, or a message saying why the one given cannot be used.
    func resolved(environment: [String: String]) -> Result<String, ValidationError> {
        let prefix = prefix ?? environment["DQL_PREFIX"].flatMap { $0.isEmpty ? nil : $0 } ?? "dql"
        if let problem = StorageLayout.problem(with: prefix) {
            return .failure(ValidationError("invalid prefix '\(excerpt(prefix))': \(problem)"))
        }
        return .success(prefix)
    }
}

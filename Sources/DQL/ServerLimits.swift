import RedisIO

/// The RediSearch settings that decide whether an answer can come back short without a word,
/// read once from the server (`FT.CONFIG GET`): what a query that runs out of time returns
/// (ON_TIMEOUT: FAIL is an error, RETURN a partial answer with no sign of it), and how far a
/// wildcard expands (MAXEXPANSIONS; past it, matches are dropped with no sign either). A
/// server that will not say (an account without FT.CONFIG) is taken to have RediSearch's
/// defaults, the cautious assumption.
struct ServerLimits: Sendable, Equatable {
    var maximumExpansions: Int
    /// ON_TIMEOUT is FAIL: a query that runs out of time is an error, not a partial answer.
    var timeoutFails: Bool
    /// MAXSEARCHRESULTS: a search reads no further into its results (the rest silently not).
    var maximumSearchResults = 1_000_000
    /// MAXAGGREGATERESULTS: the same for aggregates (groups).
    var maximumAggregateResults = 1_000_000
    /// The server said what its settings are (false: the account may not run FT.CONFIG, and
    /// the defaults are assumed).
    var known = true

    /// RediSearch's defaults.
    static let defaults = ServerLimits(maximumExpansions: 200, timeoutFails: false)

    static func read(_ connection: RedisConnection) throws -> ServerLimits {
        var limits = defaults
        let reply = try connection.send(RedisCommand("FT.CONFIG", "GET", "*"))
        if reply.errorMessage != nil { limits.known = false }
        for entry in reply.array ?? [] {
            guard let pair = entry.array, pair.count == 2, let name = pair[0].string else { continue }
            switch name.uppercased() {
            case "MAXEXPANSIONS":
                if let value = pair[1].integer { limits.maximumExpansions = Int(value) }
            case "ON_TIMEOUT":
                limits.timeoutFails = pair[1].string?.lowercased() == "fail"
            case "MAXSEARCHRESULTS":
                limits.maximumSearchResults = Self.limit(pair[1])
            case "MAXAGGREGATERESULTS":
                limits.maximumAggregateResults = Self.limit(pair[1])
            default: break
            }
        }
        return limits
    }

    /// A configured maximum; negative or absent means none.
    static func limit(_ reply: RedisReply) -> Int {
        guard let value = reply.integer, value >= 0 else { return Int.max }
        return Int(clamping: value)
    }

    /// The TIMEOUT a query is sent with: the session's where running out of time is an
    /// error; none (0, no limit) where it would return part of the answer as if it were all.
    func serverTimeout(for milliseconds: Int) -> Int {
        timeoutFails ? milliseconds : 0
    }

    /// Said once to the user of a server whose timeouts return partial answers (or that does
    /// not say).
    var note: String { known ? Self.untimedNote : Self.unknownTimeoutNote }

    static let unknownTimeoutNote =
        "note: this account may not read RediSearch's settings (FT.CONFIG), so dql cannot tell whether a query that runs out of time fails or returns part of the answer, and sends queries without a time limit; `set timeout` does not apply here"

    static let untimedNote =
        "note: this server answers a query that runs out of time with part of the answer (ON_TIMEOUT RETURN), so dql sends queries without a time limit; `set timeout` does not apply here"
}

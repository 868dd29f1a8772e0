/// What a cluster node says when a key is not (or not yet, or no longer) its to serve.
public enum ClusterRedirect: Sendable, Equatable, CustomStringConvertible {
    /// `MOVED slot host:port`: the slot now lives elsewhere for good; the slot map is stale.
    case moved(slot: HashSlot, host: String, port: Int)
    /// `ASK slot host:port`: the slot is being migrated and this key is already at the target;
    /// ask there once, after `ASKING`, and keep the map as it is.
    case ask(slot: HashSlot, host: String, port: Int)
    /// `TRYAGAIN`: the keys are in the middle of a migration; retry shortly.
    case tryAgain

    /// How many redirects one command follows before giving up: enough for a resharding
    /// (a MOVED, then an ASK, then a retry), small enough that a misconfigured cluster that
    /// bounces commands around fails fast.
    public static let maximumFollowed = 5

    /// Parses an error reply's message; nil for any other error. An empty host (a node that
    /// does not know its own address) becomes `fallbackHost`, the host that sent the reply.
    public init?(errorMessage: String, fallbackHost: String = "127.0.0.1") {
        let words = errorMessage.split(separator: " ")
        if words.first == "TRYAGAIN" {
            self = .tryAgain
            return
        }
        guard words.count >= 3, words[0] == "MOVED" || words[0] == "ASK",
            let slot = Int(words[1]).flatMap(HashSlot.init),
            let colon = words[2].lastIndex(of: ":"),
            let port = Int(words[2][words[2].index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = String(words[2][..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = fallbackHost }
        self =
            words[0] == "MOVED" ? .moved(slot: slot, host: host, port: port) : .ask(slot: slot, host: host, port: port)
    }

    /// The node to ask next, if the redirect names one.
    public var target: (host: String, port: Int)? {
        switch self {
        case .moved(_, let host, let port), .ask(_, let host, let port): (host, port)
        case .tryAgain: nil
        }
    }

    /// `MOVED 3999 127.0.0.1:7101`, as the server said it.
    public var description: String {
        switch self {
        case .moved(let slot, let host, let port): "MOVED \(slot) \(RedisURL(host: host, port: port).endpoint)"
        case .ask(let slot, let host, let port): "ASK \(slot) \(RedisURL(host: host, port: port).endpoint)"
        case .tryAgain: "TRYAGAIN"
        }
    }

    /// Whether the command must be preceded by `ASKING` at the target.
    public var needsAsking: Bool {
        if case .ask = self { true } else { false }
    }
}

/// The one redirect policy, shared by every command and every chunk: each redirect followed
/// counts against ``ClusterRedirect/maximumFollowed``, and the client learns from it
/// (``RedisClient/follow(_:attempt:)``: a MOVED updates the slot map, a TRYAGAIN waits a little
/// longer each time). Past the bound the command fails, naming what was redirected.
public struct RedirectBudget: Sendable {
    /// Redirects followed so far.
    public private(set) var followed = 0

    public init() {}

    /// Accounts for `redirect` (an answer about `subject` from `endpoint`) and lets `client`
    /// act on it; throws when it would be one redirect too many.
    public mutating func follow(
        _ redirect: ClusterRedirect, client: RedisClient, endpoint: String, subject: String
    ) throws {
        followed += 1
        guard followed <= ClusterRedirect.maximumFollowed else {
            throw RedisError(
                .server, endpoint: endpoint,
                "\(subject) was still redirected after \(ClusterRedirect.maximumFollowed) attempts (last: \(redirect))")
        }
        client.follow(redirect, attempt: followed)
    }
}

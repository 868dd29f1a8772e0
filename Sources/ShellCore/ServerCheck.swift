import RedisIO

/// What `ping` learns about a server: that it answers, its version, its modules.
struct ServerCheck {
    static let requiredModules = ["search", "ReJSON"]

    var url: RedisURL
    var roundTripMilliseconds: Double
    var redisVersion: String
    var modules: [String: String]
    /// The server runs in cluster mode.
    var isCluster = false
    /// The TLS protocol and cipher, when the connection is encrypted.
    var tls: String?

    var missingModules: [String] {
        Self.requiredModules.filter { modules[$0] == nil }
    }

    var summary: String {
        let moduleText = modules.keys.sorted().map { "\($0) \(modules[$0] ?? "")" }.joined(separator: ", ")
        let milliseconds = (roundTripMilliseconds * 1000).rounded() / 1000
        return
            "PONG from \(url)\(tls.map { " over \($0)" } ?? "") in \(milliseconds) ms: Redis \(redisVersion)\(isCluster ? " (cluster node)" : ""); modules: \(moduleText.isEmpty ? "none" : moduleText)"
    }

    static func run(_ configuration: RedisConfiguration) throws -> ServerCheck {
        let connection = try RedisConnection(configuration)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try connection.call("PING")
        } catch let error as RedisError where error.serverErrorCode == "NOAUTH" {
            throw RedisError(
                .authentication, endpoint: error.endpoint,
                "authentication required: put the password in the URL (redis://[user]:PASSWORD@host) or use --password")
        }
        let elapsed = clock.now - start
        let info = try connection.call("INFO", "server").string ?? ""
        let version =
            info.split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("redis_version:") }
            .map { String($0.dropFirst("redis_version:".count)) } ?? "unknown"
        var modules: [String: String] = [:]
        for module in try connection.call("MODULE", "LIST").array ?? [] {
            let fields = module.pairs ?? []
            let name = fields.first { $0.name == "name" }?.value.string
            let number = fields.first { $0.name == "ver" }?.value.integer
            if let name { modules[name] = number.map(formatModuleVersion) ?? "" }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return ServerCheck(
            url: configuration.url, roundTripMilliseconds: seconds * 1000, redisVersion: version, modules: modules,
            isCluster: try ClusterSlotMap.isCluster(connection), tls: connection.tlsDescription)
    }

    /// Modules report versions as one number, 21005 for 2.10.5.
    static func formatModuleVersion(_ number: Int64) -> String {
        "\(number / 10000).\(number / 100 % 100).\(number % 100)"
    }
}

extension RedisConnection {
    /// `text` with SCAN's pattern characters (`* ? [ ] \\`) escaped, so it matches only itself.
    public static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// Walks every key of this server that matches `pattern` with SCAN, handing each batch
    /// to `body` as it arrives (a key may come twice if the keyspace changes meanwhile, as
    /// SCAN guarantees no more). Memory stays at one batch.
    public func scan(matching pattern: String, count: Int = 1000, _ body: ([String]) throws -> Void) throws {
        var cursor = "0"
        repeat {
            let reply = try call("SCAN", cursor, "MATCH", pattern, "COUNT", String(count))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                throw RedisError(.unexpectedReply, endpoint: endpoint, "SCAN replied \(reply)")
            }
            cursor = next
            let keys = (parts[1].array ?? []).compactMap(\.string)
            if !keys.isEmpty { try body(keys) }
        } while cursor != "0"
    }

    /// Every key of this server that matches `pattern`.
    public func keys(matching pattern: String) throws -> [String] {
        var keys: [String] = []
        try scan(matching: pattern) { keys += $0 }
        return keys
    }
}

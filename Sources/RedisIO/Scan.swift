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
        try scanUntil(matching: pattern, count: count) { keys in
            try body(keys)
            return false
        }
    }

    /// ``scan(matching:count:_:)`` that stops as soon as `body` returns true.
    public func scanUntil(matching pattern: String, count: Int = 1000, _ body: ([String]) throws -> Bool) throws {
        var cursor = "0"
        repeat {
            let reply = try call("SCAN", cursor, "MATCH", pattern, "COUNT", String(count))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                throw RedisError(.unexpectedReply, endpoint: endpoint, "SCAN replied \(reply)")
            }
            cursor = next
            let keys = (parts[1].array ?? []).compactMap(\.string)
            if !keys.isEmpty, try body(keys) { return }
        } while cursor != "0"
    }

    /// Whether any key of this server matches `pattern` (the scan stops at the first).
    public func hasKey(matching pattern: String) throws -> Bool {
        var found = false
        try scanUntil(matching: pattern) { _ in
            found = true
            return true
        }
        return found
    }

    /// Every key of this server that matches `pattern`.
    public func keys(matching pattern: String) throws -> [String] {
        var keys: [String] = []
        try scan(matching: pattern) { keys += $0 }
        return keys
    }
}

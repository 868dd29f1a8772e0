/// Where and how to connect: parsed from `redis://[user[:password]@]host[:port][/db]`, or
/// `rediss://…` for TLS (``RedisConfiguration/tls`` says whom to trust).
///
/// The password is kept for AUTH but never printed: ``description`` and every error message
/// show `***` in its place.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 6379
    /// What `dql` connects to when neither `--url` nor `REDIS_URL` says otherwise.
    public static let defaultURL = RedisURL(host: defaultHost, port: defaultPort)

    public var host: String
    public var port: Int
    /// ACL user name for `AUTH user password`; nil means the default user.
    public var username: String?
    public var password: String?
    /// Logical database selected after connecting.
    public var database: Int
    /// `rediss://`: the connection is encrypted with TLS.
    public var usesTLS: Bool

    public init(
        host: String = RedisURL.defaultHost, port: Int = RedisURL.defaultPort,
        username: String? = nil, password: String? = nil, database: Int = 0, usesTLS: Bool = false
    ) {
        self.usesTLS = usesTLS
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// `host:port`, with IPv6 hosts in brackets, as used in error messages.
    public var endpoint: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        var text = usesTLS ? "rediss://" : "redis://"
        if username != nil || password != nil {
            text += username.map(Self.percentEncode) ?? ""
            if password != nil { text += ":***" }
            text += "@"
        }
        text += endpoint
        if database != 0 { text += "/\(database)" }
        return text
    }

    /// Chooses the URL the way the shell documents it: an explicit one, else `REDIS_URL`,
    /// else `redis://127.0.0.1:6379`.
    public static func resolve(
        explicit: String?, environment: [String: String], bareUserInfo: BareUserInfo = .password
    ) throws -> RedisURL {
        if let explicit { return try RedisURL(parsing: explicit, bareUserInfo: bareUserInfo) }
        if let fromEnvironment = environment["REDIS_URL"], !fromEnvironment.isEmpty {
            do {
                return try RedisURL(parsing: fromEnvironment, bareUserInfo: bareUserInfo)
            } catch var error as RedisError {
                error.message = "REDIS_URL: " + error.message
                throw error
            }
        }
        return defaultURL
    }

    /// What `redis://NAME@host` (user information without a ':') names.
    public enum BareUserInfo: Sendable {
        /// The password, as redis-cli reads it: the usual form for a server with only a password.
        case password
        /// The user, when the password comes from elsewhere (`--password` asks for it).
        case username
    }

    /// Parses a `redis://` URL. Errors name the offending part and its character offset, and
    /// never echo the password.
    public init(parsing text: String, bareUserInfo: BareUserInfo = .password) throws {
        let chars = Array(text.unicodeScalars)
        func fail(_ what: String, at offset: Int) -> RedisError {
            RedisError(.invalidURL, "invalid Redis URL \(Self.redacted(text)): \(what) (at offset \(offset))")
        }
        func string(_ range: Range<Int>) -> String {
            var result = ""
            result.unicodeScalars.append(contentsOf: chars[range])
            return result
        }
        func firstIndex(of character: Unicode.Scalar, in range: Range<Int>) -> Int? {
            range.first { chars[$0] == character }
        }
        func lastIndex(of character: Unicode.Scalar, in range: Range<Int>) -> Int? {
            range.reversed().first { chars[$0] == character }
        }

        guard let colon = firstIndex(of: ":", in: 0..<chars.count),
            chars.count >= colon + 3, chars[colon + 1] == "/", chars[colon + 2] == "/"
        else {
            throw fail("expected redis://[user[:password]@]host[:port][/db]", at: 0)
        }
        let scheme = string(0..<colon).lowercased()
        let usesTLS: Bool
        switch scheme {
        case "redis": usesTLS = false
        case "rediss": usesTLS = true
        default:
            throw fail("unknown scheme '\(scheme)', expected redis:// or rediss:// (TLS)", at: 0)
        }

        let authorityStart = colon + 3
        // The user information ends at the last '@' (a database path never holds one), so a
        // password may contain '@' and '/' (base64 passwords often do).
        let userEnd = lastIndex(of: "@", in: authorityStart..<chars.count)
        let pathStart = firstIndex(of: "/", in: (userEnd ?? authorityStart)..<chars.count) ?? chars.count
        var hostStart = authorityStart
        var username: String?
        var password: String?
        if let at = userEnd {
            if let separator = firstIndex(of: ":", in: authorityStart..<at) {
                guard let user = Self.percentDecode(string(authorityStart..<separator)) else {
                    throw fail("bad percent-encoding in user name", at: authorityStart)
                }
                guard let secret = Self.percentDecode(string(separator + 1..<at)) else {
                    throw fail("bad percent-encoding in password", at: separator + 1)
                }
                username = user.isEmpty ? nil : user
                password = secret
            } else {
                // `redis://secret@host` is the common form for a server with only a password.
                guard let secret = Self.percentDecode(string(authorityStart..<at)) else {
                    throw fail("bad percent-encoding in password", at: authorityStart)
                }
                switch bareUserInfo {
                case .password: password = secret
                case .username: username = secret.isEmpty ? nil : secret
                }
            }
            hostStart = at + 1
        }

        var host = Self.defaultHost
        var portStart: Int?
        if hostStart < pathStart, chars[hostStart] == "[" {
            guard let close = firstIndex(of: "]", in: hostStart..<pathStart) else {
                throw fail("unterminated IPv6 address, expected ']'", at: hostStart)
            }
            host = string(hostStart + 1..<close)
            if close + 1 < pathStart {
                guard chars[close + 1] == ":" else {
                    throw fail("unexpected '\(chars[close + 1])' after IPv6 address", at: close + 1)
                }
                portStart = close + 2
            }
            if host.isEmpty { throw fail("empty IPv6 address", at: hostStart) }
        } else {
            let hostEnd = lastIndex(of: ":", in: hostStart..<pathStart) ?? pathStart
            if hostEnd > hostStart { host = string(hostStart..<hostEnd) }
            if hostEnd < pathStart { portStart = hostEnd + 1 }
            if let bad = (hostStart..<hostEnd).first(where: { " @?#[]".unicodeScalars.contains(chars[$0]) }) {
                throw fail("invalid character '\(chars[bad])' in host", at: bad)
            }
        }

        var port = Self.defaultPort
        if let portStart {
            let portText = string(portStart..<pathStart)
            guard portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(portText),
                (1...65535).contains(value)
            else {
                throw fail("port '\(portText)' is not a number from 1 to 65535", at: portStart)
            }
            port = value
        }

        var database = 0
        if pathStart + 1 < chars.count {
            let databaseText = string(pathStart + 1..<chars.count)
            guard databaseText.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(databaseText)
            else {
                throw fail("database '\(databaseText)' is not a non-negative number", at: pathStart + 1)
            }
            database = value
        }
        self.init(
            host: host, port: port, username: username, password: password, database: database, usesTLS: usesTLS)
    }

    /// The raw URL text with any password masked, for error messages about URLs that did not
    /// parse.
    /// `text` with the password of every URL in it (`scheme://user:password@host`) shown as
    /// `***`: for echoing a line that may hold one (`\connect redis://:secret@host`).
    public static func maskingPasswords(in text: String) -> String {
        text.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            guard word.contains("://"), word.contains("@") else { return String(word) }
            let quoted = word.first == "'" || word.first == "\""
            let inner = quoted ? String(word.dropFirst().dropLast()) : String(word)
            let masked = String(redacted(inner).dropFirst().dropLast())
            return quoted ? String(word.first ?? "'") + masked + String(word.last ?? "'") : masked
        }.joined(separator: " ")
    }

    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return "'\(text)'" }
        let rest = text[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return "'\(text)'" }
        let userinfo = rest[..<at]
        let masked: String
        if let colon = userinfo.firstIndex(of: ":") {
            masked = userinfo[..<colon] + ":***"
        } else {
            masked = "***"
        }
        return "'" + text[..<schemeEnd.upperBound] + masked + text[at...] + "'"
    }

    static func percentDecode(_ text: String) -> String? {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue)
                else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80,
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-._~".unicodeScalars.contains(scalar)
            {
                result.unicodeScalars.append(scalar)
            } else {
                result +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

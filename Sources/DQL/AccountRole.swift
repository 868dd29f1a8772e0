import Crypto
import DicomCore
import RedisIO

/// The kinds of Redis account dql is meant to run under, as ACL rules an administrator can
/// apply (`dql acl reader|writer|owner`): exactly the commands dql sends for the statements
/// each may run, on keys under one prefix. RediSearch and RedisJSON put their commands in no
/// ACL category, so every command is named.
///
/// ACL confines keys, but not what an index covers: `FT.CREATE` under one's own index name
/// may name any `PREFIX`, and such an index reads (and with `FT.DROPINDEX … DD` deletes)
/// other prefixes' documents. `SCAN` lists every key name. So index management and `vacuum`
/// belong to the owner role, which is as trusted as the whole database.
public enum AccountRole: String, Sendable, CaseIterable {
    /// `find`, `count`, `show`, `fetch`, `fields`, `stats`, `explain`: nothing that writes.
    case reader
    /// The reader's statements, `load` and `delete`, into an index that exists: confined to
    /// its prefix.
    case writer
    /// Everything: also creates and migrates the index (a first `load`), runs `index`,
    /// `unindex` and `vacuum`.
    case owner

    /// Commands every role needs: connecting and finding out what the server is.
    static let connecting = [
        "ping", "info", "dbsize", "module|list", "cluster|slots", "cluster|shards", "cluster|info", "asking",
        "readonly", "client|setname",
    ]
    /// What reading statements send.
    static let reading = [
        "get", "getrange", "exists", "memory|usage", "ft.search", "ft.aggregate", "ft.info", "ft.explain",
        "ft.config|get", "json.get", "hgetall",
    ]
    /// What load and delete send besides (scripts run their commands as the account too).
    static let writing = [
        "set", "del", "unlink", "expire", "pexpire", "rename", "eval", "evalsha", "json.set", "json.mset", "json.del",
        "wait", "waitaof",
    ]
    /// What only an owner may send: index creation and migration, `index` and `unindex` (the
    /// record of indexed attributes), the key scans of `vacuum` (and the time left on the claims it finds), of a migration and of
    /// `index`.
    static let owning = [
        "ft.create", "ft.dropindex", "ft.alter", "scan", "pttl", "hset", "hdel", "hincrby", "client|list",
    ]

    /// The commands the role may run.
    public var commands: [String] {
        switch self {
        case .reader: Self.connecting + Self.reading
        case .writer: Self.connecting + Self.reading + Self.writing
        case .owner: Self.connecting + Self.reading + Self.writing + Self.owning
        }
    }

    /// The words of `ACL SETUSER` for `user`: rules reset first, keys under `prefix` only, no
    /// pub/sub channels, no commands but the role's. With `password`, its SHA-256 (`#…`), so
    /// the password itself is never in the rules.
    public func aclWords(user: String, prefix: String, password: String?) -> [String] {
        var words = ["ACL", "SETUSER", user, "reset", "on"]
        if let password {
            let digest = SHA256.hash(data: Array(password.utf8))
            words.append("#" + HexDigits.lowercase(digest))
        }
        words += Self.keyPatterns(prefix: prefix) + ["resetchannels", "-@all"]
        words += commands.map { "+" + $0 }
        return words
    }

    /// The key patterns of exactly this prefix's keys: metadata under `{m}`, chunks of a
    /// 64-hex id or a provisional `new-UUID` id followed by a chunk number of 1 to 12 digits
    /// (4 KiB chunks of a petabyte), durability markers. Not `prefix:*`, nor `…:chunk:<id>:*`:
    /// prefixes may hold ':', so those would also cover nested prefixes such as
    /// `prefix:chunk:<64 characters>`, whose keys go on with `:{m}`, `:chunk:` or `:durable:`,
    /// never with digits alone. Braces cannot occur in a prefix, so `prefix:{m}:*` is this
    /// prefix's alone.
    static func keyPatterns(prefix: String) -> [String] {
        let base = RedisConnection.globEscaped(prefix)
        let hexId = String(repeating: "?", count: 64)
        let provisional = "new-" + String(repeating: "?", count: 36)
        let numbers = (1...12).map { String(repeating: "[0-9]", count: $0) }
        // A spread store's documents, indexes, claims and the copies `migrate` stages carry a
        // bucket's tag, `{sB-N}`: a nested prefix's keys go on with `{m}`, never `{s`.
        let spread = ["doc", "idx", "loading", "loadrun", "stage"].map { "~\(base):\($0):{s*}*" }
        return ["~\(base):{m}:*"]
            + [hexId, provisional].flatMap { id in numbers.map { "~\(base):chunk:\(id):\($0)" } }
            + ["~\(base):durable:{*}"] + spread
    }

}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `~` and `~user` at the start of a path, expanded as a shell does: from `$HOME` (else the
/// password database) and from the user's entry. Applied to every path DQL and the shell take
/// (load, fetch to, `\i`, `\o`, completion), quoted or not, so `~/out` never becomes a
/// directory literally named `~`; write `./~` for one.
public enum PathExpansion {
    /// The path with a leading `~` or `~user` expanded; an unknown user is an error at the
    /// path.
    public static func expand(_ path: PathLiteral) throws -> String {
        guard let expanded = expand(path.text) else {
            throw ExecutionError(.unknownUser(user(in: path.text)), at: path.range)
        }
        return expanded
    }

    /// The path with a leading `~` or `~user` expanded, or nil when the user is unknown. The
    /// environment (`HOME`) is read only for a path that starts with `~`: building it is a
    /// dictionary of every variable, a noticeable part of a fast statement.
    public static func expand(_ path: String, environment: [String: String]? = nil) -> String? {
        guard path.hasPrefix("~") else { return path }
        let environment = environment ?? ProcessInfo.processInfo.environment
        let name = user(in: path)
        let rest = path.dropFirst(1 + name.count)
        let home: String?
        if name.isEmpty {
            home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? homeDirectory(of: nil)
        } else {
            home = homeDirectory(of: name)
        }
        guard let home else { return nil }
        if rest.isEmpty { return home }
        return (home.hasSuffix("/") ? String(home.dropLast()) : home) + rest
    }

    /// The user name after `~`, up to the first `/` (empty for `~` alone).
    static func user(in path: String) -> String {
        String(path.dropFirst().prefix { $0 != "/" })
    }

    /// The home directory of `user` (nil: the current user) from the password database.
    static func homeDirectory(of user: String?) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        let status =
            user.map { getpwnam_r($0, &entry, &buffer, buffer.count, &result) }
            ?? getpwuid_r(getuid(), &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil, let directory = entry.pw_dir else { return nil }
        return String(cString: directory)
    }
}

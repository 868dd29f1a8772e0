import ArgumentParser
import DQL
import Foundation

/// `dql acl reader|writer`: prints the `ACL SETUSER` command that makes a least-privilege
/// account for dql, ready to pipe into `redis-cli`.
struct AclCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl",
        abstract: "Print the ACL SETUSER command for a dql reader or writer account.",
        discussion: """
            A reader may run every statement that only reads (find, count, show, fetch, fields, stats, \
            explain); a writer may also load, delete and vacuum. Both are limited to keys under the \
            prefix and to the commands dql sends. The command goes to stdout, ready for \
            `redis-cli --user admin --askpass < file`; on a cluster, apply it on every node. With \
            --password-stdin the password is read from stdin and only its SHA-256 is printed.
            """)

    @Argument(help: "reader or writer.")
    var role: String

    @OptionGroup var prefixOption: PrefixOption

    @Option(name: .long, help: "Account name (default: dql-reader or dql-writer).")
    var user: String?

    @Flag(name: .long, help: "Read the account's password from the first line of stdin.")
    var passwordStdin = false

    /// Everything that can be checked before reading stdin; ArgumentParser then shows this
    /// subcommand's usage with the message.
    func validate() throws {
        guard let role = AccountRole(rawValue: role.lowercased()) else {
            throw ValidationError("the role is 'reader' or 'writer', not '\(excerpt(role))'")
        }
        _ = try prefixOption.resolved(environment: ProcessInfo.processInfo.environment).get()
        let user = user ?? "dql-\(role.rawValue)"
        guard !user.isEmpty,
            user.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.@".contains($0)) })
        else {
            throw ValidationError("the account name '\(excerpt(user))' must be letters, digits and - _ . @")
        }
        if user == "default" {
            throw ValidationError(
                "the account 'default' is the one connections get before they log in; making it a dql \(role.rawValue) would take every other right from it: name another account with --user"
            )
        }
    }

    func run() throws {
        guard let role = AccountRole(rawValue: role.lowercased()) else { throw ExitCode(ExitCodes.usage) }
        let prefix = try prefixOption.resolved(environment: ProcessInfo.processInfo.environment).get()
        let user = user ?? "dql-\(role.rawValue)"
        var password: String?
        if passwordStdin {
            guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
                printError("dql: --password-stdin: no password on stdin")
                throw ExitCode(ExitCodes.usage)
            }
            password = line
        } else {
            printError(
                "dql: note: the account has no password yet; give one with --password-stdin, or add >PASSWORD to the command"
            )
        }
        print(
            role.aclWords(user: user, prefix: prefix, password: password).map(Self.quotedForCli).joined(separator: " "))
    }

    /// A word as redis-cli reads it: bare when it has no blanks or quotes, else double-quoted.
    static func quotedForCli(_ word: String) -> String {
        guard word.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "'" || $0 == "\\" }) else { return word }
        return "\"" + word.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}

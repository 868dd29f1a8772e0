import ArgumentParser
import DQL
import Foundation

/// `dql acl reader|writer`: prints the `ACL SETUSER` command that makes a least-privilege
/// account for dql, ready to pipe into `redis-cli`.
struct AclCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl",
        abstract: "Print the ACL SETUSER command for a dql reader, writer or owner account.",
        discussion: """
            A reader may run every statement that only reads (find, count, show, fetch, fields, stats, \
            explain); a writer may also load and delete, into an index that exists; an owner may also \
            create and migrate the index (a first load), vacuum, and move a cluster store to the spread \
            layout (migrate). All are limited to keys under the \
            prefix and to the commands dql sends, but an owner's FT.CREATE may name any prefix for its \
            index and SCAN lists every key name: give owner accounts only to people trusted with the \
            whole database. The command goes to stdout, ready for \
            `redis-cli --user admin --askpass < file`; on a cluster, apply it on every node. With \
            --password-stdin the password is read from stdin and only its SHA-256 is printed.
            """)

    @Argument(help: "reader, writer or owner.")
    var role: String

    @OptionGroup var prefixOption: PrefixOption

    @Option(name: .long, help: "Account name (default: dql-reader or dql-writer).")
    var user: String?

    @Flag(name: .long, help: "Read the account's password from the first line of stdin.")
    var passwordStdin = false

    /// Everything that can be checked before reading stdin; ArgumentParser then shows this
    /// subcommand's usage with the message.
    func validate() throws { _ = try resolved() }

    /// The role, prefix and account name the arguments give, or why they cannot be used.
    private func resolved() throws -> (role: AccountRole, prefix: String, user: String) {
        guard let role = AccountRole(rawValue: role.lowercased()) else {
            throw ValidationError("the role is 'reader', 'writer' or 'owner', not '\(excerpt(role))'")
        }
        let prefix = try prefixOption.resolved(environment: ProcessInfo.processInfo.environment).get()
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
        return (role, prefix, user)
    }

    func run() throws {
        let (role, prefix, user) = try resolved()
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
        if role == .owner {
            printError(
                "dql: note: an owner's FT.CREATE may cover any prefix with its index, and SCAN lists every key name: an owner is as trusted as the whole database"
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

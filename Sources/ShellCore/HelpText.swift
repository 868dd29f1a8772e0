import DQL

/// `\help` and `\?`: the statements' syntax with an example each, and the meta-commands.
enum HelpText {
    /// Every statement with its synopsis and an example, from the keyword table.
    static let statements: [(name: String, synopsis: String, example: String)] = Keyword.statements.compactMap {
        keyword in
        keyword.syntax.map { (keyword.rawValue, $0.synopsis, $0.example) }
    }

    static let conditions = """
        Conditions: FIELD = value, != < <= > >=, FIELD in (a, b), FIELD between a and b,
        FIELD like 'CT*', FIELD contains 'word', FIELD is [not] missing, and, or, not, ( ).
        Values: 'text', 42, 2019-03-05, 64KB. Type `fields` for the field names.

        """

    /// Help for `topic` (a statement name), or an overview.
    static func text(for topic: String?) throws -> String {
        guard let topic else {
            var text = "DQL statements (\\help STATEMENT for one, \\? for meta-commands):\n"
            let width = statements.map(\.name.count).max() ?? 0
            for statement in statements {
                text +=
                    "  " + statement.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + statement.synopsis + "\n"
            }
            return text + "\n" + conditions
        }
        let key = topic.lowercased()
        guard let statement = statements.first(where: { $0.name == key }) else {
            let closest = Suggestion.closest(to: key, among: statements.map(\.name))
            throw SessionError(
                "no help for '\(topic)'" + (closest.map { "; did you mean '\($0)'?" } ?? "")
                    + " (statements: \(statements.map(\.name).joined(separator: ", ")))")
        }
        return "\(statement.synopsis)\n\nExample:\n  \(statement.example)\n\n" + (details[key].map { $0 + "\n" } ?? "")
            + (["find", "count", "delete"].contains(key) ? levels + conditions : "")
    }

    /// What a statement's answer means, where its synopsis does not say.
    static let details: [String: String] = [
        "preview": """
        Draws the frame in the terminal, or writes it as a PNG with `to`; into a pipe without
        `to` it is refused. The file is read whole and checked against its SHA-256, except a
        native frame of a file over 32 MiB, which is read alone (said on stderr). `find …
        preview` makes a contact sheet of the files the find lists (100 at most), with their
        names; a file that cannot be shown is crossed out and stderr says why.

        """,
        "stats": """
        files, bytes: the stored files and their bytes. metadataPerFile: Redis memory of one
        file's metadata (its document, MEMORY USAGE of a sample, plus its share of the index).
        indexMemory: the index's own memory. indexFailures: times the index could not read a
        document since it was built (a document edited into something it cannot read is
        invisible to every query). serverMemory and the rows below: each server's used memory
        and keys (chunks included).

        """,
        "vacuum": """
        Removes chunks no document owns: those of loads that were killed or lost their
        connection, once their claim has expired (30 s), and provisional chunks of large
        loads that never finished. Chunks of loads still running are left alone. Says what it
        found and removed; documents are never touched.

        """,
        "migrate": """
        On a Redis Cluster: moves a store made before metadata spread (every document and the
        index on the master of the {m} slot) to the spread layout, where each master holds
        and searches its share. Studies move whole, about 1000 documents a step, with
        progress. The store stays readable throughout and every query sees each file once;
        load, delete, index and vacuum are refused until the move is done. Stopped part way (Ctrl-C,
        a lost connection, a killed process), `migrate` again goes on where it stopped. Needs
        an owner account. On a store that is spread already it does nothing.

        """,
    ]

    /// The levels of `find`, `count` and `delete`, with the columns of their rows.
    static var levels: String {
        var text = "Levels: a row is a file (instances, the default) or a patient, study or series; a condition\n"
        text += "means \"has an instance that matches\", and a row's figures count all of its instances.\n"
        for level in Level.allCases where level != .instances {
            text += "  \(level.rawValue): " + level.columns.map(\.name).joined(separator: ", ") + "\n"
        }
        text += "Example: find studies where modality = 'MR' order by date desc limit 10\n\n"
        return text
    }

    static var metaCommands: String {
        let width = MetaCommand.catalogue.map { ($0.name + " " + $0.arguments).count }.max() ?? 0
        return "Meta-commands:\n"
            + MetaCommand.catalogue.map { entry in
                let head = (entry.name + " " + entry.arguments).padding(toLength: width, withPad: " ", startingAt: 0)
                return "  \(head)  \(entry.summary)\n"
            }.joined() + "\n" + keys
    }

    /// The line editor's keys worth knowing.
    static let keys = """
        Keys: Tab completes (fields, keywords, values, paths); Up and Down walk the history;
        Ctrl-R searches it (type part of a statement, Enter runs it); Ctrl-C cancels the line or
        the running statement; Ctrl-D on an empty line quits.
        Variables: \\set NAME VALUE or dql -v NAME=VALUE, then :NAME (as written) or :'NAME' (quoted).

        """
}

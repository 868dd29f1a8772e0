import DQL

/// `\help` and `\?`: the statements' syntax with an example each, and the meta-commands.
enum HelpText {
    static let statements: [(name: String, synopsis: String, example: String)] = [
        (
            "find",
            "find [* | FIELD, …] [where CONDITION] [order by FIELD [asc|desc]] [limit N [offset M]] [fetch to PATH]",
            "find where protocol = '194' and year = 2019 fetch to ./out"
        ),
        (
            "count", "count [where CONDITION] [by FIELD, …] [order by count|FIELD [asc|desc]] [limit N]",
            "count by modality, year order by count desc"
        ),
        ("show", "show NAME|ID", "show 'CT_small.dcm'"),
        ("fetch", "fetch NAME|ID to PATH", "fetch 'CT_small.dcm' to ./out"),
        ("load", "load PATH [recursive] [chunk SIZE] [connections N]", "load ./scans recursive"),
        ("delete", "delete where CONDITION", "delete where patientId = 'ANON123'"),
        ("vacuum", "vacuum", "vacuum"),
        ("explain", "explain STATEMENT", "explain count by protocol"),
        ("fields", "fields", "fields"),
        ("stats", "stats", "stats"),
        ("set", "set chunk SIZE | connections N | timeout MS | format FORMAT | timing on|off", "set chunk 1MB"),
    ]

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
            let closest = statements.map(\.name).min { editDistance($0, key) < editDistance($1, key) }
            throw SessionError(
                "no help for '\(topic)'" + (closest.map { "; did you mean '\($0)'?" } ?? "")
                    + " (statements: \(statements.map(\.name).joined(separator: ", ")))")
        }
        return "\(statement.synopsis)\n\nExample:\n  \(statement.example)\n\n"
            + (["find", "count", "delete"].contains(key) ? conditions : "")
    }

    static var metaCommands: String {
        let width = MetaCommand.catalogue.map { ($0.name + " " + $0.arguments).count }.max() ?? 0
        return "Meta-commands:\n"
            + MetaCommand.catalogue.map { entry in
                let head = (entry.name + " " + entry.arguments).padding(toLength: width, withPad: " ", startingAt: 0)
                return "  \(head)  \(entry.summary)\n"
            }.joined()
    }
}

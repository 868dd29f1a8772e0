import Foundation
import RedisIO
import TestSupport
import Testing

@testable import DQL

/// docs/DQL.md shows statements with the commands they compile to; this keeps them true.
@Suite struct DocumentationTests {
    @Test func everyDocumentedExampleCompilesToTheDocumentedCommands() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/DQL.md"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var examples: [(statement: String, commands: [String])] = []
        var index = 0
        while index < lines.count {
            guard lines[index] == "```dql" else { index += 1; continue }
            let statement = lines[index + 1]
            // ```dql, the statement, ```, then ```redis and its lines.
            guard index + 3 < lines.count, lines[index + 2] == "```", lines[index + 3] == "```redis" else {
                index += 1
                continue
            }
            var commands: [String] = []
            var cursor = index + 4
            while cursor < lines.count && lines[cursor] != "```" {
                commands.append(lines[cursor])
                cursor += 1
            }
            examples.append((statement, commands))
            index = cursor
        }
        #expect(examples.count >= 10)
        for message in DiagnosticTests.catalogue {
            #expect(text.contains("| \(message.id) |"), "docs/DQL.md lists \(message.id)")
        }
        for example in examples {
            let compiled = try Compiler().compile(example.statement).commands.map { RedisCommand($0).description }
            #expect(compiled == example.commands, "\(example.statement)")
        }
    }
}

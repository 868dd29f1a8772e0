import Foundation
import TestSupport
import Testing

@testable import DQL

/// The fuzzer's idea in the normal suite: real statements (the examples, the reference's and
/// the user's scenarios) damaged deterministically, by truncation, byte flips, insertions of
/// the characters that make parsers go wrong, and repetition. Parsing and compiling never trap,
/// and every diagnostic renders as a few short lines.
@Suite struct DQLMutationTests {
    static func seeds() throws -> [String] {
        var seeds = [
            "find where protocol='194' and year=2019 fetch to ./out", "count by protocol",
            "show 'CT_small.dcm'", "explain count where modality = 'CT' by sex order by count desc limit 3",
            "find name, rows where (modality in ('CT', 'MR') or not size > 1MB) and date between 2019-01-01 and 2019-12-31 order by size desc limit 5 offset 2",
            "load ~/scans recursive chunk 512KB connections 8 window 4", "set timeout = 500",
            "find where patient like 'Doe*' and protocol contains 'fast pilot' and bodyPart is not missing",
            "delete where patientId = 'PX0'\n  and year = 2019", "find where name = 'Ren\\u00e9e\\U0001F600\\u{e9}'",
        ]
        let examples = repositoryRoot.appendingPathComponent("examples")
        for name in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted()
        where name.hasSuffix(".dql") {
            seeds.append(try String(contentsOf: examples.appendingPathComponent(name), encoding: .utf8))
        }
        return seeds
    }

    /// Parses and compiles `source`, rendering any diagnostic; fails the test if a diagnostic
    /// is long or points outside the text.
    static func exercise(_ source: String) {
        let (statements, error) = Parser.parseUntilError(source)
        var errors = error.map { [$0] } ?? []
        for parsed in statements {
            do {
                _ = try Compiler().compile(parsed.statement).commands
            } catch {
                errors.append(error)
            }
        }
        for error in errors {
            let rendered = error.rendered(source: source, file: "m.dql")
            #expect(rendered.utf8.count < 1_500, "\(source.debugDescription): \(rendered)")
            #expect(error.range.start.offset <= source.utf8.count && error.range.end.offset <= source.utf8.count)
            #expect(error.range.start <= error.range.end || error.range.start.offset == error.range.end.offset)
        }
    }

    @Test func damagedStatementsNeverTrap() throws {
        var random = SplitMix64(seed: 2026)
        let inserts = [
            "(", ")", "'", "\"", "\\", "\\u", "\\U", "\\u{", "not ", "and ", " or", "--", ";", "\n", "\0", "*", "?",
            "1e400", "9223372036854775807", "-", ".", "~", "`", "\u{1B}", "é", "日本", "🙂", "64GB", "between ",
        ]
        var runs = 0
        for seed in try Self.seeds() {
            let bytes = Array(seed.utf8)
            // Every truncation.
            for end in 0...bytes.count {
                Self.exercise(String(decoding: bytes[0..<end], as: UTF8.self))
                runs += 1
            }
            for _ in 0..<300 {
                var mutated = bytes
                switch random.next() % 4 {
                case 0:
                    let position = Int(random.next() % UInt64(max(1, mutated.count)))
                    if position < mutated.count { mutated[position] ^= UInt8(1 << (random.next() % 8)) }
                case 1:
                    let position = Int(random.next() % UInt64(mutated.count + 1))
                    mutated.insert(
                        contentsOf: Array(inserts[Int(random.next() % UInt64(inserts.count))].utf8), at: position)
                case 2:
                    let start = Int(random.next() % UInt64(mutated.count + 1))
                    let end = min(mutated.count, start + Int(random.next() % 16))
                    let piece = Array(mutated[start..<end])
                    for _ in 0..<Int(random.next() % 200) { mutated.insert(contentsOf: piece, at: start) }
                default:
                    if !mutated.isEmpty { mutated.remove(at: Int(random.next() % UInt64(mutated.count))) }
                }
                Self.exercise(String(decoding: mutated, as: UTF8.self))
                runs += 1
            }
        }
        #expect(runs > 4_000)
    }

    /// Shapes that exhaust a recursive parser or a naive suggestion, each once.
    @Test func pathologicalShapes() {
        for count in [63, 64, 65, 1_000, 20_000] {
            Self.exercise(
                "count where " + String(repeating: "(", count: count) + "rows = 1"
                    + String(repeating: ")", count: count))
            Self.exercise("count where " + String(repeating: "not ", count: count) + "rows = 1")
            Self.exercise("count where rows in (" + Array(repeating: "1", count: count).joined(separator: ",") + ")")
            Self.exercise("count where " + Array(repeating: "rows = 1", count: count).joined(separator: " and "))
        }
        Self.exercise(String(repeating: "'", count: 10_001))
        Self.exercise(String(repeating: "\\", count: 10_001))
        Self.exercise("find where name = '" + String(repeating: "\\u", count: 5_000))
        Self.exercise(String(repeating: "x", count: 1_000_000))
        Self.exercise(String(repeating: "\n", count: 100_000) + "fnd")
        Self.exercise(String(repeating: "find;", count: 20_000))
    }
}

import Foundation
import Testing

@testable import DQL

#if canImport(Glibc)
    import Glibc
#endif

/// The walker gives each file its name and the absolute path its document records under
/// `sources`, made once per walk from the root: the same text for any way the root is written.
@Suite struct FileWalkerTests {
    /// A tree with a nested directory and a link to it, removed afterwards.
    private static func tree() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dql-walk-\(UUID().uuidString.prefix(8))")
        let nested = root.appendingPathComponent("study/series one")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        for (directory, name) in [(root, "a.dcm"), (nested, "b.dcm"), (nested, "ü ∂.dcm")] {
            try Data([1, 2, 3]).write(to: directory.appendingPathComponent(name))
        }
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("linked").path, withDestinationPath: nested.path)
        return root
    }

    /// The root written with `.`, `..`, doubled and trailing slashes, and relative to the
    /// working directory.
    private static func spellings(of root: URL) -> [String] {
        let absolute = root.path
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + absolute.dropFirst()
        return [
            absolute, absolute + "/", absolute + "/./study/..", absolute + "//study/../", relative,
            "./" + relative,
        ]
    }

    @Test func sourcesAreAbsoluteAndStandardHoweverTheRootIsWritten() throws {
        let root = try Self.tree()
        defer { try? FileManager.default.removeItem(at: root) }
        for spelling in Self.spellings(of: root) {
            let walk = try FileWalker.walk(spelling, recursive: true)
            #expect(walk.files.count == 3, "\(spelling): \(walk.files.map(\.path))")
            for entry in walk.files {
                let url = URL(fileURLWithPath: entry.path)
                #expect(entry.name == url.lastPathComponent, "\(entry.path)")
                // The path as walked below the root, links kept: Foundation's standardizing
                // (what the loader did per file before) resolved the link only when the root
                // was written with `..`, so one file got two sources.
                let below = entry.path.dropFirst(spelling.count).drop { $0 == "/" }
                #expect(entry.source == root.path + "/" + below, "\(spelling): \(entry.path)")
                #expect(entry.source.hasPrefix(root.path + "/"), "\(entry.source)")
                #expect(!entry.source.contains("/./") && !entry.source.contains("/../"), "\(entry.source)")
            }
        }
    }

    @Test func aSingleFileAndAFileThroughALinkKeepTheirNames() throws {
        let root = try Self.tree()
        defer { try? FileManager.default.removeItem(at: root) }
        let one = try FileWalker.walk(root.path + "/study/../a.dcm", recursive: false)
        #expect(one.files.map(\.name) == ["a.dcm"])
        #expect(one.files.map(\.source) == [root.path + "/a.dcm"])
        // Through the link: the path as walked, not where the link points.
        let linked = try FileWalker.walk(root.path + "/linked", recursive: false)
        #expect(linked.files.map(\.name) == ["b.dcm", "ü ∂.dcm"])
        #expect(linked.files.map(\.source) == [root.path + "/linked/b.dcm", root.path + "/linked/ü ∂.dcm"])
    }
}

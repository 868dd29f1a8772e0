import Foundation

/// Finds corpus files by their oracle name, e.g. `pydicom/test_files/CT_small.dcm`.
public enum Corpus {
    public static func path(_ name: String) throws -> String {
        let oracle = try cachedOracle()
        guard let file = oracle.files.first(where: { $0.name == name }) else {
            throw TestSetupError("no corpus file named \(name)")
        }
        return file.path
    }

    public static func cachedOracle() throws -> Oracle {
        try OracleCache.shared.get()
    }

    /// The installed folders the corpus comes from.
    public static func roots() throws -> [String] {
        var roots: Set<String> = []
        for file in try Corpus.cachedOracle().files {
            // `pydicom/test_files/x/y.dcm` lives at `<root>/x/y.dcm` where the label has one
            // component for pydicom-data and two for pydicom's folders.
            let components = file.name.split(separator: "/")
            let labelCount = components.first == "pydicom" ? 2 : 1
            let relative = components.dropFirst(labelCount).joined(separator: "/")
            roots.insert(String(file.path.dropLast(relative.count + 1)))
        }
        return roots.sorted()
    }
}

private final class OracleCache: @unchecked Sendable {
    static let shared = OracleCache()
    private let lock = NSLock()
    private var oracle: Oracle?

    func get() throws -> Oracle {
        try lock.withLock {
            if let oracle { return oracle }
            let loaded = try Oracle.load()
            oracle = loaded
            return loaded
        }
    }

}

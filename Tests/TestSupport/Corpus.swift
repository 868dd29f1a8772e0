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

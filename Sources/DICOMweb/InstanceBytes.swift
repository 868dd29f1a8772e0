import Crypto
import DQL

/// The bytes of one stored instance for a frames or bulk data answer. A file up to
/// ``checkedLimit`` is read whole once and checked (``StoredFile/check``) before any range of it
/// is served, so damaged chunks are a 500 and never wrong bytes with a 200. A larger file is
/// read range by range, unchecked: checking a frame of a 1 GiB slide would read all of it.
struct InstanceBytes {
    /// The largest file read whole and checked.
    static let checkedLimit = 64 << 20

    let file: StoredFile
    let executor: Executor
    private let whole: [UInt8]?

    /// Reads and checks the file now when it is at most `checkedUpTo` bytes.
    init(_ file: StoredFile, executor: Executor, checkedUpTo limit: Int = checkedLimit) throws {
        self.file = file
        self.executor = executor
        guard file.size <= limit else {
            whole = nil
            return
        }
        let bytes = try Self.read(file, in: 0..<file.size, executor: executor)
        guard file.check.matches(bytes) else { throw RetrieveStream.damaged(file) }
        whole = bytes
    }

    /// Whether the bytes served were checked against the file's SHA-256.
    var isChecked: Bool { whole != nil }

    var size: Int { file.size }

    /// The bytes `range` of the file (inside it).
    func bytes(in range: Range<Int>) throws -> [UInt8] {
        if let whole { return range == whole.indices ? whole : Array(whole[range]) }
        return try Self.read(file, in: range, executor: executor)
    }

    /// The bytes `range` of a stored file, read from the Redis socket straight into the array
    /// (``Executor/read(_:into:at:)``): through hiredis's reply objects, a 132 KB slice took two
    /// more copies and 16 KB reads, and `/frames/1` twice the server time of the instance.
    static func read(_ file: StoredFile, in range: Range<Int>, executor: Executor) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: range.count) { buffer, count in
            count = 0
            try executor.read([(file, range)], into: UnsafeMutableRawBufferPointer(buffer))
            count = range.count
        }
    }
}

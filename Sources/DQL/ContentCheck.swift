import CXXHash
import Crypto
import DicomCore

/// What a file's bytes are checked against when they are read back from the store. A load
/// records both the file's SHA-256 (its id: what deduplicates and names it) and its XXH3-64,
/// computed from the same bytes; reads check the XXH3 (memory speed, about 15 times SHA-256's
/// rate on this machine, so checking costs a small share of a transfer instead of up to half of
/// it). Documents without one (written before it was recorded, or that have no room for it:
/// see ``FileDocument/json``) are checked against their SHA-256.
///
/// The check catches damaged, missing, swapped or truncated chunks; it is not a defence
/// against someone who can write to the store, who could rewrite the document as well.
public enum ContentCheck: Sendable, Hashable {
    case xxh3(UInt64)
    case sha256(String)

    /// The check for the file `id`, by its recorded XXH3 when there is one.
    public init(id: String, xxh3: UInt64?) {
        self = xxh3.map { .xxh3($0) } ?? .sha256(id)
    }

    /// The digest the bytes must have, as ``ContentHasher/finish()`` writes it.
    public var expected: String {
        switch self {
        case .xxh3(let value): Self.text(xxh3: value)
        case .sha256(let hex): hex
        }
    }

    /// Whether `bytes` are the file.
    public func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .xxh3(let value): Self.xxh3(of: bytes) == value
        case .sha256(let hex): Loader.id(of: bytes) == hex
        }
    }

    /// Whether `bytes` are the file.
    public func matches(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { matches($0) }
    }

    /// A digest of the same kind, fed piece by piece.
    public func hasher() -> ContentHasher {
        switch self {
        case .xxh3: ContentHasher(.xxh3)
        case .sha256: ContentHasher(.sha256)
        }
    }

    /// The XXH3-64 of `bytes`, as a load records it.
    public static func xxh3(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(bytes.baseAddress, bytes.count)
    }

    /// How an XXH3 digest is written in messages: `xxh3:` and its 16 hex digits, as a
    /// document stores it.
    static func text(xxh3 value: UInt64) -> String { "xxh3:" + HexDigits.lowercase(value) }

    /// The recorded XXH3 from a document's stored value, or nil when there is none (or it is
    /// not 16 hex digits).
    public static func recordedXXH3(_ text: String?) -> UInt64? {
        guard let text, text.utf8.count == 16 else { return nil }
        return UInt64(text, radix: 16)
    }

    /// ``recordedXXH3(_:)`` from a value of a `JSON.GET` reply parsed by JSONSerialization.
    static func recordedXXH3(jsonValue value: Any?) -> UInt64? {
        recordedXXH3(value as? String)
    }
}

/// A digest fed piece by piece, in order (see ``ContentCheck``).
public final class ContentHasher {
    enum Kind { case xxh3, sha256 }

    private var sha: SHA256?
    private let state: OpaquePointer?

    init(_ kind: Kind) {
        switch kind {
        case .sha256:
            sha = SHA256()
            state = nil
        case .xxh3:
            sha = nil
            state = XXH3_createState()
            if let state { XXH3_64bits_reset(state) }
        }
    }

    deinit {
        if let state { XXH3_freeState(state) }
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        if let state {
            XXH3_64bits_update(state, bytes.baseAddress, bytes.count)
        } else {
            sha?.update(bufferPointer: bytes)
        }
    }

    /// The digest, written as ``ContentCheck/expected`` writes it.
    public func finish() -> String {
        if let state { return ContentCheck.text(xxh3: XXH3_64bits_digest(state)) }
        return HexDigits.lowercase((sha ?? SHA256()).finalize())
    }
}

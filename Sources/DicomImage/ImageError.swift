/// Why a frame cannot be decoded or shown: said in terms of the file's attributes.
public struct ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// The caller stopped the work (Ctrl-C) while a decoder ran.
    public static let cancelled = ImageError("cancelled")
}

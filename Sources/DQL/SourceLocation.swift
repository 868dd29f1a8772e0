/// A position in DQL source text: 1-based line and column (in characters), 0-based byte offset.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public static let start = SourceLocation(line: 1, column: 1, offset: 0)

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool { lhs.offset < rhs.offset }

    public var description: String { "\(line):\(column)" }

    /// The location after `scalar`, read at this one.
    public mutating func advance(past scalar: Unicode.Scalar) {
        offset += scalar.utf8.count
        if scalar == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
    }

    /// The location of byte `offset` in `text` (the end of the text if it is past it).
    public init(byte offset: Int, in text: String) {
        var location = SourceLocation.start
        for scalar in text.unicodeScalars {
            guard location.offset < offset else { break }
            location.advance(past: scalar)
        }
        self = location
    }
}

/// A span of source text, from `start` up to (not including) `end`.
public struct SourceRange: Sendable, Hashable, CustomStringConvertible {
    public var start: SourceLocation
    public var end: SourceLocation

    public init(_ start: SourceLocation, _ end: SourceLocation) {
        self.start = start
        self.end = end
    }

    /// The range covering both.
    public func union(_ other: SourceRange) -> SourceRange {
        SourceRange(min(start, other.start), max(end, other.end))
    }

    public var description: String { start.description }
}

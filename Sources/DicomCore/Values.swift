/// One or more values of an element, the first stored inline: most elements hold a single
/// value, and this way reading one allocates no array for it.
public struct Values<Element: Sendable & Equatable>: RandomAccessCollection, Sendable, Equatable,
    ExpressibleByArrayLiteral, CustomStringConvertible
{
    public let head: Element
    public let tail: [Element]

    public init(_ head: Element, tail: [Element] = []) {
        self.head = head
        self.tail = tail
    }

    /// For literals in code; a literal must not be empty.
    public init(arrayLiteral elements: Element...) {
        precondition(!elements.isEmpty, "Values needs at least one element")
        self.init(elements[0], tail: Array(elements.dropFirst()))
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { tail.count + 1 }

    public subscript(position: Int) -> Element {
        position == 0 ? head : tail[position - 1]
    }

    public var description: String { Array(self).description }
}

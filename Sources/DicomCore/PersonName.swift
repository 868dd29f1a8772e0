/// A person name (PN): up to three component groups (alphabetic, ideographic, phonetic), each
/// with `^`-separated components (family, given, middle, prefix, suffix).
public struct PersonName: Sendable, Hashable, CustomStringConvertible {
    /// The component groups as written, split on `=`.
    public var groups: [String]

    public init(groups: [String]) {
        self.groups = groups
    }

    /// Parses `Yamada^Tarou=山田^太郎=やまだ^たろう`. Empty trailing groups are dropped, so
    /// `Wang^XiaoDong=王^小東=` has two groups.
    public init(_ text: String) {
        groups = text.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
            .droppingTrailingEmptyGroups()
    }

    public var alphabetic: String { groups.first ?? "" }
    public var ideographic: String { groups.count > 1 ? groups[1] : "" }
    public var phonetic: String { groups.count > 2 ? groups[2] : "" }

    /// The family name of the alphabetic group.
    public var familyName: String {
        alphabetic.split(separator: "^", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    }

    /// The name as written: groups joined with `=`.
    public var description: String { groups.joined(separator: "=") }
}

extension Array where Element == String {
    func droppingTrailingEmptyGroups() -> [String] {
        var groups = self
        while groups.last?.isEmpty == true { groups.removeLast() }
        return groups
    }
}

/// The one order of values dql sorts by itself (rows of a level read key by key, files of a
/// header scan, groups counted from headers): numbers as numbers, text by its UTF-8 bytes, and
/// a missing value after every present one, whichever the direction.
enum ValueOrder {
    /// Whether `a` comes before `b` (nil: neither, they are equal).
    static func precedes(_ a: String?, _ b: String?, numeric: Bool, _ direction: SortOrder = .ascending) -> Bool? {
        if a == b { return nil }
        guard let a else { return false }
        guard let b else { return true }
        let ascending: Bool
        if numeric, let x = RowFilter.number(a), let y = RowFilter.number(b) {
            if x == y { return nil }
            ascending = x < y
        } else {
            ascending = a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        return direction == .ascending ? ascending : !ascending
    }

    /// Whether `a` comes before `b` by the first of the keys on which they differ.
    static func precedes(_ keys: [(a: String?, b: String?, numeric: Bool, direction: SortOrder)]) -> Bool {
        for key in keys {
            if let first = precedes(key.a, key.b, numeric: key.numeric, key.direction) { return first }
        }
        return false
    }
}

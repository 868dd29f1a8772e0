/// The one order of values dql sorts by itself (rows of a level read key by key, files of a
/// header scan, groups counted from headers): numbers as numbers, text by its UTF-8 bytes, and
/// a missing value after every present one, whichever the direction.
enum ValueOrder {
    /// Whether `a` comes before `b` (nil: neither, they are equal). Numbers that are equal as
    /// numbers but written differently (`40`, `40\\40\\40`) go by their text, so the order is
    /// the same every time.
    static func precedes(_ a: String?, _ b: String?, numeric: Bool, _ direction: SortOrder = .ascending) -> Bool? {
        if a == b { return nil }
        guard let a else { return false }
        guard let b else { return true }
        let ascending: Bool
        // Several values (`10\\10`) sort by the first.
        if numeric, let x = RowFilter.number(first(a)), let y = RowFilter.number(first(b)), x != y {
            ascending = x < y
        } else {
            ascending = a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        return direction == .ascending ? ascending : !ascending
    }

    private static func first(_ value: String) -> String {
        value.firstIndex(of: "\\").map { String(value[..<$0]) } ?? value
    }

    /// Whether `a` comes before `b` by the first of the keys on which they differ.
    static func precedes(_ keys: [(a: String?, b: String?, numeric: Bool, direction: SortOrder)]) -> Bool {
        for key in keys {
            if let first = precedes(key.a, key.b, numeric: key.numeric, key.direction) { return first }
        }
        return false
    }
}

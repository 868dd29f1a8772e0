/// "Did you mean …?": the one place that picks the closest known word to a mistyped one, for
/// statements, keywords, fields, settings, meta-commands and help topics alike.
///
/// The cost is bounded whatever the input: a word much longer than every candidate cannot be
/// close to any of them and is not compared at all, and each comparison stops as soon as the
/// distance is past the threshold.
public enum Suggestion {
    /// The candidate closest to `word` (ignoring case), if it is close enough to be a likely
    /// typo: at most `maximumDistance` edits, by default 2, or a third of the word's length for
    /// long words. Ties go to the earlier candidate.
    public static func closest(
        to word: String, among candidates: some Sequence<String>, maximumDistance: Int? = nil
    ) -> String? {
        let typed = Array(word.lowercased().unicodeScalars)
        guard !typed.isEmpty else { return nil }
        // Never as far as the word's own length: that is another word, not a typo of one.
        let threshold = min(maximumDistance ?? max(2, typed.count / 3), max(1, typed.count - 1))
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let known = Array(candidate.lowercased().unicodeScalars)
            guard abs(known.count - typed.count) <= threshold else { continue }
            let limit = min(threshold, (best?.distance ?? threshold + 1) - 1)
            guard limit >= 0, let distance = boundedDistance(typed, known, limit: limit) else { continue }
            best = (candidate, distance)
            if distance == 0 { break }
        }
        return best?.candidate
    }

    /// Levenshtein distance between `a` and `b` if it is at most `limit`, else nil. Rows stop
    /// early once every entry exceeds the limit.
    static func boundedDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int) -> Int? {
        if a.isEmpty { return b.count <= limit ? b.count : nil }
        if b.isEmpty { return a.count <= limit ? a.count : nil }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum > limit { return nil }
            swap(&previous, &current)
        }
        return previous[b.count] <= limit ? previous[b.count] : nil
    }
}

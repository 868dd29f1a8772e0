import Foundation

/// A condition evaluated by dql on a file's values, for the conditions the index cannot answer
/// (attributes that are not indexed, read from the stored headers). It means what the server
/// means for indexed fields: text compares ignoring case, with whitespace runs collapsed; a
/// field with several values matches when any value matches (`like` too), and `=` also when the
/// whole value as `dump` prints it (`ORIGINAL\PRIMARY`) does, or all of the values written
/// that way are among its values; numbers and dates compare as numbers.
struct RowFilter: Sendable {
    let condition: Condition

    /// Checks every literal against its field once, so a wrong value is an error at its place
    /// before anything runs.
    init(_ condition: Condition) throws(DQLError) {
        self.condition = condition
        try Self.validate(condition)
    }

    /// The values of a field for one file: text as stored or read (several values each on its
    /// own), dates as YYYYMMDD.
    typealias Values = (Field) -> [String]

    func matches(_ values: Values) -> Bool {
        Self.evaluate(condition, values)
    }

    private static func validate(_ condition: Condition) throws(DQLError) {
        let builder = QueryBuilder()
        switch condition {
        case .and(let terms), .or(let terms):
            for term in terms { try validate(term) }
        case .not(let inner): try validate(inner)
        case .missing: break
        case .compare(let reference, let comparison, let literal):
            if reference.field.kind == .tag {
                _ = try builder.text(literal, for: reference)
                if comparison != .equal && comparison != .notEqual {
                    throw DQLError(
                        .comparisonOnText(comparison: comparison.rawValue, field: reference.field.name),
                        at: reference.range.union(literal.range))
                }
            } else {
                _ = try builder.bounds(reference, literal)
            }
        case .oneOf(let reference, let literals):
            for literal in literals {
                try validate(.compare(reference, .equal, literal))
            }
        case .between(let reference, let low, let high):
            guard reference.field.kind != .tag else {
                throw DQLError(.betweenOnText(field: reference.field.name), at: reference.range)
            }
            let lower = try builder.bounds(reference, low).lower
            let upper = try builder.bounds(reference, high).upper
            if upper < lower {
                throw DQLError(
                    .betweenReversed(low: Compiler.format(lower), high: Compiler.format(upper)),
                    at: low.range.union(high.range))
            }
        case .like(let reference, let literal), .contains(let reference, let literal):
            guard reference.field.kind == .tag else {
                throw DQLError(
                    .likeOnNonText(field: reference.field.name, type: reference.field.kindName), at: reference.range)
            }
            _ = try builder.text(literal, for: reference)
        }
    }

    private static func evaluate(_ condition: Condition, _ values: Values) -> Bool {
        let builder = QueryBuilder()
        switch condition {
        case .and(let terms): return terms.allSatisfy { evaluate($0, values) }
        case .or(let terms): return terms.contains { evaluate($0, values) }
        case .not(let inner): return !evaluate(inner, values)
        case .missing(let reference): return values(reference.field).isEmpty
        case .compare(let reference, let comparison, let literal):
            let stored = values(reference.field)
            if reference.field.kind == .tag {
                guard let text = try? builder.text(literal, for: reference) else { return false }
                let equal = textEquals(stored, text, field: reference.field)
                return comparison == .notEqual ? !equal : equal
            }
            guard let (lower, upper) = try? builder.bounds(reference, literal) else { return false }
            let numbers = stored.compactMap(number)
            switch comparison {
            case .equal: return numbers.contains { $0 >= lower && $0 <= upper }
            case .notEqual: return !numbers.contains { $0 >= lower && $0 <= upper }
            case .less: return numbers.contains { $0 < lower }
            case .lessOrEqual: return numbers.contains { $0 <= upper }
            case .greater: return numbers.contains { $0 > upper }
            case .greaterOrEqual: return numbers.contains { $0 >= lower }
            }
        case .oneOf(let reference, let literals):
            return literals.contains { evaluate(.compare(reference, .equal, $0), values) }
        case .between(let reference, let low, let high):
            guard let lower = try? builder.bounds(reference, low).lower,
                let upper = try? builder.bounds(reference, high).upper
            else { return false }
            return values(reference.field).compactMap(number).contains { $0 >= lower && $0 <= upper }
        case .like(let reference, let literal):
            guard let text = try? builder.text(literal, for: reference) else { return false }
            // Each value on its own, as the index matches a pattern.
            let pattern = LikePattern(text.lowercased())
            return values(reference.field).contains { pattern.matches($0.lowercased()) }
        case .contains(let reference, let literal):
            guard let text = try? builder.text(literal, for: reference) else { return false }
            let wanted = words(text)
            guard !wanted.isEmpty else { return false }
            let present = Set(values(reference.field).flatMap(words))
            return wanted.allSatisfy(present.contains)
        }
    }

    /// `=` on text: one of the values, the whole value, or (written with `\`) all of its parts.
    private static func textEquals(_ stored: [String], _ text: String, field: Field) -> Bool {
        let lowered = stored.map { field.normalize($0).lowercased() }
        let wanted = text.lowercased()
        if lowered.contains(wanted) || lowered.joined(separator: "\\") == wanted { return true }
        let parts = wanted.split(separator: "\\").map { field.normalize(String($0)) }.filter { !$0.isEmpty }
        return parts.count > 1 && parts.allSatisfy(lowered.contains)
    }

    private static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    /// A stored value as a number: DS and IS text, binary numbers, dates as YYYYMMDD.
    static func number(_ text: String) -> Double? {
        Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
    }
}

extension LikePattern {
    /// Whether `text` matches the pattern as a whole (`*` any run, `?` one character), exactly
    /// as written (lower-case both for a match that ignores case).
    func matches(_ text: String) -> Bool {
        let characters = Array(text)
        // Positions in the pattern reachable after each character of the text.
        var states: Set<Int> = closure([0])
        for character in characters {
            var next: Set<Int> = []
            for state in states where state < pieces.count {
                switch pieces[state] {
                case .anyRun: next.insert(state)
                case .oneCharacter: next.insert(state + 1)
                case .literal(let wanted): if wanted == character { next.insert(state + 1) }
                }
            }
            states = closure(next)
            if states.isEmpty { return false }
        }
        return states.contains(pieces.count)
    }

    /// The states plus those reached by letting a `*` match nothing.
    private func closure(_ states: Set<Int>) -> Set<Int> {
        var result = states
        var pending = Array(states)
        while let state = pending.popLast() {
            if state < pieces.count, pieces[state] == .anyRun, result.insert(state + 1).inserted {
                pending.append(state + 1)
            }
        }
        return result
    }
}

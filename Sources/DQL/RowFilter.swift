import Foundation

/// A condition evaluated by dql on a file's values, for the conditions the index cannot answer
/// (attributes that are not indexed, read from the stored headers). It means what the server
/// means for indexed fields: text compares ignoring case, with whitespace runs collapsed; a
/// field with several values matches when any value matches (`like` too), and `=` also when the
/// whole value as `dump` prints it (`ORIGINAL\PRIMARY`) does, or all of the values written
/// that way are among its values; numbers and dates compare as numbers.
struct RowFilter: Sendable {
    let condition: Condition
    private let node: Node

    /// Compiles the condition once (every literal checked against its field, so a wrong value
    /// is an error at its place before anything runs; lists of values become sets), to be
    /// evaluated on many files.
    init(_ condition: Condition) throws(DQLError) {
        self.condition = condition
        node = try Self.compile(condition)
    }

    /// The values of a field for one file: text as stored or read (several values each on its
    /// own), dates as YYYYMMDD.
    typealias Values = (Field) -> [String]

    func matches(_ values: Values) -> Bool {
        node.matches(values)
    }

    /// A condition ready to evaluate: literals converted, lists as sets.
    private indirect enum Node: Sendable {
        /// `=`, `in`: one of the values (lower-cased), or the whole value, or all the parts of a
        /// value written with `\`.
        case text(Field, Set<String>, parts: [[String]])
        /// `=`, `in` on numbers and dates: a value in one of the intervals (points in a set).
        case numbers(Field, points: Set<Double>, intervals: [(Double, Double)])
        /// `<`, `<=`, `>`, `>=`, `between`.
        case range(Field, lower: (Double, strict: Bool)?, upper: (Double, strict: Bool)?)
        case like(Field, LikePattern)
        case words(Field, [String])
        case missing(Field)
        case all([Node])
        case any([Node])
        case not(Node)

        func matches(_ values: Values) -> Bool {
            switch self {
            case .all(let nodes): return nodes.allSatisfy { $0.matches(values) }
            case .any(let nodes): return nodes.contains { $0.matches(values) }
            case .not(let node): return !node.matches(values)
            case .missing(let field): return values(field).isEmpty
            case .text(let field, let wanted, let parts):
                let stored = values(field).map { field.normalize($0).lowercased() }
                if stored.contains(where: wanted.contains) || wanted.contains(stored.joined(separator: "\\")) {
                    return true
                }
                return parts.contains { $0.allSatisfy(stored.contains) }
            case .numbers(let field, let points, let intervals):
                return values(field).compactMap(RowFilter.number).contains { value in
                    points.contains(value) || intervals.contains { value >= $0.0 && value <= $0.1 }
                }
            case .range(let field, let lower, let upper):
                return values(field).compactMap(RowFilter.number).contains { value in
                    if let lower, lower.strict ? !(value > lower.0) : !(value >= lower.0) { return false }
                    if let upper, upper.strict ? !(value < upper.0) : !(value <= upper.0) { return false }
                    return true
                }
            case .like(let field, let pattern):
                // Each value on its own, as the index matches a pattern.
                return values(field).contains { pattern.matches($0.lowercased()) }
            case .words(let field, let wanted):
                let present = Set(values(field).flatMap(RowFilter.words))
                return wanted.allSatisfy(present.contains)
            }
        }
    }

    private static func compile(_ condition: Condition) throws(DQLError) -> Node {
        let builder = QueryBuilder()
        switch condition {
        case .and(let terms):
            var nodes: [Node] = []
            for term in terms { nodes.append(try compile(term)) }
            return .all(nodes)
        case .or(let terms):
            var nodes: [Node] = []
            for term in terms { nodes.append(try compile(term)) }
            return .any(nodes)
        case .not(let inner): return .not(try compile(inner))
        case .missing(let reference): return .missing(reference.field)
        case .compare(let reference, let comparison, let literal):
            let field = reference.field
            if field.kind == .tag {
                guard comparison == .equal || comparison == .notEqual else {
                    throw DQLError(
                        .comparisonOnText(comparison: comparison.rawValue, field: field.name),
                        at: reference.range.union(literal.range))
                }
                let equal = try compile(.oneOf(reference, [literal]))
                return comparison == .equal ? equal : .not(equal)
            }
            let (lower, upper) = try builder.bounds(reference, literal)
            switch comparison {
            case .equal: return try compile(.oneOf(reference, [literal]))
            case .notEqual: return .not(try compile(.oneOf(reference, [literal])))
            case .less: return .range(field, lower: nil, upper: (lower, true))
            case .lessOrEqual: return .range(field, lower: nil, upper: (upper, false))
            case .greater: return .range(field, lower: (upper, true), upper: nil)
            case .greaterOrEqual: return .range(field, lower: (lower, false), upper: nil)
            }
        case .oneOf(let reference, let literals):
            let field = reference.field
            if field.kind == .tag {
                var wanted: Set<String> = []
                var parts: [[String]] = []
                for literal in literals {
                    let text = try builder.text(literal, for: reference).lowercased()
                    wanted.insert(text)
                    let split = text.split(separator: "\\").map { field.normalize(String($0)) }.filter { !$0.isEmpty }
                    if split.count > 1 { parts.append(split) }
                }
                return .text(field, wanted, parts: parts)
            }
            var points: Set<Double> = []
            var intervals: [(Double, Double)] = []
            for literal in literals {
                let (lower, upper) = try builder.bounds(reference, literal)
                if lower == upper { points.insert(lower) } else { intervals.append((lower, upper)) }
            }
            return .numbers(field, points: points, intervals: intervals)
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
            return .range(reference.field, lower: (lower, false), upper: (upper, false))
        case .like(let reference, let literal), .contains(let reference, let literal):
            guard reference.field.kind == .tag else {
                throw DQLError(
                    .likeOnNonText(field: reference.field.name, type: reference.field.kindName), at: reference.range)
            }
            let text = try builder.text(literal, for: reference)
            if case .like = condition { return .like(reference.field, LikePattern(text.lowercased())) }
            let wanted = words(text)
            guard !wanted.isEmpty else { throw DQLError(.containsWithoutWords, at: literal.range) }
            return .words(reference.field, wanted)
        }
    }

    static func words(_ text: String) -> [String] {
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

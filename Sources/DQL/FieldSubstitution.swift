/// Rewriting the fields a statement refers to: an attribute the index holds (`index KEYWORD`)
/// is parsed as a header attribute and becomes its indexed field before compiling.
extension FieldReference {
    func mapping(_ transform: (Field) -> Field) -> FieldReference {
        FieldReference(field: transform(field), range: range)
    }
}

extension Condition {
    func mappingFields(_ transform: (Field) -> Field) -> Condition {
        switch self {
        case .compare(let reference, let comparison, let literal):
            .compare(reference.mapping(transform), comparison, literal)
        case .oneOf(let reference, let literals): .oneOf(reference.mapping(transform), literals)
        case .between(let reference, let low, let high): .between(reference.mapping(transform), low, high)
        case .like(let reference, let literal): .like(reference.mapping(transform), literal)
        case .contains(let reference, let literal): .contains(reference.mapping(transform), literal)
        case .missing(let reference): .missing(reference.mapping(transform))
        case .and(let terms): .and(terms.map { $0.mappingFields(transform) })
        case .or(let terms): .or(terms.map { $0.mappingFields(transform) })
        case .not(let inner): .not(inner.mappingFields(transform))
        }
    }
}

extension Statement {
    func mappingFields(_ transform: (Field) -> Field) -> Statement {
        switch self {
        case .find(var find):
            find.condition = find.condition?.mappingFields(transform)
            if case .fields(let references) = find.projection {
                find.projection = .fields(references.map { $0.mapping(transform) })
            }
            find.order = find.order.map { Ordering(field: $0.field.mapping(transform), direction: $0.direction) }
            return .find(find)
        case .count(var count):
            count.condition = count.condition?.mappingFields(transform)
            count.groupBy = count.groupBy.map { $0.mapping(transform) }
            if case .field(let reference, let direction) = count.order {
                count.order = .field(reference.mapping(transform), direction)
            }
            return .count(count)
        case .delete(let condition, let level): return .delete(condition.mappingFields(transform), level: level)
        case .explain(let inner): return .explain(inner.mappingFields(transform))
        case .show, .showLevel, .preview, .fetch, .load, .vacuum, .migrate, .fields, .stats, .set, .index, .unindex:
            return self
        }
    }
}

import DicomCore
import Foundation
import RedisIO

/// The attributes added to the index with `index KEYWORD`, beyond dql's own fields: recorded
/// in a hash beside the index (`PREFIX:{m}:attributes`, attribute key → `TAG STATE`) so every
/// shell sees them. An attribute is `filling` from the moment `index` starts (loads write it
/// from then on, and the statement fills it into every stored document) and `ready` once every
/// document has it (only then do queries use the index for it).
public struct IndexedAttributes: Sendable, Equatable {
    public enum State: String, Sendable {
        case filling, ready
    }

    /// Each attribute's field (in its indexed form) and state, in the order they were added.
    public var entries: [(field: Field, state: State)] = []

    public init(entries: [(field: Field, state: State)] = []) {
        self.entries = entries
    }

    public static func == (lhs: IndexedAttributes, rhs: IndexedAttributes) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.field == $1.field && $0.state == $1.state }
    }

    /// The attributes loads write into documents (filling or ready).
    public var written: [Field] { entries.map(\.field) }

    /// The indexed field of each attribute queries may use.
    public var ready: [DicomTag: Field] {
        var result: [DicomTag: Field] = [:]
        for entry in entries where entry.state == .ready {
            if let tag = entry.field.tag { result[tag] = entry.field }
        }
        return result
    }

    /// Where the record lives (same slot as the index).
    public static func key(_ layout: StorageLayout) -> String { "\(layout.prefix):{m}:attributes" }

    /// The record as the server holds it.
    public static func read(_ connection: RedisConnection, layout: StorageLayout) throws -> IndexedAttributes {
        let reply = try connection.call("HGETALL", key(layout))
        var entries: [(field: Field, state: State)] = []
        for (name, value) in reply.textPairs ?? [:] {
            let parts = value.split(separator: " ")
            guard parts.count == 2, let number = UInt32(parts[0], radix: 16),
                let state = State(rawValue: String(parts[1]))
            else { continue }
            let field = indexed(AttributeFields.field(for: DicomTag(number)))
            if field.documentKey == "a." + name { entries.append((field, state)) }
        }
        entries.sort { ($0.field.tag ?? DicomTag(0)) < ($1.field.tag ?? DicomTag(0)) }
        return IndexedAttributes(entries: entries)
    }

    /// The record's value for an attribute.
    static func recordValue(_ field: Field, _ state: State) -> String {
        String(format: "%08X", field.tag?.value ?? 0) + " " + state.rawValue
    }

    /// The record's member name for an attribute (`SliceThickness`, `x00091001`).
    static func recordName(_ field: Field) -> String { String(field.path.dropFirst("$.a.".count)) }

    /// An attribute field as the index holds it.
    static func indexed(_ field: Field) -> Field {
        var indexed = field
        indexed.isIndexed = true
        indexed.summary = field.summary + ", indexed"
        return indexed
    }

    /// Its FT.CREATE / FT.ALTER schema arguments.
    static func schemaArguments(_ field: Field) -> [String] {
        [field.path, "AS", field.attribute]
            + (field.kind == .tag ? ["TAG", "INDEXEMPTY", "INDEXMISSING"] : ["NUMERIC", "INDEXMISSING"])
    }

    /// The value written into a document for an attribute of a header: a string or a number,
    /// or an array of several; nil when the header has none.
    static func documentValue(_ field: Field, _ file: DicomFile) -> JSONValue? {
        let values = Executor.headerValues(field, file)
        let json: [JSONValue] = values.compactMap { value in
            switch field.kind {
            case .tag: return .string(value)
            case .numeric, .date, .year:
                guard let number = RowFilter.number(value) else { return nil }
                if let integer = Int64(exactly: number) { return .integer(integer) }
                return .real(number)
            }
        }
        if json.isEmpty { return nil }
        return json.count == 1 ? json[0] : .array(json)
    }
}

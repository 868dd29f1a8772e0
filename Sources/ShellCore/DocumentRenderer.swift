import DQL
import DicomCore
import Foundation

/// `show`: one stored file. JSON formats print the stored document as it is; the table and
/// CSV list its fields and storage facts, then every header attribute (tag, keyword, VR,
/// value), sequences indented.
enum DocumentRenderer {
    static let columns = ["attribute", "tag", "vr", "value"]

    static func render(id: String, json: String, style: OutputStyle) -> RenderedResult {
        switch style.format {
        case .json, .ndjson:
            return RenderedResult(data: json + "\n")
        case .table, .csv:
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
                return RenderedResult(data: json + "\n", notes: ["the stored document of \(id) is not a JSON object"])
            }
            let rows = rows(of: object)
            if style.format == .csv { return RenderedResult(data: CSV.render(header: columns, rows: rows)) }
            return RenderedResult(
                data: ResultRenderer.table(
                    columns: columns, rows: rows.map { $0.map { $0 ?? "" } }, numeric: [], style: style))
        }
    }

    /// Document keys in the order the document writes them: friendly fields, then storage.
    static let keyOrder: [String] =
        Schema.fields.map { String($0.path.dropFirst(2)) } + [
            "chunkSize", "chunkCount", "loadedAt", "sources", "names", "layout",
        ]

    static func rows(of stored: [String: Any]) -> [[String?]] {
        var document = stored
        // The chunk count follows from the size and chunk size (documents of schema 6 do not
        // store it; older ones may say a stale one, and the layout number nothing reads).
        if let size = document["size"] as? Int, let chunkSize = document["chunkSize"] as? Int {
            document["chunkCount"] = FileDocument.chunkCount(size: size, chunkSize: chunkSize)
        }
        document["layout"] = nil
        if let added = document["a"] as? [String: Any], added.isEmpty { document["a"] = nil }
        var rows: [[String?]] = []
        var seen: Set<String> = []
        let keys = keyOrder.filter { document[$0] != nil } + document.keys.sorted().filter { !keyOrder.contains($0) }
        for key in keys where key != "dicom" && seen.insert(key).inserted {
            if key == "loadedAt", let seconds = document[key] as? Int {
                // Stored as seconds since 1970 (JSON keeps that); shown as a time.
                rows.append([displayName(of: key), nil, nil, Self.timeText(seconds)])
                continue
            }
            // Values of fields as `find` shows them (a date as 2004-08-26).
            let field = Schema.fields.first { $0.documentKey == key }
            // A field's several values as DICOM writes them (`back\slash`), as `find` shows them.
            let value =
                field != nil
                ? ((document[key] as? [String])?.joined(separator: "\\") ?? text(document[key])) : text(document[key])
            let shown = field.flatMap { Executor.display($0, [$0.attribute: value]) }
            rows.append([displayName(of: key), nil, nil, shown ?? value])
        }
        if let dicom = document["dicom"] as? [String: Any] { appendElements(dicom, depth: 0, to: &rows) }
        return rows
    }

    /// What a document key is called where people see it: the field name they type in
    /// conditions (`patient`, not the stored `patientName`; `id`, not `sha256`); storage facts
    /// that are no field (`chunkSize`, `sources`) keep their key.
    static func displayName(of key: String) -> String {
        Schema.fields.first { $0.documentKey == key }?.name ?? key
    }

    /// The name of a header attribute: its keyword; for a private one, the vendor's name for
    /// it from the private dictionary (in brackets, as pydicom shows it), found through the
    /// private creator that reserved its block in the same dataset.
    static func attributeName(of tag: DicomTag, in dataset: [String: Any]) -> String {
        if let keyword = DataDictionary.entry(for: tag)?.keyword, !keyword.isEmpty { return keyword }
        guard tag.isPrivate else { return "" }
        let block = tag.element >> 8
        if block == 0 { return tag.element >= 0x10 ? "Private Creator" : "(private)" }
        let creatorKey = String(format: "%04X00%02X", tag.group, block)
        guard let creatorElement = dataset[creatorKey] as? [String: Any],
            let creator = (creatorElement["Value"] as? [Any])?.first as? String,
            let entry = DataDictionary.privateEntry(
                for: tag, creator: creator.trimmingCharacters(in: .whitespaces))
        else { return "(private)" }
        return "[\(entry.name)]"
    }

    /// `2026-11-30T10:57:54Z`: ISO 8601, UTC.
    static func timeText(_ secondsSince1970: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(secondsSince1970)))
    }

    static func appendElements(_ dataset: [String: Any], depth: Int, to rows: inout [[String?]]) {
        let indent = String(repeating: "> ", count: depth)
        for key in dataset.keys.sorted() {
            guard let element = dataset[key] as? [String: Any], let number = UInt32(key, radix: 16) else { continue }
            let tag = DicomTag(number)
            let vr = element["vr"] as? String ?? ""
            let keyword = attributeName(of: tag, in: dataset)
            var value: String
            let items = vr == "SQ" ? element["Value"] as? [[String: Any]] : nil
            if let items {
                value = plural(items.count, "item")
            } else if let values = element["Value"] as? [Any] {
                value = values.map(valueText).joined(separator: "\\")
            } else if let uri = element["BulkDataURI"] as? String {
                value = "(bulk data \(uri))"
            } else if let inline = element["InlineBinary"] as? String {
                let bytes = Data(base64Encoded: inline)?.count ?? inline.count * 3 / 4
                value = "(binary, \(plural(bytes, "byte")))"
            } else {
                value = ""
            }
            rows.append([indent + keyword, tag.description, vr, value])
            for (number, item) in (items ?? []).enumerated() {
                rows.append([indent + "> item \(number + 1)", nil, nil, nil])
                appendElements(item, depth: depth + 1, to: &rows)
            }
        }
    }

    static func valueText(_ value: Any) -> String {
        if let name = value as? [String: Any] {
            return ["Alphabetic", "Ideographic", "Phonetic"].compactMap { name[$0] as? String }.joined(separator: "=")
        }
        return text(value)
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return ""
        case let string as String: return string
        case let array as [Any]: return array.map { text($0) }.joined(separator: ", ")
        case let number as NSNumber: return number.stringValue
        case let object as [String: Any]:
            // Values of attributes added to the index (`a`): as JSON, as stored.
            guard JSONSerialization.isValidJSONObject(object),
                let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
                let json = String(data: data, encoding: .utf8)
            else { return "" }
            return json
        default: return "\(value ?? "")"
        }
    }
}

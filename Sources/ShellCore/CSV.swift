import Foundation

/// RFC 4180 CSV: a header row, records ending with CRLF, fields quoted when they hold a comma,
/// quote or line break (or begin or end with a space). A missing value is an empty field.
enum CSV {
    static func render(header: [String], rows: [[String?]]) -> String {
        var output = line(header)
        for row in rows { output += line(row.map { $0 ?? "" }) }
        return output
    }

    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    static func field(_ value: String) -> String {
        let needsQuotes =
            value.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
            || value.hasPrefix(" ") || value.hasSuffix(" ")
        guard needsQuotes else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A readable listing of a file, one element per line, nested items indented: for people
/// inspecting a file, in the spirit of dcmdump and pydicom's `print(ds)`.
public enum DicomDump {
    public static func render(_ file: DicomFile, path: String? = nil) -> String {
        var lines: [String] = []
        if let path { lines.append("# \(path)") }
        lines.append(
            "# \(file.byteCount) bytes, \(file.hasPreamble ? "Part 10 with preamble" : "no preamble"), \(file.transferSyntax)"
        )
        if !file.meta.isEmpty {
            lines.append("# File Meta Information")
            render(file.meta, depth: 0, into: &lines)
            lines.append("# Dataset")
        }
        render(file.dataset, depth: 0, into: &lines)
        if file.stoppedBeforePixelData { lines.append("# stopped before Pixel Data") }
        for diagnostic in file.diagnostics { lines.append("# \(diagnostic)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func render(_ dataSet: DataSet, depth: Int, into lines: inout [String]) {
        let indent = String(repeating: "  ", count: depth)
        for element in dataSet.elements {
            let name = elementName(element.tag)
            let head = "\(indent)\(element.tag) \(element.vr.rawValue) \(pad(name, to: max(0, 36 - indent.count)))"
            switch element.value.decoded {
            case .sequence(let items):
                lines.append("\(head) \(items.count) item\(items.count == 1 ? "" : "s")")
                for (number, item) in items.enumerated() {
                    lines.append("\(indent)  > item \(number + 1)")
                    render(item, depth: depth + 2, into: &lines)
                }
            default:
                lines.append("\(head) \(describe(element.value))")
            }
        }
    }

    static func elementName(_ tag: DicomTag) -> String {
        if tag.isPrivate {
            return (0x0010...0x00FF).contains(tag.element) ? "Private Creator" : "Private tag"
        }
        if tag.element == 0 { return "Group Length" }
        return DataDictionary.entry(for: tag)?.name ?? "Unknown"
    }

    static func describe(_ value: DicomValue) -> String {
        switch value.decoded {
        case .empty: return "(no value)"
        case .bytes(let bytes):
            let shown = bytes.prefix(16).map { HexDigits.lowercase([$0]) }.joined(separator: " ")
            return "\(bytes.count) bytes: \(shown)\(bytes.count > 16 ? " …" : "")"
        case .bulk(let bulk): return "\(bulk.length) bytes at offset \(bulk.offset)"
        case .encapsulated(let pixels):
            let total = pixels.fragments.reduce(0) { $0 + $1.length }
            return
                "encapsulated: \(pixels.fragments.count) fragment\(pixels.fragments.count == 1 ? "" : "s"), \(total) bytes"
        default:
            let strings = value.strings
            let shown = strings.prefix(8).map { "[" + $0 + "]" }.joined(separator: " ")
            let text = shown.count > 120 ? String(shown.prefix(117)) + "..." : shown
            return strings.count > 8 ? "\(text) … (\(strings.count) values)" : text
        }
    }

    static func pad(_ text: String, to width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

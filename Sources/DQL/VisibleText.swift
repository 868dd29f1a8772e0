/// Text safe to print on a terminal: control characters (C0, DEL, C1), bidirectional controls
/// and invisible format characters are shown as `\x1b` or `\u{202E}`, so a stored value, a file
/// name or a typed string can never move the cursor, change colours, set the window title, or
/// reorder what is shown. `keepingLines` leaves newlines and tabs alone (for text that is
/// laid out in lines, such as messages).
public func visible(_ text: String, keepingLines: Bool = false) -> String {
    guard text.unicodeScalars.contains(where: { isUnsafeOnATerminal($0, keepingLines: keepingLines) }) else {
        return text
    }
    var output = ""
    for scalar in text.unicodeScalars {
        guard isUnsafeOnATerminal(scalar, keepingLines: keepingLines) else {
            output.unicodeScalars.append(scalar)
            continue
        }
        let hex = String(scalar.value, radix: 16)
        output += scalar.value < 0x100 ? "\\x" + (hex.count == 1 ? "0" + hex : hex) : "\\u{" + hex.uppercased() + "}"
    }
    return output
}

/// Whether printing `scalar` raw could change the terminal or how the line reads.
public func isUnsafeOnATerminal(_ scalar: Unicode.Scalar, keepingLines: Bool = false) -> Bool {
    switch scalar.value {
    case 0x0A, 0x09: !keepingLines
    case 0x00..<0x20, 0x7F..<0xA0: true
    // Bidirectional embeddings, overrides and isolates; zero-width and direction marks; line
    // and paragraph separators; the byte order mark.
    case 0x200B...0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: true
    default: false
    }
}

/// A command as binary-safe argv: the command name and its arguments, each any bytes.
///
/// Arguments are never interpolated into a command string, so values with spaces, quotes or
/// NUL bytes go to the server exactly as given.
public struct RedisCommand: Sendable, Hashable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var arguments: [[UInt8]]

    public init(arguments: [[UInt8]]) {
        self.arguments = arguments
    }

    /// A command from text arguments, e.g. `RedisCommand("SET", key, value)`.
    public init(_ name: String, _ arguments: String...) {
        self.arguments = [Array(name.utf8)] + arguments.map { Array($0.utf8) }
    }

    /// A command from text arguments given as an array.
    public init(_ words: [String]) {
        self.arguments = words.map { Array($0.utf8) }
    }

    public init(arrayLiteral elements: String...) {
        self.init(elements)
    }

    /// Appends one argument of raw bytes.
    public mutating func append(_ bytes: [UInt8]) {
        arguments.append(bytes)
    }

    /// Appends one text argument.
    public mutating func append(_ text: String) {
        arguments.append(Array(text.utf8))
    }

    /// The command name, upper-cased, for messages.
    public var name: String {
        arguments.first.map { String(decoding: $0, as: UTF8.self).uppercased() } ?? ""
    }

    /// The argv as redis-cli would show it: quoted where needed, binary values escaped.
    public var description: String {
        arguments.map(Self.quote).joined(separator: " ")
    }

    static func quote(_ argument: [UInt8]) -> String {
        let plain =
            !argument.isEmpty
            && argument.allSatisfy { byte in
                byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "'")
                    && byte != UInt8(ascii: "\\")
            }
        if plain { return String(decoding: argument, as: UTF8.self) }
        var text = "\""
        for byte in argument {
            switch byte {
            case UInt8(ascii: "\""): text += "\\\""
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\r"): text += "\\r"
            case UInt8(ascii: "\t"): text += "\\t"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text + "\""
    }
}

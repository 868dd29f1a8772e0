/// Hexadecimal text, the one writer of it: file ids (SHA-256) and recorded XXH3 values in lower
/// case, tags and bytes in messages and DICOM JSON in upper case. Written a digit at a time from
/// a table (formatting each byte with `String(_:radix:)` and joining took four fifths of the
/// time of hashing a tiny file).
public enum HexDigits {
    private static let lower: [UInt8] = Array("0123456789abcdef".utf8)
    private static let upper: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Two lower-case digits per byte, in order.
    public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        let bytes = Array(bytes)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { output in
            for (index, byte) in bytes.enumerated() {
                output[2 * index] = lower[Int(byte >> 4)]
                output[2 * index + 1] = lower[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
    }

    /// Sixteen lower-case digits, most significant first (leading zeros kept).
    public static func lowercase(_ value: UInt64) -> String { digits(of: value, count: 16, from: lower) }

    /// `count` upper-case digits of `value`, most significant first, leading zeros kept:
    /// `uppercase(0x10, count: 4)` is `0010`, as tags are written.
    public static func uppercase(_ value: UInt64, count: Int) -> String {
        digits(of: value, count: count, from: upper)
    }

    private static func digits(of value: UInt64, count: Int, from table: [UInt8]) -> String {
        precondition((1...16).contains(count), "1 to 16 hex digits")
        return String(unsafeUninitializedCapacity: count) { output in
            for index in 0..<count {
                output[index] = table[Int((value >> UInt64(4 * (count - 1 - index))) & 0x0F)]
            }
            return count
        }
    }
}

/// Lower-case hexadecimal text of digests and checksums: the one writer of file ids (SHA-256)
/// and recorded XXH3 values. Written a byte at a time from a table (formatting each byte with
/// `String(_:radix:)` and joining took four fifths of the time of hashing a tiny file).
public enum HexDigits {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Two digits per byte, in order.
    public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        let bytes = Array(bytes)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { output in
            for (index, byte) in bytes.enumerated() {
                output[2 * index] = digits[Int(byte >> 4)]
                output[2 * index + 1] = digits[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
    }

    /// Sixteen digits, most significant first (leading zeros kept).
    public static func lowercase(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { output in
            for index in 0..<16 {
                output[index] = digits[Int((value >> UInt64(60 - 4 * index)) & 0x0F)]
            }
            return 16
        }
    }
}

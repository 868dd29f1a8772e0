/// A Redis Cluster hash slot: CRC16 (XMODEM) of a key, or of its hash tag (the text between
/// the first `{` and the next `}`, when that is not empty), modulo 16384. Keys with the same
/// tag share a slot: dql's documents and index all carry `{m}`.
public struct HashSlot: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Slots in a cluster.
    public static let count = 16384

    /// 0 to 16383.
    public let value: Int

    /// The slot numbered `value`, or nil outside 0…16383.
    public init?(_ value: Int) {
        guard (0..<Self.count).contains(value) else { return nil }
        self.value = value
    }

    /// The slot of `key`.
    public init(key: some Collection<UInt8>) {
        let bytes = Array(key)
        var hashed = bytes[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            hashed = bytes[(open + 1)..<close]
        }
        value = Int(Self.crc16(hashed)) % Self.count
    }

    /// The slot of `key` (its UTF-8 bytes).
    public init(key: String) { self.init(key: Array(key.utf8)) }

    public static func < (lhs: HashSlot, rhs: HashSlot) -> Bool { lhs.value < rhs.value }

    public var description: String { String(value) }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster uses.
    static func crc16(_ bytes: some Collection<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(((crc >> 8) ^ UInt16(byte)) & 0xFF)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var value = UInt16(index) << 8
        for _ in 0..<8 { value = value & 0x8000 != 0 ? (value << 1) ^ 0x1021 : value << 1 }
        return value
    }
}

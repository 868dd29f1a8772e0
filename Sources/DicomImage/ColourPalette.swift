import DicomCore

/// A Palette Color lookup table (PS3.3 C.7.6.3.1.5 and C.7.9): the red, green and blue entry
/// of each stored value, read from the table's data or expanded from its segmented form, and
/// applied as pydicom's `apply_color_lut` applies it.
public struct ColourPalette: Sendable, Equatable {
    /// The stored value the first entry belongs to (negative for signed pixels).
    public var firstMapped: Int
    /// Bits of each entry: 8 or 16.
    public var bits: Int
    public var red: [UInt16]
    public var green: [UInt16]
    public var blue: [UInt16]

    /// The palette of `dataset`; binary values left in the file are read from `bytes`, 16-bit
    /// words in the file's byte order.
    init(_ dataset: DataSet, in bytes: [UInt8], bigEndian: Bool) throws(ImageError) {
        let descriptor = try Self.descriptor(dataset, bigEndian: bigEndian)
        // 0 entries means 65536 (C.7.6.3.1.5); the first value mapped is signed for signed
        // pixels, whatever VR the descriptor was read with.
        let entries = descriptor[0] == 0 ? 1 << 16 : descriptor[0]
        let signed = dataset[DicomTag(0x0028, 0x0103)]?.integer == 1
        firstMapped = signed ? Int(Int16(truncatingIfNeeded: descriptor[1])) : descriptor[1]
        var tables: [[UInt16]] = []
        if dataset[DicomTag(0x0028, 0x1201)] != nil {
            // The bits of an entry follow from the data's length (tables of 8-bit entries are
            // written with a descriptor saying 16).
            bits = 16
            for (element, colour) in [(0x1201, "Red"), (0x1202, "Green"), (0x1203, "Blue")] {
                let data = try Self.value(
                    dataset, DicomTag(0x0028, UInt16(element)), colour + " Palette Color LUT Data", bytes)
                let depth = data.count * 8 / entries
                guard data.count * 8 % entries == 0, depth == 8 || depth == 16 else {
                    throw ImageError(
                        "its \(colour) Palette Color LUT Data holds \(data.count) bytes for \(entries) entries: neither 8 nor 16 bits an entry"
                    )
                }
                bits = depth
                tables.append(depth == 8 ? data.map(UInt16.init) : Self.words(data, bigEndian: bigEndian))
            }
        } else if dataset[DicomTag(0x0028, 0x1221)] != nil {
            bits = descriptor[2]
            guard bits == 8 || bits == 16 else {
                throw ImageError("its palette descriptor says \(bits)-bit entries; only 8 and 16 are defined")
            }
            for (element, colour) in [(0x1221, "Red"), (0x1222, "Green"), (0x1223, "Blue")] {
                let data = try Self.value(
                    dataset, DicomTag(0x0028, UInt16(element)), "Segmented \(colour) Palette Color LUT Data", bytes)
                let values = bits == 8 ? data.map(UInt16.init) : Self.words(data, bigEndian: bigEndian)
                tables.append(try Self.expand(values, bigEndian: bigEndian, eightBit: bits == 8, colour: colour))
            }
        } else {
            throw ImageError("it is PALETTE COLOR without a palette (no Palette Color LUT Data)")
        }
        guard tables.allSatisfy({ !$0.isEmpty && $0.count == tables[0].count }) else {
            throw ImageError(
                "its red, green and blue palettes differ in length (\(tables.map(\.count).map(String.init).joined(separator: ", ")) entries)"
            )
        }
        red = Array(tables[0].prefix(entries))
        green = Array(tables[1].prefix(entries))
        blue = Array(tables[2].prefix(entries))
    }

    /// The RGB picture of a frame of stored values: a value below the first mapped one takes
    /// the first entry, one past the last the last; entries of 16 bits keep their upper byte.
    func picture(_ frame: Frame) -> Picture {
        let count = frame.rows * frame.columns
        var pixels = [UInt8](repeating: 0, count: count * 3)
        let last = red.count - 1
        let shift = UInt16(bits - 8)
        let first = firstMapped
        for position in 0..<count {
            let value = Int(frame.samples[position])
            let index = value < first ? 0 : min(value - first, last)
            pixels[3 * position] = UInt8(truncatingIfNeeded: red[index] >> shift)
            pixels[3 * position + 1] = UInt8(truncatingIfNeeded: green[index] >> shift)
            pixels[3 * position + 2] = UInt8(truncatingIfNeeded: blue[index] >> shift)
        }
        return Picture(width: frame.columns, height: frame.rows, channels: 3, pixels: pixels)
    }

    /// The three values of the Red Palette Color LUT Descriptor (0028,1101), as unsigned numbers.
    private static func descriptor(_ dataset: DataSet, bigEndian: Bool) throws(ImageError) -> [Int] {
        let tag = DicomTag(0x0028, 0x1101)
        var values: [Int] = []
        switch dataset[tag]?.value.decoded {
        case .integers(let numbers): values = numbers.map { Int(UInt16(truncatingIfNeeded: $0)) }
        case .bytes(let bytes) where bytes.count == 6: values = words(bytes, bigEndian: bigEndian).map(Int.init)
        default: break
        }
        guard values.count == 3 else {
            throw ImageError(
                "it is PALETTE COLOR, but its Red Palette Color LUT Descriptor \(tag) is not three numbers")
        }
        return values
    }

    /// A binary value's bytes, kept in the data set or left in the file.
    private static func value(
        _ dataset: DataSet, _ tag: DicomTag, _ name: String, _ bytes: [UInt8]
    ) throws(ImageError) -> [UInt8] {
        switch dataset[tag]?.value {
        case .bytes(let data): return data
        case .bulk(let bulk) where !bulk.inInflatedStream:
            guard bulk.offset >= 0, bulk.length >= 0, bulk.offset + bulk.length <= bytes.count else {
                throw ImageError("its \(name) \(tag) runs past the end of the file")
            }
            return Array(bytes[bulk.offset..<(bulk.offset + bulk.length)])
        case .bulk: throw ImageError("its \(name) \(tag) is in a deflated data set, which dql does not show yet")
        default: throw ImageError("its \(name) \(tag) is missing or empty")
        }
    }

    /// 16-bit words in the given byte order (an odd last byte is dropped).
    private static func words(_ bytes: [UInt8], bigEndian: Bool) -> [UInt16] {
        stride(from: 0, to: bytes.count - 1, by: 2).map { (at: Int) -> UInt16 in
            let first = UInt16(bytes[at])
            let second = UInt16(bytes[at + 1])
            return bigEndian ? first << 8 | second : second << 8 | first
        }
    }

    /// The table a segmented palette describes (C.7.9.2): discrete segments copied, linear
    /// segments interpolated and rounded half to even (numpy's `around`), indirect segments
    /// replaying earlier ones.
    static func expand(
        _ data: [UInt16], bigEndian: Bool, eightBit: Bool, colour: String, limit: Int? = nil,
        previous: UInt16? = nil, depth: Int = 0
    ) throws(ImageError) -> [UInt16] {
        func damaged(_ why: String) -> ImageError {
            ImageError("its Segmented \(colour) Palette Color LUT Data is damaged: \(why)")
        }
        guard depth < 8 else { throw damaged("indirect segments point at each other") }
        var table: [UInt16] = []
        var offset = 0
        var segments = 0
        // A trailing pad word is not a segment (every segment is at least two words long).
        while offset + 1 < data.count {
            let opcode = data[offset]
            let length = Int(data[offset + 1])
            offset += 2
            switch opcode {
            case 0:
                guard offset + length <= data.count else { throw damaged("a discrete segment runs past its end") }
                table += data[offset..<(offset + length)]
                offset += length
            case 1:
                guard let start = table.last ?? previous else { throw damaged("it starts with a linear segment") }
                guard offset < data.count else { throw damaged("a linear segment has no end value") }
                let end = data[offset]
                offset += 1
                if start == end || length <= 1 {
                    table += repeatElement(end, count: length)
                } else {
                    // numpy's linspace(start + step, end, length), then around.
                    let step = (Double(end) - Double(start)) / Double(length)
                    let from = Double(start) + step
                    let spacing = (Double(end) - from) / Double(length - 1)
                    for index in 0..<(length - 1) {
                        let value = (Double(index) * spacing + from).rounded(.toNearestOrEven)
                        table.append(UInt16(max(0, min(65535, value))))
                    }
                    table.append(end)
                }
            case 2:
                guard let last = table.last else { throw damaged("it starts with an indirect segment") }
                let byteOffset: Int
                if eightBit {
                    guard offset + 4 <= data.count else { throw damaged("an indirect segment is cut short") }
                    let order = bigEndian ? [2, 3, 0, 1] : [3, 2, 1, 0]
                    let parts = order.map { Int(data[offset + $0]) }
                    byteOffset = (parts[0] << 8 | parts[1]) << 16 | (parts[2] << 8 | parts[3])
                    offset += 4
                } else {
                    guard offset + 2 <= data.count else { throw damaged("an indirect segment is cut short") }
                    byteOffset = Int(data[offset + 1]) << 16 | Int(data[offset])
                    offset += 2
                }
                guard byteOffset < data.count else { throw damaged("an indirect segment points past the table") }
                table += try expand(
                    Array(data[byteOffset...]), bigEndian: bigEndian, eightBit: eightBit, colour: colour,
                    limit: length, previous: last, depth: depth + 1)
            default:
                throw damaged("segment type \(opcode) is not one of 0, 1 and 2")
            }
            guard table.count <= 1 << 16 else { throw damaged("it expands to more than 65536 entries") }
            segments += 1
            if segments == limit { break }
        }
        return table
    }
}

import CZlib

/// PNG (ISO/IEC 15948) of a ``Picture``: 8-bit grey or RGB, one IDAT compressed with zlib.
public enum PNGEncoder {
    public static func encode(_ picture: Picture) throws(ImageError) -> [UInt8] {
        var raw: [UInt8] = []
        let rowLength = picture.width * picture.channels
        raw.reserveCapacity((rowLength + 1) * picture.height)
        for row in 0..<picture.height {
            raw.append(0)  // filter: none
            raw += picture.pixels[(row * rowLength)..<((row + 1) * rowLength)]
        }
        var compressedLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        let status = compressed.withUnsafeMutableBufferPointer { out in
            raw.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &compressedLength, input.baseAddress, uLong(input.count), 6)
            }
        }
        guard status == Z_OK else { throw ImageError("zlib could not compress the picture (status \(status))") }
        compressed.removeSubrange(Int(compressedLength)...)
        var header: [UInt8] = []
        header += bigEndian(UInt32(picture.width)) + bigEndian(UInt32(picture.height))
        header += [8, picture.channels == 3 ? 2 : 0, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", compressed)
            + chunk("IEND", [])
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        let crc = typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        return bigEndian(UInt32(data.count)) + typed + bigEndian(UInt32(truncatingIfNeeded: crc))
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [
            UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value),
        ]
    }
}

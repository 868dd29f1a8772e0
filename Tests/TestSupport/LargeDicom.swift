import Foundation

/// A large DICOM file: a minimal header and random pixel data.
public enum LargeDicom {
    /// Writes `megabytes` MiB of pixel data after the header; returns the path.
    public static func write(in directory: URL, megabytes: Int, name: String = "big.dcm") throws -> String {
        var header = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        func element(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: [UInt8]) -> [UInt8] {
            var bytes = [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8)]
            bytes += Array(vr.utf8)
            bytes += [UInt8(value.count & 0xFF), UInt8(value.count >> 8)]
            return bytes + value
        }
        header += element(0x0002, 0x0010, "UI", Array("1.2.840.10008.1.2.1\0".utf8))
        header += element(0x0008, 0x0060, "CS", Array("OT".utf8))
        header += element(0x0010, 0x0010, "PN", Array("Big^File".utf8))
        let size = megabytes << 20
        header += [0xE0, 0x7F, 0x10, 0x00] + Array("OB".utf8) + [0, 0]
        header += withUnsafeBytes(of: UInt32(size).littleEndian) { Array($0) }
        let path = directory.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: Data(header))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        var generator = SplitMix64(seed: 42)
        var block = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<megabytes {
            for index in stride(from: 0, to: block.count, by: 8) {
                withUnsafeBytes(of: generator.next()) { block.replaceSubrange(index..<index + 8, with: $0) }
            }
            try handle.write(contentsOf: block)
        }
        return path
    }

    /// A native film: `frames` frames of 512×512 8-bit grey pixels, pixel (x, y) of frame k
    /// (0-based) being (k + x + y) mod 256; returns the path.
    public static func writeFilm(in directory: URL, frames: Int, name: String = "film.dcm") throws -> String {
        func element(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: [UInt8]) -> [UInt8] {
            var bytes = [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8)]
            bytes += Array(vr.utf8)
            bytes += [UInt8(value.count & 0xFF), UInt8(value.count >> 8)]
            return bytes + value
        }
        func short(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
        var count = Array(String(frames).utf8)
        if count.count % 2 == 1 { count.append(0x20) }
        var header = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        header += element(0x0002, 0x0010, "UI", Array("1.2.840.10008.1.2.1\0".utf8))
        header += element(0x0008, 0x0060, "CS", Array("OT".utf8))
        header += element(0x0010, 0x0010, "PN", Array("Film^Test".utf8))
        header += element(0x0028, 0x0002, "US", short(1))
        header += element(0x0028, 0x0004, "CS", Array("MONOCHROME2 ".utf8))
        header += element(0x0028, 0x0008, "IS", count)
        header += element(0x0028, 0x0010, "US", short(512))
        header += element(0x0028, 0x0011, "US", short(512))
        header += element(0x0028, 0x0100, "US", short(8))
        header += element(0x0028, 0x0101, "US", short(8))
        header += element(0x0028, 0x0102, "US", short(7))
        header += element(0x0028, 0x0103, "US", short(0))
        header += [0xE0, 0x7F, 0x10, 0x00] + Array("OB".utf8) + [0, 0]
        header += withUnsafeBytes(of: UInt32(frames * 512 * 512).littleEndian) { Array($0) }
        let path = directory.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: Data(header))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        var frame = [UInt8](repeating: 0, count: 512 * 512)
        for index in 0..<frames {
            for y in 0..<512 {
                for x in 0..<512 { frame[y * 512 + x] = UInt8(truncatingIfNeeded: index + x + y) }
            }
            try handle.write(contentsOf: frame)
        }
        return path
    }

}

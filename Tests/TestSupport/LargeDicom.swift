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
}

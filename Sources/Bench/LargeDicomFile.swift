import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A large DICOM file for the storage benchmark: a minimal Part 10 header and pseudo-random
/// pixel data, written in blocks (never whole in memory). Returns its SHA-256 (dql's id).
enum LargeDicomFile {
    static func write(_ path: String, pixelBytes: Int) throws -> String {
        var header = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        func element(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: [UInt8]) -> [UInt8] {
            [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8)] + Array(vr.utf8)
                + [UInt8(value.count & 0xFF), UInt8(value.count >> 8)] + value
        }
        header += element(0x0002, 0x0010, "UI", Array("1.2.840.10008.1.2.1\0".utf8))
        header += element(0x0008, 0x0060, "CS", Array("SM".utf8))
        header += element(0x0010, 0x0010, "PN", Array("Bench^Slide".utf8))
        header += [0xE0, 0x7F, 0x10, 0x00] + Array("OB".utf8) + [0, 0]
        header += withUnsafeBytes(of: UInt32(pixelBytes).littleEndian) { Array($0) }

        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BenchError("cannot create \(path)") }
        defer { close(descriptor) }
        var hasher = SHA256()
        try header.withUnsafeBytes { bytes in
            try writeAll(descriptor, bytes)
            hasher.update(bufferPointer: bytes)
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var block = [UInt64](repeating: 0, count: 1 << 17)
        var written = 0
        while written < pixelBytes {
            for index in block.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                block[index] = state ^ (state >> 29)
            }
            let count = min(block.count * 8, pixelBytes - written)
            try block.withUnsafeBytes { bytes in
                let part = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                try writeAll(descriptor, part)
                hasher.update(bufferPointer: part)
            }
            written += count
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let result = Glibc.write(descriptor, base + done, bytes.count - done)
            guard result > 0 else { throw BenchError("write failed: \(String(cString: strerror(errno)))") }
            done += result
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

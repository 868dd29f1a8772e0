import CZlib

/// Raw DEFLATE (RFC 1951, no zlib header), as the Deflated Explicit VR Little Endian transfer
/// syntax stores everything after the file meta group.
enum Inflate {
    /// Inflates `input`. Output is capped at `limit` bytes so that a small corrupt or hostile
    /// stream cannot exhaust memory; a truncated or corrupt stream keeps what inflated and
    /// reports why it stopped.
    static func raw(_ input: UnsafeRawBufferPointer, limit: Int) -> (bytes: [UInt8], problem: String?) {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return ([], "zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        // Below malloc's mmap threshold, so repeated calls reuse heap memory.
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        guard let base = input.baseAddress, !input.isEmpty else { return ([], "no deflated data") }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        var remaining = input.count
        var problem: String?
        loop: while true {
            // zlib takes at most 4 GiB per call.
            let feed = min(remaining, Int(UInt32.max))
            stream.avail_in = uInt(feed)
            let status: Int32 = chunk.withUnsafeMutableBytes { buffer in
                stream.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(buffer.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            let produced = chunk.count - Int(stream.avail_out)
            let consumed = feed - Int(stream.avail_in)
            remaining -= consumed
            if output.count + produced > limit {
                output.append(contentsOf: chunk[0..<(limit - output.count)])
                problem = "inflated data exceeds \(limit) bytes; the rest is ignored"
                break
            }
            output.append(contentsOf: chunk[0..<produced])
            if status != Z_STREAM_END && consumed == 0 && produced == 0 {
                problem = "deflated data ends before the end of its stream"
                break
            }
            switch status {
            case Z_STREAM_END:
                break loop
            case Z_OK:
                if remaining == 0 && produced == 0 {
                    problem = "deflated data ends before the end of its stream"
                    break loop
                }
            case Z_BUF_ERROR:
                if remaining == 0 {
                    problem = "deflated data ends before the end of its stream"
                    break loop
                }
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                problem = "corrupt deflated data: \(message)"
                break loop
            }
        }
        return (output, problem)
    }
}

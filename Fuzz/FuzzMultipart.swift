// libFuzzer entry point for DICOMweb's multipart reader (STOW-RS bodies) and Accept-header
// parsing: any bytes in, never a crash or a hang; the parts read whole are the parts read cut
// anywhere. Built and run by scripts/fuzz.sh multipart.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    guard let first = bytes.first else { return 0 }
    // The first byte chooses where the body is cut; the boundary is fixed ("b").
    let body = Array(bytes.dropFirst())
    let whole = read(body, cuts: [])
    let cut = read(
        body, cuts: body.isEmpty ? [] : [Int(first) % body.count, min(body.count, Int(first) * 3 % (body.count + 1))])
    if whole != cut { fatalError("cutting the body changed what was read: \(whole) vs \(cut)") }
    let negotiation = PartNegotiation(accept: String(decoding: body.prefix(512), as: UTF8.self))
    _ = negotiation.acceptsMultipart(partType: "application/dicom", transferSyntax: "1.2.840.10008.1.2.1")
    _ = negotiation.written
    return 0
}

/// The parts (or the error) of a body fed in pieces.
private func read(_ body: [UInt8], cuts: [Int]) -> String {
    var reader = MultipartReader(boundary: "b")
    var parts: [[UInt8]] = []
    var start = 0
    do {
        for cut in cuts.sorted() + [body.count] where cut >= start {
            for event in try reader.feed(body[start..<cut]) {
                switch event {
                case .began: parts.append([])
                case .bytes(let bytes):
                    guard !parts.isEmpty else { fatalError("bytes before a part began") }
                    parts[parts.count - 1] += bytes
                case .ended: break
                }
            }
            start = cut
        }
        try reader.finish()
    } catch {
        // Errors may differ in their byte offsets with the cut, not in whether they happen.
        return "error"
    }
    if parts.reduce(0, { $0 + $1.count }) > body.count { fatalError("more part bytes than body bytes") }
    return parts.map { $0.description }.joined(separator: "|")
}

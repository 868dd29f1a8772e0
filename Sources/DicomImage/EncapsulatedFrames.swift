import DicomCore

/// The compressed bytes of one frame of encapsulated pixel data (PS3.5 A.4): every fragment of
/// a single-frame image; for several frames, the fragments the Basic Offset Table points to,
/// or one fragment a frame, or the fragments from one codestream start to the next.
public enum EncapsulatedFrames {
    /// The Basic Offset Table's offsets, one a frame, when it has them and they start at 0 and
    /// rise; nil otherwise (the fragments themselves are then followed).
    static func tableOffsets(_ table: BulkData, _ frames: Int, _ bytes: [UInt8]) -> [Int]? {
        guard table.length >= 4 * frames, table.offset >= 0, table.offset + 4 * frames <= bytes.count else {
            return nil
        }
        let offsets = (0..<frames).map { frame -> Int in
            let at = table.offset + 4 * frame
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        return offsets.first == 0 && zip(offsets, offsets.dropFirst()).allSatisfy { $0 < $1 } ? offsets : nil
    }

    public static func frame(
        _ index: Int, of pixels: EncapsulatedPixelData, frames: Int, in bytes: [UInt8], startMarker: [UInt8]
    ) throws(ImageError) -> [UInt8] {
        guard index >= 0, index < frames else {
            throw ImageError("frame \(index + 1) asked for; the file has \(frames)")
        }
        if pixels.fragments.contains(where: { $0.offset < 8 || $0.offset + $0.length > bytes.count }) {
            throw ImageError("a fragment of Pixel Data runs past the end of the file")
        }
        guard !pixels.fragments.isEmpty else { throw ImageError("Pixel Data holds no fragments") }
        func join(_ fragments: ArraySlice<BulkData>) -> [UInt8] {
            fragments.reduce(into: [UInt8]()) { $0 += bytes[$1.offset..<($1.offset + $1.length)] }
        }
        if frames == 1 { return join(pixels.fragments[...]) }
        // The Basic Offset Table: each frame's first item, from the first item's start.
        if let offsets = tableOffsets(pixels.basicOffsetTable, frames, bytes) {
            let first = pixels.fragments[0].offset - 8
            let starts = pixels.fragments.map { $0.offset - 8 - first }
            let begin = offsets[index]
            let end = index + 1 < frames ? offsets[index + 1] : Int.max
            let chosen = zip(starts, pixels.fragments).filter { $0.0 >= begin && $0.0 < end }.map(\.1)
            guard !chosen.isEmpty else {
                throw ImageError("the Basic Offset Table points at no fragment for frame \(index + 1)")
            }
            return join(chosen[...])
        }
        if pixels.fragments.count == frames { return join(pixels.fragments[index...index]) }
        // Frames split over fragments without a table: a frame starts where a codestream does.
        var groups: [[BulkData]] = []
        for fragment in pixels.fragments {
            let head = Array(
                bytes[fragment.offset..<min(fragment.offset + startMarker.count, fragment.offset + fragment.length)])
            if head == startMarker || groups.isEmpty {
                groups.append([fragment])
            } else {
                groups[groups.count - 1].append(fragment)
            }
        }
        guard groups.count == frames else {
            throw ImageError(
                "\(pixels.fragments.count) fragments hold \(groups.count) codestreams for \(frames) frames")
        }
        return join(groups[index][...])
    }
}

/// A text value as it was read, decoded when asked for (as pydicom does): reading a header
/// costs a copy of its text bytes, not a String per value, and values nobody looks at are
/// never decoded.
public struct EncodedText: Sendable, Equatable {
    let storage: TextStorage
    let range: Range<Int>
    public let vr: VR
    let characterSetIndex: Int

    /// The character set the bytes are in.
    public var characterSet: SpecificCharacterSet { storage.characterSets[characterSetIndex] }

    /// The decoded value: `.strings`, `.personNames` or `.empty`.
    public var decoded: DicomValue {
        storage.withBytes(range) { bytes in
            TextValueDecoder.decode(bytes, vr: vr, characterSet: characterSet, decoder: TextDecoder())
        }
    }

    /// Two encoded texts are equal when they decode to the same value.
    public static func == (lhs: EncodedText, rhs: EncodedText) -> Bool {
        lhs.decoded == rhs.decoded
    }
}

/// The text bytes of one read, shared by its values. Written only by the parser that owns it,
/// then only read, so it may cross threads with the result (and needs no dynamic exclusivity
/// checks, which would cost more than the copies themselves).
final class TextStorage: @unchecked Sendable {
    @exclusivity(unchecked) private var buffer: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private(set) var count = 0
    @exclusivity(unchecked) var characterSets: [SpecificCharacterSet] = [.default]

    init() {
        capacity = 2048
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// The stored bytes in `range`.
    func withBytes<Result>(_ range: Range<Int>, _ body: (RawBytes) -> Result) -> Result {
        body(UnsafeRawBufferPointer(start: buffer, count: count)[range])
    }

    /// Copies a value's bytes in and returns where they are.
    func append(_ raw: RawBytes) -> Range<Int> {
        let length = raw.count
        if count + length > capacity {
            let newCapacity = max(capacity * 2, count + length)
            let newBuffer = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
            newBuffer.copyMemory(from: buffer, byteCount: count)
            buffer.deallocate()
            buffer = newBuffer
            capacity = newCapacity
        }
        if let source = raw.base.baseAddress, length > 0 {
            (buffer + count).copyMemory(from: source + raw.startIndex, byteCount: length)
        }
        let start = count
        count += length
        return start..<count
    }

    /// The index of a character set, adding it if new (a file has one or two).
    func index(of characterSet: SpecificCharacterSet) -> Int {
        if let index = characterSets.lastIndex(of: characterSet) { return index }
        characterSets.append(characterSet)
        return characterSets.count - 1
    }
}

extension DicomValue {
    /// The value with any ``EncodedText`` decoded; other values as they are.
    public var decoded: DicomValue {
        if case .text(let text) = self { return text.decoded }
        return self
    }
}

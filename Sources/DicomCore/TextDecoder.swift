import CIconv

#if canImport(Glibc)
    import Glibc
#endif

/// A run of bytes inside the buffer being read: text is decoded in place, never copied first.
typealias RawBytes = Slice<UnsafeRawBufferPointer>

extension Slice where Base == UnsafeRawBufferPointer {
    /// True if the bytes contain `byte` (memchr, not a generic loop: every text value is scanned
    /// for backslashes and escapes).
    func containsByte(_ byte: UInt8) -> Bool {
        guard let base = base.baseAddress, !isEmpty else { return false }
        return memchr(base + startIndex, Int32(byte), count) != nil
    }

    /// Without trailing (and optionally leading) spaces and NULs.
    func trimmingPadding(leading: Bool = false, nul: Bool = true) -> Slice<UnsafeRawBufferPointer> {
        var start = startIndex
        var end = endIndex
        while end > start, self[end - 1] == 0x20 || (nul && self[end - 1] == 0) { end -= 1 }
        if leading {
            while start < end, self[start] == 0x20 || (nul && self[start] == 0) { start += 1 }
        }
        return self[start..<end]
    }

    /// Split on a byte, keeping empty parts.
    func splitBytes(on separator: UInt8) -> [Slice<UnsafeRawBufferPointer>] {
        var parts: [Slice<UnsafeRawBufferPointer>] = []
        var partStart = startIndex
        var index = startIndex
        while index < endIndex {
            if self[index] == separator {
                parts.append(self[partStart..<index])
                partStart = index + 1
            }
            index += 1
        }
        parts.append(self[partStart..<endIndex])
        return parts
    }
}

/// Decodes DICOM text bytes to Swift strings under a ``SpecificCharacterSet``, the way pydicom
/// does: text without escape sequences in the first character set; with escape sequences, each
/// fragment in the character set its escape sequence selects, reset to the first one at the
/// given delimiters. Bytes that do not decode become U+FFFD, never an error.
///
/// Borrows iconv converters from a process-wide pool (opening one loads a gconv module, which
/// costs more than reading a small file) and returns them when it is done; use one decoder per
/// thread.
final class TextDecoder {
    private var converters: [TextCodec: iconv_t] = [:]

    deinit {
        for (codec, converter) in converters { ConverterPool.shared.checkIn(codec, converter) }
    }

    /// Control characters that reset the character set in text values (PS3.5 6.1.2.5.3).
    static let textDelimiters: Set<UInt8> = [0x0D, 0x0A, 0x09, 0x0C]
    /// The component separator that resets it in person names.
    static let personNameDelimiters: Set<UInt8> = [UInt8(ascii: "^")]

    func decode(_ bytes: RawBytes, _ characterSet: SpecificCharacterSet, delimiters: Set<UInt8>) -> String {
        if bytes.isEmpty { return "" }
        let codecs = characterSet.codecs
        guard bytes.containsByte(0x1B) else { return decode(bytes, as: codecs[0]) }
        var result = ""
        var start = bytes.startIndex
        while start < bytes.endIndex {
            var end = start + 1
            while end < bytes.endIndex && bytes[end] != 0x1B { end += 1 }
            let fragment = bytes[start..<end]
            result +=
                fragment.first == 0x1B
                ? decodeEscapedFragment(fragment, codecs: codecs, delimiters: delimiters)
                : decode(fragment, as: codecs[0])
            start = end
        }
        return result
    }

    private func decodeEscapedFragment(
        _ fragment: RawBytes, codecs: [TextCodec], delimiters: Set<UInt8>
    ) -> String {
        guard
            let (sequence, codec) = TextCodec.escapeSequences.first(where: { fragment.starts(with: $0.0) }),
            codecs.contains(codec) || codec == .defaultRepertoire
        else {
            // An escape sequence for a character set the value did not declare.
            return decode(fragment, as: codecs[0])
        }
        if codec.decodesEscapeSequences { return decode(fragment, as: codec) }
        let body = fragment.dropFirst(sequence.count)
        if let delimiter = body.firstIndex(where: { delimiters.contains($0) }) {
            return decode(body[..<delimiter], as: codec) + decode(body[delimiter...], as: codecs[0])
        }
        return decode(body, as: codec)
    }

    /// Decodes bytes in one codec, replacing what does not decode with U+FFFD.
    func decode(_ bytes: RawBytes, as codec: TextCodec) -> String {
        switch codec {
        case .defaultRepertoire, .latin1:
            return Self.latin1(bytes)
        case .utf8:
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes), as: UTF8.self)
        default:
            if Self.isASCII(UnsafeRawBufferPointer(rebasing: bytes)) && !bytes.containsByte(0x1B) {
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes), as: UTF8.self)
            }
            return iconvDecode(bytes, codec)
        }
    }

    /// Latin-1 to a String in one pass: ASCII as is, other bytes as two UTF-8 bytes.
    static func latin1(_ bytes: RawBytes) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes)
        if isASCII(raw) { return String(decoding: raw, as: UTF8.self) }
        let high = bytes.reduce(0) { $0 + ($1 >= 0x80 ? 1 : 0) }
        return String(unsafeUninitializedCapacity: bytes.count + high) { buffer in
            var index = 0
            for byte in bytes {
                if byte < 0x80 {
                    buffer[index] = byte
                    index += 1
                } else {
                    buffer[index] = 0xC0 | byte >> 6
                    buffer[index + 1] = 0x80 | byte & 0x3F
                    index += 2
                }
            }
            return index
        }
    }

    /// True if no byte has the high bit set; checks eight bytes at a time.
    static func isASCII(_ raw: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 8 <= raw.count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < raw.count {
            if raw[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }

    private func converter(for codec: TextCodec) -> iconv_t? {
        if let converter = converters[codec] { return converter }
        guard let converter = ConverterPool.shared.checkOut(codec) else { return nil }
        converters[codec] = converter
        return converter
    }

    private func iconvDecode(_ bytes: RawBytes, _ codec: TextCodec) -> String {
        guard let converter = converter(for: codec) else { return decode(bytes, as: .defaultRepertoire) }
        // Reset the shift state left by the previous value.
        iconv(converter, nil, nil, nil, nil)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 3)
        var input = Array(bytes)
        let capacity = max(64, input.count * 4 + 16)
        var buffer = [UInt8](repeating: 0, count: capacity)
        input.withUnsafeMutableBufferPointer { inputBuffer in
            buffer.withUnsafeMutableBufferPointer { outputBuffer in
                guard let inputBase = inputBuffer.baseAddress, let outputBase = outputBuffer.baseAddress else { return }
                var inputPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inputBase)
                    .assumingMemoryBound(to: CChar.self)
                var inputLeft = inputBuffer.count
                while true {
                    var outputPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outputBase)
                        .assumingMemoryBound(to: CChar.self)
                    var outputLeft = outputBuffer.count
                    let status = iconv(converter, &inputPointer, &inputLeft, &outputPointer, &outputLeft)
                    output.append(contentsOf: outputBuffer[0..<(outputBuffer.count - outputLeft)])
                    if status != -1 || inputLeft == 0 { break }
                    let failure = errno
                    if failure == E2BIG { continue }
                    // EILSEQ or EINVAL: one replacement character, skip a byte, go on.
                    output.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    inputPointer = inputPointer.map { $0 + 1 }
                    inputLeft -= 1
                    iconv(converter, nil, nil, nil, nil)
                    if inputLeft == 0 { break }
                }
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Idle iconv converters by codec, shared by all decoders. A converter is used by one thread at
/// a time: checked out, used, checked in.
final class ConverterPool: @unchecked Sendable {
    static let shared = ConverterPool()
    private let lock = Mutex()
    private var idle: [TextCodec: [iconv_t]] = [:]

    func checkOut(_ codec: TextCodec) -> iconv_t? {
        if let converter = lock.withLock({ idle[codec]?.popLast() }) {
            iconv(converter, nil, nil, nil, nil)
            return converter
        }
        guard let name = codec.iconvName else { return nil }
        let converter = iconv_open("UTF-8", name)
        guard let converter, converter != iconv_t(bitPattern: -1) else { return nil }
        return converter
    }

    func checkIn(_ codec: TextCodec, _ converter: iconv_t) {
        let keep = lock.withLock {
            guard idle[codec, default: []].count < 16 else { return false }
            idle[codec, default: []].append(converter)
            return true
        }
        if !keep { iconv_close(converter) }
    }
}

/// A pthread mutex, for the little shared state DicomCore has.
final class Mutex: @unchecked Sendable {
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

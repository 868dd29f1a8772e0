import CIconv

#if canImport(Glibc)
    import Glibc
#endif

/// Decodes DICOM text bytes to Swift strings under a ``SpecificCharacterSet``, the way pydicom
/// does: text without escape sequences in the first character set; with escape sequences, each
/// fragment in the character set its escape sequence selects, reset to the first one at the
/// given delimiters. Bytes that do not decode become U+FFFD, never an error.
///
/// Holds iconv converters between calls; use one decoder per thread.
final class TextDecoder {
    private var converters: [TextCodec: iconv_t] = [:]

    deinit {
        for converter in converters.values { iconv_close(converter) }
    }

    /// Control characters that reset the character set in text values (PS3.5 6.1.2.5.3).
    static let textDelimiters: Set<UInt8> = [0x0D, 0x0A, 0x09, 0x0C]
    /// The component separator that resets it in person names.
    static let personNameDelimiters: Set<UInt8> = [UInt8(ascii: "^")]

    func decode(_ bytes: ArraySlice<UInt8>, _ characterSet: SpecificCharacterSet, delimiters: Set<UInt8>) -> String {
        if bytes.isEmpty { return "" }
        let codecs = characterSet.codecs
        guard bytes.contains(0x1B) else { return decode(bytes, as: codecs[0]) }
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
        _ fragment: ArraySlice<UInt8>, codecs: [TextCodec], delimiters: Set<UInt8>
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
    func decode(_ bytes: ArraySlice<UInt8>, as codec: TextCodec) -> String {
        switch codec {
        case .defaultRepertoire, .latin1:
            var text = ""
            text.unicodeScalars.reserveCapacity(bytes.count)
            for byte in bytes { text.unicodeScalars.append(Unicode.Scalar(byte)) }
            return text
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        default:
            if bytes.allSatisfy({ $0 < 0x80 && $0 != 0x1B }) {
                return String(decoding: bytes, as: UTF8.self)
            }
            return iconvDecode(bytes, codec)
        }
    }

    private func converter(for codec: TextCodec) -> iconv_t? {
        if let converter = converters[codec] { return converter }
        guard let name = codec.iconvName else { return nil }
        let converter = iconv_open("UTF-8", name)
        guard let converter, converter != iconv_t(bitPattern: -1) else { return nil }
        converters[codec] = converter
        return converter
    }

    private func iconvDecode(_ bytes: ArraySlice<UInt8>, _ codec: TextCodec) -> String {
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

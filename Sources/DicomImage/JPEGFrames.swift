import CJPEG

/// Frames of JPEG with 8-bit samples (baseline, and extended with 8-bit samples), decoded by
/// libjpeg-turbo in dql's own process, a frame at a time: it reports damage as an error
/// rather than aborting, and it is several times faster than GDCM's IJG 6b. Streams it does
/// not decode (12-bit, lossless, arithmetic coding, damaged) go to GDCM.
enum JPEGFrames {
    static let transferSyntaxes: Set<String> = ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"]

    /// Whether frames of this description are tried here first.
    static func decodes(_ syntax: String, _ description: ImageDescription) -> Bool {
        transferSyntaxes.contains(syntax) && description.bitsAllocated == 8 && !description.isSigned
            && [1, 3].contains(description.samplesPerPixel)
            // A few bytes of JPEG can claim 65535 × 65535 pixels: GDCM's limit holds here too.
            && description.frameLength <= GDCMFrames.largestDecode
    }

    /// The frame in `stream` (one JPEG), grey or RGB; nil when libjpeg-turbo does not decode
    /// it.
    static func decode(_ stream: [UInt8], description: ImageDescription) throws(ImageError) -> Frame? {
        var image = dql_jpeg_image()
        var error = [CChar](repeating: 0, count: 256)
        let status = stream.withUnsafeBufferPointer { data in
            dql_jpeg_decode(
                data.baseAddress, data.count, UInt32(description.columns), UInt32(description.rows),
                UInt32(description.samplesPerPixel), description.photometric == "RGB" ? 1 : 0, &image, &error,
                error.count)
        }
        switch status {
        case 0: break
        case 1: return nil
        default:
            throw ImageError(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { dql_jpeg_free(&image) }
        let count = Int(image.width) * Int(image.height) * Int(image.components)
        guard let pixels = image.pixels else { return nil }
        let samples = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = Int32(pixels[index]) }
            initialized = count
        }
        return Frame(
            rows: Int(image.height), columns: Int(image.width), samplesPerPixel: Int(image.components),
            samples: samples)
    }
}

import CJPEG2000

/// JPEG 2000 frames (lossless and lossy, PS3.5 A.4.4) decoded by OpenJPEG (Debian's
/// libopenjp2). OpenJPEG undoes the colour transform of YBR_RCT and YBR_ICT, so colour comes
/// out as RGB.
public enum JPEG2000Frames {
    public static let transferSyntaxes: Set<String> = ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"]

    public static func decode(_ codestream: [UInt8], description: ImageDescription) throws(ImageError) -> Frame {
        var image = dql_jpeg2000_image()
        var error = [CChar](repeating: 0, count: 512)
        let status = codestream.withUnsafeBufferPointer { input in
            dql_jpeg2000_decode(
                input.baseAddress, input.count, UInt32(description.columns), UInt32(description.rows),
                UInt32(description.samplesPerPixel), &image, &error, error.count)
        }
        guard status == 0 else {
            throw ImageError(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { dql_jpeg2000_free(&image) }
        let width = Int(image.width)
        let height = Int(image.height)
        let components = Int(image.components)
        guard width == description.columns, height == description.rows, components == description.samplesPerPixel
        else {
            throw ImageError(
                "the codestream is \(width)×\(height) with \(components) component\(components == 1 ? "" : "s"); the header says \(description.columns)×\(description.rows) with \(description.samplesPerPixel)"
            )
        }
        var samples = Array(UnsafeBufferPointer(start: image.samples, count: width * height * components))
        // A codestream whose signedness disagrees with Pixel Representation is read as the
        // header says (as pydicom does): the same bits, as two's complement or not.
        let precision = Int(image.precision)
        if (image.is_signed != 0) != description.isSigned, precision > 0, precision < 32 {
            let range = Int32(1) << Int32(precision)
            if description.isSigned {
                for index in samples.indices where samples[index] >= range / 2 { samples[index] -= range }
            } else {
                for index in samples.indices where samples[index] < 0 { samples[index] += range }
            }
        }
        return Frame(rows: height, columns: width, samplesPerPixel: components, samples: samples)
    }
}

// libFuzzer entry point for DicomImage: any bytes in, a picture or an ImageError out, never a
// crash, hang or runaway allocation. Built and run by scripts/fuzz.sh. GDCM's syntaxes need
// the dql-decode helper, which the fuzzer does not start: they end in an ImageError here.
import Glibc

private let noHelper: Void = { setenv("DQL_DECODE", "/nonexistent/dql-decode", 1) }()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPixels(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = noHelper
    let bytes = Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    // The whole file: every frame (up to three), windowed, fitted and put on a sheet.
    if let image = try? StoredImage(bytes) {
        for index in 0..<min(3, image.description.frames) {
            guard let frame = try? image.frame(index, in: bytes) else { continue }
            let picture = Picture.render(frame, image.description)
            _ = picture.fitted(to: 24)
            _ = PictureGrid.compose(
                [PictureGrid.Cell(picture: picture, label: "fuzz"), PictureGrid.Cell(picture: nil, label: "")],
                cellSize: 16, columns: 2, labelled: true)
        }
    }
    // The header alone, then the first frame from its own bytes.
    if let file = try? DicomReader.read(bytes, options: .metadataOnly), file.headerLength <= bytes.count,
        let image = try? StoredImage(header: Array(bytes.prefix(file.headerLength))),
        let range = try? image.frameRange(0), range.lowerBound >= 0, range.upperBound <= bytes.count,
        let frame = try? image.frame(0, from: Array(bytes[range]))
    {
        _ = Picture.render(frame, image.description)
    }
    return 0
}

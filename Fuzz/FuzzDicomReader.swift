// libFuzzer entry point for DicomCore's reader: any bytes in, never a crash, hang or runaway
// allocation out. Built and run by scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDicomReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    for options in [DicomReadOptions(), DicomReadOptions.metadataOnly] {
        if let file = try? DicomReader.read(buffer, options: options) {
            // Exercise the outputs too: they walk every value.
            _ = DicomJSON.encode(file).serialized()
            _ = DicomDump.render(file)
        }
    }
    return 0
}

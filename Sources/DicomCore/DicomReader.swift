/// Reads DICOM Part 10 files (and bare datasets) the forgiving way: whatever can be read is
/// read, what was repaired or skipped is reported as a diagnostic, and only input that is not
/// DICOM at all is an error. Nothing here traps on bad bytes, and no allocation is sized by a
/// length field before it is checked against the bytes that exist.
public enum DicomReader {
    /// Reads a file from disk. Metadata-only reads look at the first few KiB and map the whole
    /// file only when the header goes on beyond them; full reads map the file.
    public static func read(
        contentsOf path: String, options: DicomReadOptions = DicomReadOptions()
    ) throws
        -> DicomFile
    {
        do {
            if options.stopBeforePixelData, let file = try readHeaderPrefix(path, options: options) {
                return file
            }
            let file = try MappedFile(path: path)
            return try read(file.buffer, options: options)
        } catch var error as DicomError {
            error.path = path
            throw error
        }
    }

    /// How much of a file metadata-only reads look at before mapping it: half the corpus's
    /// headers end within 2 KiB, nine in ten within 10 KiB.
    static let headerPrefixSteps = [12 * 1024, 128 * 1024]

    /// Metadata-only reading from the first bytes of the file, without mapping it: if the whole
    /// file fits, or the header ends at Pixel Data inside a prefix with nothing amiss, that is
    /// the answer; otherwise nil, and the caller maps the whole file.
    static func readHeaderPrefix(_ path: String, options: DicomReadOptions) throws -> DicomFile? {
        try withFilePrefixes(path: path, steps: headerPrefixSteps) { prefix, fileSize in
            let complete = prefix.count == fileSize
            // A truncated prefix that does not reach Pixel Data is simply read again, longer.
            guard let file = try? read(prefix, options: options) else {
                if complete { return try read(prefix, options: options) }
                return nil
            }
            guard complete || (file.stoppedBeforePixelData && file.diagnostics.isEmpty) else { return nil }
            var result = file
            result.byteCount = fileSize
            return result
        }
    }

    /// Reads DICOM from bytes in memory.
    public static func read(_ bytes: [UInt8], options: DicomReadOptions = DicomReadOptions()) throws -> DicomFile {
        try bytes.withUnsafeBytes { try read($0, options: options) }
    }

    /// Reads DICOM from a buffer; nothing in the result points into it.
    public static func read(
        _ buffer: UnsafeRawBufferPointer, options: DicomReadOptions = DicomReadOptions()
    ) throws
        -> DicomFile
    {
        var parser = DatasetParser(bytes: buffer, options: options, inInflatedStream: false)
        let count = buffer.count
        var offset = 0
        var hasPreamble = false
        if count >= 132 && parser.matchesMagic(at: 128) {
            hasPreamble = true
            offset = 132
        } else if count >= 4 && parser.matchesMagic(at: 0) {
            offset = 4
            parser.note(.warning, at: 0, "no 128-byte preamble before DICM")
        }

        var meta = DataSet()
        if count - offset >= 8 && parser.u16(offset, littleEndian: true) == 0x0002 {
            let result = parser.readDataSet(
                from: offset, to: count, encoding: .explicitLittle, depth: 0, characterSet: .default,
                context: .fileMeta)
            meta = result.dataSet
            offset = result.next
        } else if !hasPreamble {
            try parser.checkPlausibleStart(at: offset)
        }

        let syntax: TransferSyntax
        if let uid = meta[DicomTag(0x0002, 0x0010)]?.string, !uid.isEmpty {
            syntax = TransferSyntax(uid: uid)
        } else {
            syntax = parser.sniffSyntax(at: offset)
            if !meta.isEmpty || hasPreamble {
                parser.note(
                    .warning, at: offset, "no Transfer Syntax UID (0002,0010); the data looks like \(syntax.name)")
            }
        }

        if syntax.isDeflated {
            let compressed = UnsafeRawBufferPointer(rebasing: buffer[offset...])
            /// Inflates up to `limit` bytes and reads the dataset from them; a stream cut short is
            /// reported only when `reportProblems` says the whole stream was wanted.
            func readInflated(limit: Int, reportProblems: Bool) throws -> DicomFile {
                let (inflated, problem) = Inflate.raw(compressed, limit: limit)
                if inflated.isEmpty {
                    throw DicomError(.malformed, offset: offset, problem ?? "deflated dataset is empty")
                }
                var outer = parser
                if reportProblems, let problem { outer.note(.error, at: offset, problem) }
                return inflated.withUnsafeBytes { inflatedBuffer in
                    var inner = DatasetParser(bytes: inflatedBuffer, options: options, inInflatedStream: true)
                    inner.diagnostics = outer.diagnostics
                    let dataset = inner.readDataSet(
                        from: 0, to: inflatedBuffer.count, encoding: Encoding(syntax), depth: 0, characterSet: .default,
                        context: .topLevel)
                    return DicomFile(
                        hasPreamble: hasPreamble, meta: meta, dataset: dataset.dataSet, transferSyntax: syntax,
                        diagnostics: inner.diagnostics, stoppedBeforePixelData: inner.stoppedBeforePixelData,
                        datasetOffset: offset, byteCount: count)
                }
            }
            // A header needs only the start of the stream: if it ends at Pixel Data within the
            // first bytes inflated, everything before was there, and the rest does not matter.
            if options.stopBeforePixelData {
                for limit in Self.headerInflateSteps {
                    let header = try readInflated(limit: limit, reportProblems: false)
                    if header.stoppedBeforePixelData { return header }
                }
            }
            return try readInflated(limit: Self.inflateLimit(compressed.count), reportProblems: true)
        }

        let dataset = parser.readDataSet(
            from: offset, to: count, encoding: Encoding(syntax), depth: 0, characterSet: .default, context: .topLevel)
        return DicomFile(
            hasPreamble: hasPreamble, meta: meta, dataset: dataset.dataSet, transferSyntax: syntax,
            diagnostics: parser.diagnostics, stoppedBeforePixelData: parser.stoppedBeforePixelData,
            datasetOffset: offset, byteCount: count, pixelDataOffset: parser.pixelDataOffset)
    }

    /// What is wrong with what follows a header read with ``DicomReadOptions/stopBeforePixelData``:
    /// Pixel Data (and anything after it) read the way a full read does, only to collect its
    /// diagnostics, the same ones `dql dump` shows (a file cut short inside Pixel Data, the
    /// commonest damage of all, says so here). Bulk values are not copied, so this costs about
    /// what walking the element headers costs. Nothing for a deflated dataset (its header read
    /// inflates the stream) or a header that did not stop before Pixel Data.
    public static func diagnosticsAfterHeader(
        _ buffer: UnsafeRawBufferPointer, header: DicomFile, options: DicomReadOptions = DicomReadOptions()
    ) -> [DicomDiagnostic] {
        guard header.stoppedBeforePixelData, !header.transferSyntax.isDeflated, header.byteCount == buffer.count
        else { return [] }
        var options = options
        options.stopBeforePixelData = false
        var parser = DatasetParser(bytes: buffer, options: options, inInflatedStream: false)
        guard let start = header.pixelDataOffset, start < buffer.count else { return [] }
        _ = parser.readDataSet(
            from: start, to: buffer.count, encoding: Encoding(header.transferSyntax), depth: 0, characterSet: .default,
            context: .topLevel)
        return parser.diagnostics
    }

    /// How much of a deflated stream a metadata-only read inflates before inflating it all.
    static let headerInflateSteps = [64 << 10, 1 << 20]

    /// A deflated dataset may legitimately compress well, but not beyond reason.
    static func inflateLimit(_ compressedCount: Int) -> Int {
        min(Int(Int32.max), max(64 << 20, compressedCount.multipliedReportingOverflow(by: 1024).partialValue))
    }
}

/// Byte order and VR style of the data being read.
struct Encoding: Equatable {
    var explicitVR: Bool
    var littleEndian: Bool

    static let explicitLittle = Encoding(explicitVR: true, littleEndian: true)
    static let implicitLittle = Encoding(explicitVR: false, littleEndian: true)

    init(explicitVR: Bool, littleEndian: Bool) {
        self.explicitVR = explicitVR
        self.littleEndian = littleEndian
    }

    init(_ syntax: TransferSyntax) {
        self.init(explicitVR: syntax.isExplicitVR, littleEndian: syntax.isLittleEndian)
    }
}

/// The character set in force while reading, with its index in the read's text storage.
struct ActiveCharacterSet {
    var set: SpecificCharacterSet
    var index: Int

    static let `default` = ActiveCharacterSet(set: .default, index: 0)
}

/// Where a dataset sits, which changes how it ends and what is checked.
enum DataSetContext: Equatable {
    case topLevel
    case fileMeta
    case item(undefinedLength: Bool)
}

private let itemTag = DicomTag(0xFFFE, 0xE000)
private let itemDelimitationTag = DicomTag(0xFFFE, 0xE00D)
private let sequenceDelimitationTag = DicomTag(0xFFFE, 0xE0DD)
private let specificCharacterSetTag = DicomTag(0x0008, 0x0005)
private let pixelDataTag = DicomTag(0x7FE0, 0x0010)
private let undefinedLength: UInt32 = 0xFFFF_FFFF

/// The element-by-element reading engine over one buffer. Every read is bounds-checked against
/// the buffer, and lengths are clamped to the bytes that exist.
struct DatasetParser {
    let bytes: UnsafeRawBufferPointer
    let options: DicomReadOptions
    let inInflatedStream: Bool
    var diagnostics: [DicomDiagnostic] = []
    var stoppedBeforePixelData = false
    /// Where the Pixel Data element starts, when reading stopped before it.
    var pixelDataOffset: Int?
    /// Elements read so far, at every depth (see ``DicomReadOptions/maximumElements``).
    var elementsRead = 0
    /// The element budget ran out: every level stops reading.
    var exhausted = false
    /// Where text values keep their bytes until decoded.
    let textStorage = TextStorage()

    init(bytes: UnsafeRawBufferPointer, options: DicomReadOptions, inInflatedStream: Bool) {
        self.bytes = bytes
        self.options = options
        self.inInflatedStream = inInflatedStream
    }

    mutating func note(_ severity: DicomDiagnostic.Severity, at offset: Int, tag: DicomTag? = nil, _ message: String) {
        // A hostile file could produce one diagnostic per element; a thousand say enough.
        guard diagnostics.count < 1000 else { return }
        let place = inInflatedStream ? " (offset in the inflated dataset)" : ""
        diagnostics.append(DicomDiagnostic(severity, offset: offset, tag: tag, message + place))
    }

    // MARK: Primitive reads (callers check bounds)

    func u16(_ offset: Int, littleEndian: Bool) -> UInt16 {
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return littleEndian ? UInt16(littleEndian: value) : UInt16(bigEndian: value)
    }

    func u32(_ offset: Int, littleEndian: Bool) -> UInt32 {
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return littleEndian ? UInt32(littleEndian: value) : UInt32(bigEndian: value)
    }

    func tag(at offset: Int, littleEndian: Bool) -> DicomTag {
        DicomTag(u16(offset, littleEndian: littleEndian), u16(offset + 2, littleEndian: littleEndian))
    }

    func matchesMagic(at offset: Int) -> Bool {
        offset + 4 <= bytes.count && bytes[offset] == 0x44 && bytes[offset + 1] == 0x49 && bytes[offset + 2] == 0x43
            && bytes[offset + 3] == 0x4D
    }

    private func isUpperLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) }

    // MARK: Sniffing

    /// Guesses the encoding of a dataset with no transfer syntax from its first element, as
    /// pydicom does: a valid VR means explicit, and an explicit group that only makes sense
    /// byte-swapped means big endian.
    func sniffSyntax(at offset: Int) -> TransferSyntax {
        guard offset + 6 <= bytes.count else { return .implicitVRLittleEndian }
        let group = u16(offset, littleEndian: true)
        guard VR(bytes[offset + 4], bytes[offset + 5]) != nil else { return .implicitVRLittleEndian }
        return group >= 1024 ? .explicitVRBigEndian : .explicitVRLittleEndian
    }

    /// Throws unless the bytes at `offset` start like a DICOM dataset: an even, standard group,
    /// a known attribute, and a length that fits. A group length (gggg,0000) must be the 4 bytes
    /// of a UL, read in the byte order the dataset will be read in (``sniffSyntax(at:)``): text
    /// in UTF-32 starts with a letter and three zero bytes, which reads as the group length of
    /// an even group with a small length that fits, and `08 00 00 00 00 00 00 04` is a length
    /// of 4 only when read big endian, as group 0800.
    func checkPlausibleStart(at offset: Int) throws {
        guard bytes.count - offset >= 8 else {
            throw DicomError(
                .notDicom, offset: offset, "not DICOM: \(bytes.count) bytes is too short for a data element")
        }
        let sniffedLittleEndian = sniffSyntax(at: offset).isLittleEndian
        for littleEndian in [true, false] {
            let tag = tag(at: offset, littleEndian: littleEndian)
            guard tag.group & 1 == 0, (0x0002...0x7FE0).contains(tag.group) else { continue }
            let isGroupLength = tag.element == 0
            if isGroupLength && littleEndian != sniffedLittleEndian { continue }
            guard isGroupLength || DataDictionary.dictionaryVR(for: tag) != nil else { continue }
            if let vr = VR(bytes[offset + 4], bytes[offset + 5]) {
                let length =
                    vr.hasLongLength
                    ? (offset + 12 <= bytes.count ? Int(u32(offset + 8, littleEndian: littleEndian)) : Int.max)
                    : Int(u16(offset + 6, littleEndian: littleEndian))
                if isGroupLength { if vr == .UL && length == 4 { return } else { continue } }
                if length == Int(undefinedLength) || length <= bytes.count - offset { return }
            } else {
                let length = u32(offset + 4, littleEndian: littleEndian)
                if isGroupLength { if length == 4 { return } else { continue } }
                if length == undefinedLength || Int(length) <= bytes.count - offset - 8 { return }
            }
        }
        let preview = (0..<min(4, bytes.count - offset)).map {
            HexDigits.uppercase(UInt64(bytes[offset + $0]), count: 2)
        }
        .joined(separator: " ")
        throw DicomError(
            .notDicom, offset: offset,
            "not DICOM: no DICM marker at byte 128 and the first bytes (\(preview)) are not a plausible data element")
    }

    // MARK: Datasets

    /// Reads elements from `start` until `end`, an item delimiter, or (for the meta group) the
    /// first element outside group 0002. Returns the dataset and where reading stopped.
    mutating func readDataSet(
        from start: Int, to end: Int, encoding assumed: Encoding, depth: Int,
        characterSet inherited: ActiveCharacterSet, context: DataSetContext,
        resolver inheritedResolver: VRResolver = VRResolver()
    ) -> (dataSet: DataSet, next: Int) {
        let encoding = checkedEncoding(at: start, end: end, assumed: assumed, context: context)
        var resolver = inheritedResolver
        var elements: [DataElement] = []
        elements.reserveCapacity(context == .topLevel ? 32 : 8)
        var characterSet = inherited
        var needsSorting = false
        var position = start
        while position < end && !exhausted {
            if elementsRead >= options.maximumElements {
                exhausted = true
                note(
                    .error, at: position,
                    "stopped after \(options.maximumElements) elements; the \(bytes.count - position) bytes after were not read"
                )
                break
            }
            elementsRead += 1
            if end - position < 8 {
                if (position..<end).contains(where: { bytes[$0] != 0 }) {
                    note(.warning, at: position, "\(end - position) bytes after the last element ignored")
                }
                position = end
                break
            }
            let tag = tag(at: position, littleEndian: encoding.littleEndian)
            if tag == itemDelimitationTag {
                if case .item(undefinedLength: true) = context {
                    return (finish(elements, needsSorting, characterSet.set), position + 8)
                }
                note(.warning, at: position, "item delimiter outside an item of undefined length; ignored")
                position += 8
                continue
            }
            if tag == sequenceDelimitationTag {
                if case .item(undefinedLength: true) = context {
                    note(.warning, at: position, "item of undefined length ends without an item delimiter")
                    return (finish(elements, needsSorting, characterSet.set), position)
                }
                note(.warning, at: position, "sequence delimiter outside a sequence; ignored")
                position += 8
                continue
            }
            if context == .fileMeta && tag.group != 0x0002 { break }
            if context == .topLevel && options.stopBeforePixelData
                && (tag == pixelDataTag || tag == DicomTag(0x7FE0, 0x0008) || tag == DicomTag(0x7FE0, 0x0009))
            {
                stoppedBeforePixelData = true
                pixelDataOffset = position
                break
            }
            let (element, next) = readElement(
                at: position, end: end, encoding: encoding, depth: depth, characterSet: characterSet, resolver: resolver
            )
            resolver.observe(element)
            if element.tag == specificCharacterSetTag {
                let declared = SpecificCharacterSet(terms: element.strings)
                characterSet = ActiveCharacterSet(set: declared, index: textStorage.index(of: declared))
                if !declared.unknownTerms.isEmpty {
                    note(
                        .warning, at: position, tag: element.tag,
                        "unknown Specific Character Set \(declared.unknownTerms.map { "'\($0)'" }.joined(separator: ", ")); using the default repertoire"
                    )
                }
            }
            if let last = elements.last, last.tag >= element.tag { needsSorting = true }
            elements.append(element)
            position = max(next, position + 8)
        }
        if case .item(undefinedLength: true) = context, position >= end {
            note(.warning, at: end, "item of undefined length runs to the end of the data without an item delimiter")
        }
        return (finish(elements, needsSorting, characterSet.set), position)
    }

    /// The encoding to read a dataset with: pydicom's rule is to look at the first element and
    /// follow what it says when it contradicts the transfer syntax.
    private mutating func checkedEncoding(
        at start: Int, end: Int, assumed: Encoding, context: DataSetContext
    ) -> Encoding {
        guard end - start >= 6 else { return assumed }
        let isItem: Bool
        if case .item = context { isItem = true } else { isItem = false }
        // Items may be implicit inside explicit data, but never the other way round.
        if isItem && !assumed.explicitVR { return assumed }
        let foundImplicit = !(isUpperLetter(bytes[start + 4]) && isUpperLetter(bytes[start + 5]))
        guard foundImplicit == assumed.explicitVR else { return assumed }
        let first = tag(at: start, littleEndian: assumed.littleEndian)
        if first == itemDelimitationTag || first == sequenceDelimitationTag { return assumed }
        if context == .fileMeta && first.group != 0x0002 { return assumed }
        var switched = assumed
        switched.explicitVR = !foundImplicit
        if !(foundImplicit && isItem) {
            note(
                .warning, at: start,
                "expected \(assumed.explicitVR ? "explicit" : "implicit") VR, found \(foundImplicit ? "implicit" : "explicit") VR; reading as found"
            )
        }
        return switched
    }

    /// Sorts out-of-order elements and keeps the last of duplicated tags, as pydicom does.
    private mutating func finish(
        _ elements: [DataElement], _ needsSorting: Bool, _ characterSet: SpecificCharacterSet
    )
        -> DataSet
    {
        guard needsSorting else { return DataSet(sortedElements: elements, characterSet: characterSet) }
        let sorted = elements.enumerated().sorted { ($0.element.tag, $0.offset) < ($1.element.tag, $1.offset) }
            .map(\.element)
        var unique: [DataElement] = []
        unique.reserveCapacity(sorted.count)
        for element in sorted {
            if let last = unique.last, last.tag == element.tag {
                note(.warning, at: element.offset, tag: element.tag, "duplicate element; the later one is kept")
                unique[unique.count - 1] = element
            } else {
                unique.append(element)
            }
        }
        if unique.count == sorted.count {
            note(.warning, at: sorted.first?.offset ?? 0, "elements out of tag order; sorted")
        }
        return DataSet(sortedElements: unique, characterSet: characterSet)
    }

    // MARK: Elements

    /// Reads one element whose header starts at `position` (at least 8 bytes exist).
    private mutating func readElement(
        at position: Int, end: Int, encoding: Encoding, depth: Int, characterSet: ActiveCharacterSet,
        resolver: VRResolver
    ) -> (DataElement, Int) {
        let little = encoding.littleEndian
        let tag = tag(at: position, littleEndian: little)
        var vr: VR
        var length: UInt32
        var headerLength = 8
        var elementIsImplicit = !encoding.explicitVR
        if tag.group == 0xFFFE {
            // Items and delimiters have no VR in any syntax.
            vr = .UN
            length = u32(position + 4, littleEndian: little)
            elementIsImplicit = true
        } else if encoding.explicitVR {
            let first = bytes[position + 4]
            let second = bytes[position + 5]
            if let explicit = VR(first, second) {
                vr = explicit
                if explicit.hasLongLength {
                    guard end - position >= 12 else {
                        note(.error, at: position, tag: tag, "element header cut off by the end of the data")
                        return (DataElement(tag: tag, vr: vr, value: .empty, offset: position), end)
                    }
                    length = u32(position + 8, littleEndian: little)
                    headerLength = 12
                } else {
                    length = UInt32(u16(position + 6, littleEndian: little))
                }
            } else if isUpperLetter(first) && isUpperLetter(second) {
                // Letters, but no VR we know: explicit with a 2-byte length (pydicom's rule).
                vr = .UN
                length = UInt32(u16(position + 6, littleEndian: little))
                note(
                    .warning, at: position, tag: tag,
                    "unknown VR '\(String(decoding: [first, second], as: UTF8.self))'; value kept as bytes")
            } else {
                // Not a VR at all: this element is implicit VR.
                elementIsImplicit = true
                length = u32(position + 4, littleEndian: little)
                vr = resolver.knownVR(for: tag, undefinedLength: length == undefinedLength) ?? .UN
                note(.warning, at: position, tag: tag, "element without a VR in explicit VR data; read as implicit VR")
            }
        } else {
            length = u32(position + 4, littleEndian: little)
            vr = resolver.knownVR(for: tag, undefinedLength: length == undefinedLength) ?? .UN
        }
        let valueStart = position + headerLength

        if length == undefinedLength {
            return readUndefinedLengthElement(
                tag: tag, vr: vr, isImplicit: elementIsImplicit, position: position, valueStart: valueStart, end: end,
                encoding: encoding, depth: depth, characterSet: characterSet, resolver: resolver)
        }

        var valueEnd = valueStart + Int(length)
        if valueEnd > end {
            note(
                .error, at: position, tag: tag,
                "value of \(length) bytes runs past the end of the data; \(end - valueStart) bytes kept")
            valueEnd = end
        }
        let element: DataElement
        let dictionaryVR = vr == .UN ? resolver.knownVR(for: tag, undefinedLength: false) : nil
        if vr == .SQ || dictionaryVR == .SQ {
            // A UN value of a public sequence is an implicit VR little endian sequence.
            let itemEncoding = vr == .UN ? Encoding.implicitLittle : encoding
            let items = readSequence(
                from: valueStart, to: valueEnd, undefinedLength: false, encoding: itemEncoding, depth: depth + 1,
                characterSet: characterSet, tag: tag, position: position, resolver: resolver)
            element = DataElement(
                tag: tag, vr: .SQ, value: .sequence(items.items), offset: position, declaredLength: length)
        } else {
            var valueVR = vr
            var valueLittleEndian = little
            if let known = dictionaryVR {
                // pydicom replaces UN with the dictionary VR; UN bytes are little endian.
                valueVR = known
                valueLittleEndian = true
            }
            let value = decodeValue(
                tag: tag, vr: valueVR, from: valueStart, to: valueEnd, littleEndian: valueLittleEndian,
                characterSet: characterSet)
            element = DataElement(tag: tag, vr: valueVR, value: value, offset: position, declaredLength: length)
        }
        return (element, valueEnd)
    }

    private mutating func readUndefinedLengthElement(
        tag: DicomTag, vr: VR, isImplicit: Bool, position: Int, valueStart: Int, end: Int, encoding: Encoding,
        depth: Int, characterSet: ActiveCharacterSet, resolver: VRResolver
    ) -> (DataElement, Int) {
        var resolved = vr
        if vr == .UN {
            // pydicom: UN of undefined length is a sequence; otherwise follow the dictionary,
            // or the data if the next thing is an item.
            resolved = .SQ
        } else if isImplicit, resolver.knownVR(for: tag, undefinedLength: true) == nil, end - valueStart >= 4,
            self.tag(at: valueStart, littleEndian: encoding.littleEndian) == itemTag
        {
            resolved = .SQ
        }
        if resolved == .SQ {
            let itemEncoding = vr == .UN ? Encoding.implicitLittle : encoding
            let items = readSequence(
                from: valueStart, to: end, undefinedLength: true, encoding: itemEncoding, depth: depth + 1,
                characterSet: characterSet, tag: tag, position: position, resolver: resolver)
            return (
                DataElement(
                    tag: tag, vr: .SQ, value: .sequence(items.items), offset: position, declaredLength: undefinedLength),
                items.next
            )
        }
        let (pixels, next) = readFragments(from: valueStart, to: end, littleEndian: encoding.littleEndian, tag: tag)
        return (
            DataElement(tag: tag, vr: resolved, value: pixels, offset: position, declaredLength: undefinedLength), next
        )
    }

    // MARK: Sequences

    private mutating func readSequence(
        from start: Int, to end: Int, undefinedLength isUndefined: Bool, encoding: Encoding, depth: Int,
        characterSet: ActiveCharacterSet, tag: DicomTag, position: Int, resolver: VRResolver
    ) -> (items: [DataSet], next: Int) {
        if depth > options.maximumDepth {
            note(.error, at: position, tag: tag, "sequences nested deeper than \(options.maximumDepth) levels; skipped")
            return (
                [],
                isUndefined ? skipToSequenceDelimiter(from: start, to: end, littleEndian: encoding.littleEndian) : end
            )
        }
        var items: [DataSet] = []
        var cursor = start
        while true {
            if !isUndefined && cursor >= end { break }
            if end - cursor < 8 {
                if isUndefined || cursor < end {
                    note(.error, at: cursor, tag: tag, "sequence ends without a sequence delimiter")
                }
                cursor = end
                break
            }
            let itemHeader = self.tag(at: cursor, littleEndian: encoding.littleEndian)
            let itemLength = u32(cursor + 4, littleEndian: encoding.littleEndian)
            if itemHeader == sequenceDelimitationTag {
                cursor += 8
                break
            }
            if itemHeader != itemTag {
                note(
                    .warning, at: cursor, tag: tag, "expected an item (FFFE,E000), found \(itemHeader); read as an item"
                )
            }
            if itemLength == undefinedLength {
                let (item, next) = readDataSet(
                    from: cursor + 8, to: end, encoding: encoding, depth: depth, characterSet: characterSet,
                    context: .item(undefinedLength: true), resolver: resolver.forItem())
                items.append(item)
                cursor = next
            } else {
                var itemEnd = cursor + 8 + Int(itemLength)
                if itemEnd > end {
                    note(.error, at: cursor, tag: tag, "item of \(itemLength) bytes runs past the end of its sequence")
                    itemEnd = end
                }
                let (item, _) = readDataSet(
                    from: cursor + 8, to: itemEnd, encoding: encoding, depth: depth, characterSet: characterSet,
                    context: .item(undefinedLength: false), resolver: resolver.forItem())
                items.append(item)
                cursor = itemEnd
            }
        }
        return (items, cursor)
    }

    /// The offset just past the next sequence delimiter, found by its bytes; `end` if none.
    private func skipToSequenceDelimiter(from start: Int, to end: Int, littleEndian: Bool) -> Int {
        var cursor = start
        while end - cursor >= 8 {
            if tag(at: cursor, littleEndian: littleEndian) == sequenceDelimitationTag
                && u32(cursor + 4, littleEndian: littleEndian) == 0
            {
                return cursor + 8
            }
            cursor += 1
        }
        return end
    }

    /// Encapsulated pixel data and other undefined-length binary values: items walked by their
    /// lengths, so delimiter-like bytes inside compressed data do not end the value early.
    private mutating func readFragments(
        from start: Int, to end: Int, littleEndian: Bool, tag: DicomTag
    )
        -> (DicomValue, Int)
    {
        var fragments: [BulkData] = []
        var cursor = start
        while true {
            guard end - cursor >= 8 else {
                note(.error, at: cursor, tag: tag, "encapsulated value ends without a sequence delimiter")
                cursor = end
                break
            }
            let header = self.tag(at: cursor, littleEndian: littleEndian)
            let length = u32(cursor + 4, littleEndian: littleEndian)
            if header == sequenceDelimitationTag {
                cursor += 8
                break
            }
            guard header == itemTag, length != undefinedLength else {
                note(
                    .error, at: cursor, tag: tag, "broken fragment structure; value runs to the next sequence delimiter"
                )
                let next = skipToSequenceDelimiter(from: cursor, to: end, littleEndian: littleEndian)
                fragments.append(
                    BulkData(offset: cursor, length: max(0, next - 8 - cursor), inInflatedStream: inInflatedStream))
                cursor = next
                break
            }
            var fragmentEnd = cursor + 8 + Int(length)
            if fragmentEnd > end {
                note(.error, at: cursor, tag: tag, "fragment of \(length) bytes runs past the end of the data")
                fragmentEnd = end
            }
            fragments.append(
                BulkData(offset: cursor + 8, length: fragmentEnd - cursor - 8, inInflatedStream: inInflatedStream))
            cursor = fragmentEnd
        }
        let table = fragments.first ?? BulkData(offset: start, length: 0, inInflatedStream: inInflatedStream)
        return (
            .encapsulated(EncapsulatedPixelData(basicOffsetTable: table, fragments: Array(fragments.dropFirst()))),
            cursor
        )
    }

    // MARK: Values

    private mutating func decodeValue(
        tag: DicomTag, vr: VR, from start: Int, to end: Int, littleEndian: Bool, characterSet: ActiveCharacterSet
    ) -> DicomValue {
        let count = end - start
        if count == 0 { return .empty }
        if vr.isText {
            let raw = bytes[start..<end]
            if TextValueDecoder.isBlank(raw, vr: vr) { return .empty }
            return .text(
                EncodedText(
                    storage: textStorage, range: textStorage.append(raw), vr: vr, characterSetIndex: characterSet.index)
            )
        }
        if let width = vr.numericWidth {
            if count % width != 0 {
                note(
                    .warning, at: start, tag: tag,
                    "\(vr) value of \(count) bytes is not a multiple of \(width); last bytes ignored")
            }
            return decodeNumbers(vr: vr, from: start, count: count / width, width: width, littleEndian: littleEndian)
        }
        // Binary: OB OD OF OL OV OW UN (and unknown VRs).
        if tag == pixelDataTag || count > options.inlineBinaryLimit {
            return .bulk(BulkData(offset: start, length: count, inInflatedStream: inInflatedStream))
        }
        return .bytes(Array(UnsafeRawBufferPointer(rebasing: bytes[start..<end])))
    }

    private func decodeNumbers(vr: VR, from start: Int, count: Int, width: Int, littleEndian little: Bool) -> DicomValue
    {
        func u64(_ offset: Int) -> UInt64 {
            let value = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            return little ? UInt64(littleEndian: value) : UInt64(bigEndian: value)
        }
        guard count > 0 else { return .empty }
        func values<T>(_ read: (Int) -> T) -> Values<T> {
            Values(read(start), tail: (1..<count).map { read(start + $0 * width) })
        }
        switch vr {
        case .US: return .integers(values { Int64(u16($0, littleEndian: little)) })
        case .SS: return .integers(values { Int64(Int16(bitPattern: u16($0, littleEndian: little))) })
        case .UL: return .integers(values { Int64(u32($0, littleEndian: little)) })
        case .SL: return .integers(values { Int64(Int32(bitPattern: u32($0, littleEndian: little))) })
        case .SV: return .integers(values { Int64(bitPattern: u64($0)) })
        case .UV: return .unsignedIntegers(values { u64($0) })
        case .FL: return .reals(values { Double(Float(bitPattern: u32($0, littleEndian: little))) })
        case .FD: return .reals(values { Double(bitPattern: u64($0)) })
        case .AT:
            return .tags(
                (0..<count).map { start + $0 * width }.map {
                    DicomTag(u16($0, littleEndian: little), u16($0 + 2, littleEndian: little))
                })
        default: return .empty
        }
    }

}

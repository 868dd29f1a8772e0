/// The DICOM JSON Model (PS3.18 Annex F.2): one object per dataset, keyed by 8-digit tag.
///
/// Bulk data (Pixel Data, and binary values too large to keep inline) is left out and marked
/// with a `BulkDataURI` holding a relative reference to its bytes: `?offset=N&length=M` in the
/// file (`?inflatedOffset=…` for deflated files). Small binary values are `InlineBinary`.
public enum DicomJSON {
    /// The dataset (with the file meta elements first) as DICOM JSON.
    public static func encode(_ file: DicomFile) -> JSONValue {
        var members = objectMembers(file.meta)
        members += objectMembers(file.dataset)
        return .object(members)
    }

    /// One dataset as DICOM JSON. `bulkDataPrefix` goes before each bulk reference
    /// (`?offset=N&length=M`), making it a URL a server answers (WADO-RS metadata).
    public static func encode(_ dataSet: DataSet, bulkDataPrefix: String = "") -> JSONValue {
        .object(objectMembers(dataSet, bulkDataPrefix: bulkDataPrefix))
    }

    /// One attribute as DICOM JSON (`{"vr": …, "Value": […]}`), for a server that picks the
    /// attributes it returns (QIDO-RS).
    public static func encode(_ element: DataElement) -> JSONValue {
        attribute(element)
    }

    static func objectMembers(_ dataSet: DataSet, bulkDataPrefix: String = "") -> [(String, JSONValue)] {
        dataSet.elements.compactMap { element in
            // PS3.18 F.2: group length elements are not included.
            guard element.tag.element != 0 else { return nil }
            return (element.tag.hexString, attribute(element, bulkDataPrefix: bulkDataPrefix))
        }
    }

    static func attribute(_ element: DataElement, bulkDataPrefix: String = "") -> JSONValue {
        var members: [(String, JSONValue)] = [("vr", .string(element.vr.rawValue))]
        switch element.value.decoded {
        case .empty, .text:
            break
        case .strings(let values):
            members.append(("Value", .array(values.map { stringValue($0, vr: element.vr) })))
        case .personNames(let names):
            members.append(("Value", .array(names.map(personName))))
        case .integers(let values):
            members.append(("Value", .array(values.map { .integer($0) })))
        case .unsignedIntegers(let values):
            members.append(("Value", .array(values.map { .unsigned($0) })))
        case .reals(let values):
            members.append(("Value", .array(values.map { .real($0) })))
        case .tags(let values):
            members.append(("Value", .array(values.map { .string($0.hexString) })))
        case .sequence(let items):
            members.append(("Value", .array(items.map { encode($0, bulkDataPrefix: bulkDataPrefix) })))
        case .bytes(let bytes):
            if !bytes.isEmpty { members.append(("InlineBinary", .string(Base64.encode(bytes)))) }
        case .bulk(let bulk):
            members.append(
                (
                    "BulkDataURI",
                    .string(
                        bulkDataPrefix
                            + bulkReference(offset: bulk.offset, length: bulk.length, inflated: bulk.inInflatedStream))
                ))
        case .encapsulated(let pixels):
            // The whole encapsulated value: from the basic offset table item to the last fragment.
            let start = pixels.basicOffsetTable.offset - 8
            let end =
                (pixels.fragments.last ?? pixels.basicOffsetTable).offset
                + (pixels.fragments.last ?? pixels.basicOffsetTable).length
            members.append(
                (
                    "BulkDataURI",
                    .string(
                        bulkDataPrefix
                            + bulkReference(
                                offset: start, length: max(0, end - start),
                                inflated: pixels.basicOffsetTable.inInflatedStream))
                ))
        }
        return .object(members)
    }

    static func bulkReference(offset: Int, length: Int, inflated: Bool) -> String {
        (inflated ? "?inflatedOffset=" : "?offset=") + "\(offset)&length=\(length)"
    }

    /// IS and DS are JSON numbers (F.2.3); text that is not a number stays a string.
    static func stringValue(_ text: String, vr: VR) -> JSONValue {
        switch vr {
        case .IS:
            let trimmed = text.trimmingCharacters(inSet: " ")
            if trimmed.isEmpty { return .null }
            if let value = Int64(trimmed) { return .integer(value) }
            return Double(trimmed).map { .real($0) } ?? .string(text)
        case .DS:
            let trimmed = text.trimmingCharacters(inSet: " ")
            if trimmed.isEmpty { return .null }
            if let value = Double(trimmed), value.isFinite { return .real(value) }
            return .string(text)
        default:
            return text.isEmpty ? .null : .string(text)
        }
    }

    static func personName(_ name: PersonName) -> JSONValue {
        var members: [(String, JSONValue)] = []
        for (key, group) in zip(["Alphabetic", "Ideographic", "Phonetic"], name.groups) where !group.isEmpty {
            members.append((key, .string(group)))
        }
        return .object(members)
    }
}

/// RFC 4648 base64, for InlineBinary.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { output.append(alphabet[Int(chunk >> UInt32(shift) & 63)]) }
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            let chunk = UInt32(bytes[index]) << 16 | (remaining == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(remaining == 2 ? alphabet[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }
}

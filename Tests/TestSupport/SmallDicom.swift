import Foundation

/// Small DICOM Part 10 files written from a list of elements (explicit VR little endian), for
/// tests that need files with exact values: generated archives, odd text, damaged headers.
public enum SmallDicom {
    /// One element: tag, VR and its value as text (padded to even length as DICOM wants).
    public struct Element: Sendable {
        public var group: UInt16
        public var element: UInt16
        public var vr: String
        public var value: String

        public init(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: String) {
            self.group = group
            self.element = element
            self.vr = vr
            self.value = value
        }
    }

    /// The file's bytes: preamble, `DICM`, a meta group naming explicit VR little endian, then
    /// the elements in the order given (give them in tag order).
    public static func bytes(_ elements: [Element]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        bytes += encode(Element(0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1"))
        for element in elements { bytes += encode(element) }
        return bytes
    }

    /// Writes the file at `path`.
    public static func write(_ elements: [Element], to path: String) throws {
        try Data(bytes(elements)).write(to: URL(fileURLWithPath: path))
    }

    /// A typical CT instance of a generated archive: patient, study, series, instance.
    public static func instance(
        patientId: String, patientName: String, studyUid: String, seriesUid: String, sopUid: String,
        date: String = "20190305", modality: String = "CT", protocolName: String = "Routine"
    ) -> [Element] {
        [
            Element(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2"), Element(0x0008, 0x0018, "UI", sopUid),
            Element(0x0008, 0x0020, "DA", date), Element(0x0008, 0x0060, "CS", modality),
            Element(0x0010, 0x0010, "PN", patientName), Element(0x0010, 0x0020, "LO", patientId),
            Element(0x0018, 0x1030, "LO", protocolName), Element(0x0020, 0x000D, "UI", studyUid),
            Element(0x0020, 0x000E, "UI", seriesUid),
        ]
    }

    static func encode(_ element: Element) -> [UInt8] {
        var value = Array(element.value.utf8)
        if value.count % 2 == 1 { value.append(element.vr == "UI" ? 0 : 0x20) }
        var bytes = [
            UInt8(element.group & 0xFF), UInt8(element.group >> 8), UInt8(element.element & 0xFF),
            UInt8(element.element >> 8),
        ]
        bytes += Array(element.vr.utf8)
        bytes += [UInt8(value.count & 0xFF), UInt8(value.count >> 8 & 0xFF)]
        return bytes + value
    }
}

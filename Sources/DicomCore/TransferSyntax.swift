/// How a dataset's bytes are laid out, from the Transfer Syntax UID (0002,0010).
public struct TransferSyntax: Sendable, Hashable, CustomStringConvertible {
    public var uid: String
    public var isExplicitVR: Bool
    public var isLittleEndian: Bool
    /// Everything after the file meta group is raw DEFLATE.
    public var isDeflated: Bool
    /// Pixel data is a sequence of compressed fragments.
    public var isEncapsulated: Bool

    public static let implicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2", isExplicitVR: false, isLittleEndian: true, isDeflated: false, isEncapsulated: false)
    public static let explicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1", isExplicitVR: true, isLittleEndian: true, isDeflated: false, isEncapsulated: false)
    public static let explicitVRBigEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.2", isExplicitVR: true, isLittleEndian: false, isDeflated: false, isEncapsulated: false)
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1.99", isExplicitVR: true, isLittleEndian: true, isDeflated: true,
        isEncapsulated: false)

    public init(uid: String, isExplicitVR: Bool, isLittleEndian: Bool, isDeflated: Bool, isEncapsulated: Bool) {
        self.uid = uid
        self.isExplicitVR = isExplicitVR
        self.isLittleEndian = isLittleEndian
        self.isDeflated = isDeflated
        self.isEncapsulated = isEncapsulated
    }

    /// The syntax for a UID. Known uncompressed syntaxes get their own encoding; every other UID
    /// (JPEG, JPEG-LS, JPEG 2000, HTJ2K, RLE, MPEG, unknown) is explicit VR little endian, with
    /// encapsulated pixel data for the compressed families.
    public init(uid rawUID: String) {
        let uid = rawUID.trimmingDicomPadding()
        switch uid {
        case Self.implicitVRLittleEndian.uid: self = .implicitVRLittleEndian
        case Self.explicitVRLittleEndian.uid: self = .explicitVRLittleEndian
        case Self.explicitVRBigEndian.uid: self = .explicitVRBigEndian
        case Self.deflatedExplicitVRLittleEndian.uid, "1.2.840.10008.1.2.8.1":
            self = .deflatedExplicitVRLittleEndian
            self.uid = uid
        default:
            let encapsulated =
                uid.hasPrefix("1.2.840.10008.1.2.4.") || uid == "1.2.840.10008.1.2.5"
                || uid.hasPrefix("1.2.840.10008.1.2.7.")
            self.init(
                uid: uid, isExplicitVR: true, isLittleEndian: true, isDeflated: false, isEncapsulated: encapsulated)
        }
    }

    /// A name for people, e.g. "Explicit VR Little Endian" or "JPEG 2000".
    public var name: String {
        Self.names[uid] ?? (isEncapsulated ? "encapsulated (\(uid))" : uid)
    }

    public var description: String { "\(name) [\(uid)]" }

    static let names: [String: String] = [
        "1.2.840.10008.1.2": "Implicit VR Little Endian",
        "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.98": "Encapsulated Uncompressed Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
        "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
        "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
        "1.2.840.10008.1.2.4.70": "JPEG Lossless, First-Order Prediction (Process 14 [Selection Value 1])",
        "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
        "1.2.840.10008.1.2.4.90": "JPEG 2000 (Lossless Only)",
        "1.2.840.10008.1.2.4.91": "JPEG 2000",
        "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component (Lossless Only)",
        "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component",
        "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
        "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
        "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
        "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
        "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
        "1.2.840.10008.1.2.5": "RLE Lossless",
        "1.2.840.10008.1.2.8.1": "Deflated Image Frame Compression",
    ]
}

extension String {
    /// The text without the trailing spaces and NULs DICOM pads values with.
    func trimmingDicomPadding() -> String {
        var scalars = Substring(self).unicodeScalars
        while let last = scalars.last, last == " " || last == "\0" { scalars.removeLast() }
        return String(scalars)
    }
}

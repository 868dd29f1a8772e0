/// A VOI window (PS3.3 C.11.2.1.2): the band of modality values, centre and width, mapped onto
/// the display's grey scale.
public struct Window: Sendable, Equatable {
    public var center: Double
    public var width: Double

    public init(center: Double, width: Double) {
        self.center = center
        self.width = width
    }

    /// Presets radiologists use for CT (Hounsfield units), by name.
    public static let presets: [(name: String, window: Window)] = [
        ("lung", Window(center: -600, width: 1500)), ("mediastinum", Window(center: 50, width: 350)),
        ("abdomen", Window(center: 40, width: 400)), ("liver", Window(center: 60, width: 160)),
        ("bone", Window(center: 400, width: 1800)), ("brain", Window(center: 40, width: 80)),
        ("stroke", Window(center: 40, width: 40)), ("subdural", Window(center: 75, width: 215)),
    ]

    public static func preset(named name: String) -> Window? {
        presets.first { $0.name == name.lowercased() }?.window
    }

    /// The 8-bit display value of a modality value: linear within the window, black below,
    /// white above (the "LINEAR" function of C.11.2.1.2.1).
    @inline(__always)
    func display(_ value: Double) -> UInt8 {
        let low = center - 0.5 - (width - 1) / 2
        let high = center - 0.5 + (width - 1) / 2
        if value <= low { return 0 }
        if value > high { return 255 }
        let scaled = ((value - (center - 0.5)) / max(width - 1, 1) + 0.5) * 255
        return UInt8(max(0, min(255, scaled.rounded(.toNearestOrEven))))
    }
}

/// One decoded frame as stored values: a sample per pixel (grey, sign applied) or three (red,
/// green, blue, pixel by pixel whatever the planar configuration).
public struct Frame: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var samplesPerPixel: Int
    public var samples: [Int32]

    public init(rows: Int, columns: Int, samplesPerPixel: Int, samples: [Int32]) {
        self.rows = rows
        self.columns = columns
        self.samplesPerPixel = samplesPerPixel
        self.samples = samples
    }
}

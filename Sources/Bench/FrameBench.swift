import ArgumentParser
import DicomCore
import DicomImage
import Foundation

/// Frames decoded and windowed to 8 bits: DicomImage against pydicom + numpy
/// (scripts/bench_frames.py) over every corpus file both decode, from memory, as frames per
/// second; and a 512×512 CT frame drawn for a terminal.
struct FrameBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frames",
        abstract: "Decode and window every decodable corpus frame: DicomImage vs pydicom + numpy."
    )

    @Option(help: "Rounds of each side (medians are compared).")
    var rounds = 5

    @Option(help: "Python with pydicom, numpy and pylibjpeg-openjpeg (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    @Option(help: "Measure one group only: native, jpeg2000 or compressed.")
    var group: String?

    func run() throws {
        for group in Group.allCases where self.group == nil || self.group == group.option {
            try measure(group)
        }
    }

    /// The files are measured in groups of the decoder they need.
    enum Group: String, CaseIterable {
        case native
        case jpeg2000 = "JPEG 2000"
        case gdcm = "JPEG (8-bit by libjpeg-turbo; 12-bit and lossless by GDCM), JPEG-LS and RLE (GDCM, in dql-decode)"

        /// Its name on the command line.
        var option: String {
            switch self {
            case .native: "native"
            case .jpeg2000: "jpeg2000"
            case .gdcm: "compressed"
            }
        }

        init(syntax: String) {
            if JPEG2000Frames.transferSyntaxes.contains(syntax) {
                self = .jpeg2000
            } else if GDCMFrames.transferSyntaxes.contains(syntax) {
                self = .gdcm
            } else {
                self = .native
            }
        }
    }

    func measure(_ group: Group) throws {
        let listed = try runCapturing(python, ["\(repositoryRoot)/scripts/dicom_oracle.py", "--list"])
            .split(separator: "\n").map(String.init)
        // The files whose every frame DicomImage decodes (and pydicom too: its oracle says so).
        let oracleOutput = try runCapturing(python, ["\(repositoryRoot)/scripts/pixel_oracle.py"] + listed)
        guard let oracle = try JSONSerialization.jsonObject(with: Data(oracleOutput.utf8)) as? [String: [String: Any]]
        else { throw ValidationError("unexpected output from pixel_oracle.py") }
        var files: [(path: String, bytes: [UInt8])] = []
        for (path, entry) in oracle.sorted(by: { $0.key < $1.key }) where entry["frames"] != nil {
            guard Group(syntax: entry["syntax"] as? String ?? "") == group else { continue }
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            guard let image = try? StoredImage(bytes), (try? image.frame(0, in: bytes)) != nil else { continue }
            files.append((path, bytes))
        }
        var seconds: [Double] = []
        var frames = 0
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            frames = 0
            for file in files {
                let image = try StoredImage(file.bytes)
                for frame in try image.frames(in: file.bytes) {
                    _ = Picture.render(frame, image.description)
                    frames += 1
                }
            }
            seconds.append((ContinuousClock.now - start).seconds)
        }
        // The same work with the files spread over every core (as a contact sheet would).
        var parallelSeconds: [Double] = []
        let shared = files
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            DispatchQueue.concurrentPerform(iterations: shared.count) { index in
                guard let image = try? StoredImage(shared[index].bytes),
                    let decoded = try? image.frames(in: shared[index].bytes)
                else { return }
                for frame in decoded { _ = Picture.render(frame, image.description) }
            }
            parallelSeconds.append((ContinuousClock.now - start).seconds)
        }
        let baseline = try runCapturing(
            python, ["\(repositoryRoot)/scripts/bench_frames.py", String(rounds)] + files.map(\.path))
        guard let object = try JSONSerialization.jsonObject(with: Data(baseline.utf8)) as? [String: Any],
            let pySeconds = object["seconds"] as? [Double], let pyFrames = object["frames"] as? Int
        else { throw ValidationError("unexpected output from bench_frames.py: \(baseline)") }
        let dqlRate = Double(frames) / median(seconds)
        let pyRate = Double(pyFrames) / median(pySeconds)
        let ratios = zip(seconds, pySeconds).map { ($1 / Double(pyFrames)) / ($0 / Double(frames)) }
        print(
            "\(group.rawValue): \(files.count) files, \(frames) frames a round; medians of \(rounds) rounds"
        )
        print(
            "DicomImage \(format(dqlRate)) frames/s, pydicom + numpy \(format(pyRate)) frames/s: \(format(dqlRate / pyRate))x (rounds \(format(ratios.min() ?? 0))–\(format(ratios.max() ?? 0))x)"
        )
        let parallelRate = Double(frames) / median(parallelSeconds)
        print(
            "DicomImage on \(ProcessInfo.processInfo.activeProcessorCount) cores \(format(parallelRate)) frames/s: \(format(parallelRate / pyRate))x pydicom + numpy (one core)"
        )
        // A 512×512 CT frame, decoded, windowed and drawn for an 80-column terminal.
        if group == .native, let ct = files.first(where: { $0.path.hasSuffix("/CT_small.dcm") }) {
            var draws: [Double] = []
            for _ in 0..<20 {
                let start = ContinuousClock.now
                let image = try StoredImage(ct.bytes)
                let picture = Picture.render(try image.frame(0, in: ct.bytes), image.description)
                _ = TerminalPicture.draw(picture, columns: 80)
                draws.append((ContinuousClock.now - start).seconds)
            }
            print(
                "\(URL(fileURLWithPath: ct.path).lastPathComponent) drawn for 80 columns: \(String(format: "%.2f ms", median(draws) * 1000))"
            )
        }
    }
}

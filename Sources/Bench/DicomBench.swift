import ArgumentParser
import DicomCore
import Foundation

/// Reading the metadata of the whole corpus: DicomCore against pydicom.
struct DicomBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom",
        abstract: "Read the metadata of the corpus with DicomCore and with pydicom; print files/s and the ratio."
    )

    @Option(help: "Python with pydicom (the repository's venv by default).")
    var python = "\(repositoryRoot)/.venv/bin/python"

    @Option(help: "Passes over the corpus per measurement.")
    var rounds = 5

    @Option(help: "Measurements of each reader, alternating.")
    var repeats = 3

    @Argument(help: "DICOM files; default: the installed pydicom and pydicom-data corpus.")
    var files: [String] = []

    func run() throws {
        let corpus = files.isEmpty ? try listCorpus() : files
        print("corpus: \(corpus.count) files, \(rounds) rounds per measurement, \(repeats) measurements each")
        var ours: [Double] = []
        var oursDecoded: [Double] = []
        var pydicomLazy: [Double] = []
        var pydicomTouched: [Double] = []
        for _ in 0..<repeats {
            ours.append(measureDicomCore(corpus, decodeEverything: false))
            oursDecoded.append(measureDicomCore(corpus, decodeEverything: true))
            pydicomLazy.append(try measurePydicom(corpus, touch: false))
            pydicomTouched.append(try measurePydicom(corpus, touch: true))
        }
        let table = [
            ("DicomCore metadataOnly (text decoded on access)", median(ours)),
            ("pydicom dcmread(stop_before_pixels=True)", median(pydicomLazy)),
            ("DicomCore metadataOnly + every value decoded", median(oursDecoded)),
            ("pydicom dcmread + every value converted", median(pydicomTouched)),
        ]
        for (name, rate) in table {
            print("\(name.padding(toLength: 48, withPad: " ", startingAt: 0)) \(format(rate)) files/s")
        }
        print("ratio DicomCore / pydicom dcmread:            \(format(median(ours) / median(pydicomLazy)))x")
        print("ratio with every value decoded, both sides:   \(format(median(oursDecoded) / median(pydicomTouched)))x")
    }

    func measureDicomCore(_ corpus: [String], decodeEverything: Bool) -> Double {
        let clock = ContinuousClock()
        var count = 0
        var checksum = 0
        let elapsed = clock.measure {
            for _ in 0..<rounds {
                for path in corpus {
                    let file = try? DicomReader.read(contentsOf: path, options: .metadataOnly)
                    if decodeEverything, let file { checksum &+= Self.decodeAll(file.dataset) }
                    count += 1
                }
            }
        }
        if checksum == -1 { print("") }  // keeps the decoding from being optimised away
        return Double(count) / elapsed.seconds
    }

    /// Decodes every value, nested items included, as pydicom's "every value converted" does.
    static func decodeAll(_ dataSet: DataSet) -> Int {
        var total = 0
        for element in dataSet.elements {
            total &+= element.strings.count
            for item in element.items { total &+= decodeAll(item) }
        }
        return total
    }

    func measurePydicom(_ corpus: [String], touch: Bool) throws -> Double {
        let arguments =
            ["\(repositoryRoot)/scripts/bench_pydicom.py", String(rounds)] + (touch ? ["--touch"] : []) + corpus
        let output = try runCapturing(python, arguments)
        guard let data = output.data(using: .utf8),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let rate = object["filesPerSecond"] as? Double
        else {
            throw ValidationError("unexpected output from bench_pydicom.py: \(output)")
        }
        return rate
    }

    func listCorpus() throws -> [String] {
        try runCapturing(python, ["\(repositoryRoot)/scripts/dicom_oracle.py", "--list"])
            .split(separator: "\n").map(String.init)
    }
}

/// The repository root, from this file's location (the bench runs from a checkout).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The `dql` executable a benchmark runs: the one given, else the one next to `dql-bench`.
func dqlExecutable(_ explicit: String?) -> String {
    explicit
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dql").path
}

func runCapturing(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ValidationError("\(executable) \(arguments.prefix(2).joined(separator: " ")) failed")
    }
    return String(decoding: data, as: UTF8.self)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

func format(_ value: Double) -> String {
    String(format: value >= 100 ? "%.0f" : "%.1f", value)
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// The archive under `directory` written by scripts/generate_archive.py, generated once and kept
/// (a `.complete` marker says it was written whole).
func generatedArchive(python: String, _ directory: URL, _ arguments: [String]) throws -> URL {
    let marker = directory.appendingPathComponent(".complete")
    if FileManager.default.fileExists(atPath: marker.path) { return directory }
    try? FileManager.default.removeItem(at: directory)
    print("generating \(directory.path) with pydicom…")
    _ = try runCapturing(python, ["\(repositoryRoot)/scripts/generate_archive.py", directory.path] + arguments)
    _ = FileManager.default.createFile(atPath: marker.path, contents: nil)
    return directory
}

import ArgumentParser
import DQL
import DicomCore
import Foundation

/// `dql dump`: what a DICOM file holds, for people (a listing) or programs (DICOM JSON).
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Show the attributes of DICOM files.",
        discussion: """
            Without --json, prints a readable listing of each file: every element with its tag, VR, name and \
            value, sequences indented, and what the reader repaired or skipped. With --json, prints one DICOM JSON \
            object (PS3.18 F.2) per file per line; Pixel Data and other large binary values appear as a \
            BulkDataURI "?offset=N&length=M" into the file. Problems go to stderr.
            """
    )

    @Flag(name: .long, help: "One DICOM JSON object per file, one per line.")
    var json = false

    @Flag(name: .long, help: "Stop before Pixel Data (faster for large files).")
    var metadataOnly = false

    @Argument(help: "DICOM files.", completion: .file())
    var files: [String]

    func run() throws {
        var failures = 0
        let options = metadataOnly ? DicomReadOptions.metadataOnly : DicomReadOptions()
        for path in files {
            do {
                let file = try DicomReader.read(contentsOf: path, options: options)
                if json {
                    writeOutput(DicomJSON.encode(file).serialized() + "\n")
                    for diagnostic in file.diagnostics { printError("dql: \(path): \(diagnostic)") }
                } else {
                    // A listing for people: values that could drive the terminal are shown, not obeyed.
                    writeOutput(visible(DicomDump.render(file, path: path), keepingLines: true))
                }
            } catch let error as DicomError {
                printError("dql: \(error)")
                failures += 1
            }
        }
        if failures > 0 { throw ExitCode(ExitCodes.statement) }
    }
}

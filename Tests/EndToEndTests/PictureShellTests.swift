import Foundation
import TestSupport
import Testing

/// Contact sheets and frames read alone, through the `dql` executable.
@Suite struct PictureShellTests {
    /// The samples of a PNG as Python's zlib reads them: width, height, samples.
    static func png(_ path: String) throws -> (width: Int, height: Int, samples: [UInt8]) {
        let numbers = try ProjectScripts.run("png_check.py", [path]).split(separator: " ").map {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        return (numbers[0], numbers[1], numbers.dropFirst(2).map { UInt8(clamping: $0) })
    }

    @Test func aContactSheetOfFiftyFilesIsAnEightBySevenGrid() throws {
        let fixture = try ShellFixture(load: false)
        let archive = fixture.directory.appendingPathComponent("archive")
        try ProjectScripts.generateArchive(
            archive,
            ["--patients", "1", "--studies", "1", "--series", "2", "--instances", "30", "--rows", "32", "--cols", "32"])
        let load = try fixture.run(["-c", "load '\(archive.path)' recursive"])
        #expect(load.status == 0, "\(load.stderr)")
        let sheet = fixture.directory.appendingPathComponent("sheet.png").path
        let written = try fixture.run(["-c", "find where modality = 'CT' limit 50 preview size 32 to '\(sheet)'"])
        #expect(written.status == 0, "\(written.stderr)")
        let lines = written.stdout.split(separator: "\n").map {
            $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        #expect(lines.contains(["written", sheet]))
        #expect(lines.contains(["files", "50"]))
        #expect(lines.contains(["columns", "8"]))
        #expect(lines.contains(["rows", "7"]))
        #expect(written.stderr.contains("50 of 60 files"), "\(written.stderr)")
        #expect(!written.stderr.contains("not shown"), "\(written.stderr)")
        // Eight cells of 32 pixels and their gaps across, seven with their names down.
        let picture = try Self.png(sheet)
        #expect(picture.width == 8 * (32 + 4) + 4)
        #expect(picture.height == 7 * (32 + 11 + 4) + 4)
        #expect(picture.samples.count == picture.width * picture.height * 3)
    }

    @Test func aFileThatCannotBeShownIsNamedAndTheOthersAreShown() throws {
        let fixture = try ShellFixture()
        let sheet = fixture.directory.appendingPathComponent("mr.png").path
        let written = try fixture.run([
            "-c", "find where name = 'rtplan.dcm' or name = 'CT_small.dcm' preview to '\(sheet)'",
        ])
        #expect(written.status == 0, "\(written.stderr)")
        #expect(
            written.stderr.contains("not shown: rtplan.dcm: it holds no image (no Rows (0028,0010))"),
            "\(written.stderr)")
        #expect(written.stderr.contains("2 of 2 files"), "\(written.stderr)")
        #expect(FileManager.default.fileExists(atPath: sheet))
        // Nothing matches: nothing written, and the statement says so.
        let none = try fixture.run(["-c", "find where name = 'no-such.dcm' preview to '\(sheet).none.png'"])
        #expect(none.status == 1)
        #expect(none.stderr.contains("no file matches, so no contact sheet was written"), "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sheet + ".none.png"))
        // Into a pipe without a file: refused before anything is read.
        let piped = try fixture.run(["-c", "find where modality = 'MR' preview"])
        #expect(piped.status == 1)
        #expect(piped.stdout.isEmpty)
        #expect(
            piped.stderr.contains(
                "preview draws in a terminal, and the output here is not one; add `to FILE.png` to write a picture"))
        // Rows cut away by limit and offset: said so.
        let cutAway = try fixture.run(["-c", "find limit 5 offset 100000 preview to '\(sheet).none.png'"])
        #expect(
            cutAway.stderr.contains(
                "matching files is in the rows asked for (limit and offset), so no contact sheet was written"),
            "\(cutAway.stderr)")
        // Pictures are PNG files, named so.
        let jpeg = try fixture.run(["-c", "find limit 2 preview to '\(sheet).jpg'"])
        #expect(jpeg.stderr.contains("\(sheet).jpg: pictures are written as PNG; name the file .png"), "\(jpeg.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sheet + ".jpg"))
        // Levels above files are refused where they are written.
        let studies = try fixture.run(["-c", "find studies preview to '\(sheet)'"])
        #expect(studies.stderr.contains("error: a contact sheet shows files, not studies"), "\(studies.stderr)")
    }

    /// A native frame of a large file is read alone: the header and its own bytes, so a damaged
    /// chunk elsewhere in the file does not matter, and the output says it was not checked.
    @Test func aFrameOfALargeFilmIsReadAlone() throws {
        let fixture = try ShellFixture(load: false)
        let film = try LargeDicom.writeFilm(in: fixture.directory, frames: 200)
        let loaded = try fixture.run(["-c", "load '\(film)' chunk 1MB"])
        #expect(loaded.status == 0, "\(loaded.stderr)")
        let id = try #require(
            try fixture.run(["--format", "csv", "-c", "find id where name = 'film.dcm'"])
                .stdout.split(separator: "\r\n").dropFirst().first.map(String.init))
        // Damage the file's last chunk (50 MiB and its header in chunks of 1 MiB): the frame
        // asked for lies before it.
        let admin = try TestRedis.connection()
        try admin.call("SETRANGE", "\(fixture.prefix):chunk:\(id):50", "0", "XXXXXXXX")
        let png = fixture.directory.appendingPathComponent("frame.png").path
        let shown = try fixture.run(["-c", "preview 'film.dcm' frame 150 to '\(png)'"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(
            shown.stderr.contains(
                "film.dcm, frame 150 of 200, 512×512, window 128/256 (the frame read alone, not checked against the file's SHA-256)"
            ), "\(shown.stderr)")
        let picture = try Self.png(png)
        #expect(picture.width == 512 && picture.height == 512)
        var wrong = 0
        for y in 0..<512 {
            for x in 0..<512 where picture.samples[y * 512 + x] != UInt8(truncatingIfNeeded: 149 + x + y) {
                wrong += 1
            }
        }
        #expect(wrong == 0)
        let past = try fixture.run(["-c", "preview 'film.dcm' frame 201 to '\(png)'"])
        #expect(
            past.stderr.contains("cannot preview film.dcm: frame 201 asked for; the file has 200"), "\(past.stderr)")
    }
}

import Crypto
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Levels and attributes through the `dql` executable: what a user types and reads, in every
/// output format.
@Suite(.serialized) struct ModelShellTests {
    @Test func attributesWithSeveralValuesShowAndMatchInEveryFormat() throws {
        let fixture = try ShellFixture()
        let table = try fixture.run(["-c", "find name, ImageType where ImageType = 'AXIAL' order by name"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(
            table.stdout == """
                 name                      | ImageType
                ---------------------------+-------------------------------
                 CT_small.dcm              | ORIGINAL\\PRIMARY\\AXIAL
                 J2K_pixelrep_mismatch.dcm | ORIGINAL\\PRIMARY\\AXIAL\\NORMAL
                (2 files)

                """)
        #expect(table.stderr.contains("stored headers for ImageType, which the index does not hold; `index ImageType`"))
        // The whole value as dump prints it, one value, a list, a pattern.
        for (condition, names) in [
            // Written with `\\`: the whole value, or all of its values.
            ("ImageType = 'ORIGINAL\\\\PRIMARY\\\\AXIAL'", "CT_small.dcm\nJ2K_pixelrep_mismatch.dcm"),
            ("ImageType = 'ORIGINAL\\\\PRIMARY\\\\AXIAL\\\\NORMAL'", "J2K_pixelrep_mismatch.dcm"),
            ("ImageType = 'emission'", "JPGExtended.dcm"),
            ("ImageType in ('T1', 'OTHER')", "MR_small.dcm\nemri_small.dcm"),
            ("ImageType like 'WHOLE*'", "JPGExtended.dcm"),
            // A pattern matches each value on its own.
            ("ImageType like '*NORM*'", "J2K_pixelrep_mismatch.dcm"),
            ("ImageType like 'ORIGINAL*NORMAL'", ""),
            ("SliceThickness = 5", "CT_small.dcm\nJ2K_pixelrep_mismatch.dcm"),
            ("(0018,0050) < 1", "MR_small.dcm"),
            ("SliceThickness is missing and modality = 'MR'", "emri_small.dcm"),
        ] {
            let result = try fixture.run(["--format", "csv", "-c", "find name where \(condition) order by name"])
            #expect(result.status == 0, "\(condition): \(result.stderr)")
            let rows = result.stdout.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",")[0] }
            #expect(rows.joined(separator: "\n") == names, "\(condition)")
        }
        let csv = try fixture.run([
            "--format", "csv", "-c", "find name, ImageType, PixelSpacing where name = 'CT_small.dcm'",
        ])
        #expect(
            csv.stdout.hasPrefix(
                "name,ImageType,PixelSpacing,id\r\nCT_small.dcm,ORIGINAL\\PRIMARY\\AXIAL,0.661468\\0.661468,"))
        let json = try fixture.run([
            "--format", "json", "-c", "find name, ImageType, PixelSpacing, SliceThickness where name = 'CT_small.dcm'",
        ])
        #expect(
            json.stdout.contains(
                #""name":"CT_small.dcm","ImageType":["ORIGINAL","PRIMARY","AXIAL"],"PixelSpacing":[0.661468,0.661468],"SliceThickness":5}"#
            ), "\(json.stdout)")
        // Indexed, the same answers, and no note.
        let indexed = try fixture.run([
            "-c", "index ImageType", "-c", "find name, ImageType where ImageType = 'AXIAL' order by name",
        ])
        #expect(indexed.status == 0, "\(indexed.stderr)")
        #expect(indexed.stdout.hasSuffix(table.stdout))
        #expect(indexed.stderr.contains("ImageType is indexed: 5 of 6 files have a value"))
        #expect(!indexed.stderr.contains("stored headers"))
        for condition in ["ImageType like '*NORM*'", "ImageType = 'ORIGINAL\\\\PRIMARY\\\\AXIAL\\\\NORMAL'"] {
            let result = try fixture.run(["--format", "csv", "-c", "find name where \(condition)"])
            #expect(result.stdout.hasPrefix("name,id\r\nJ2K_pixelrep_mismatch.dcm,"), "\(condition) indexed")
        }
    }

    @Test func levelsReadAsPeopleThinkOfTheArchive() throws {
        let fixture = try ShellFixture()
        let studies = try fixture.run([
            "-c", "count studies", "-c", "count series where modality = 'MR'", "-c",
            "find studies studyUid, modalities, numberOfInstances where modality = 'CT' order by studyUid limit 1",
        ])
        #expect(studies.status == 0, "\(studies.stderr)")
        #expect(
            studies.stdout == """
                 count
                -------
                     6
                 count
                -------
                     2
                 studyUid                                                       | modalities | numberOfInstances
                ----------------------------------------------------------------+------------+-------------------
                 1.2.392.200036.9123.100.11.15002200303521616157144527203339851 | CT         |                 1
                (1 of 2 studies)

                """)
        let json = try fixture.run([
            "--format", "json", "-c", "find patients patientId, numberOfStudies where sex = 'F' order by patientId",
        ])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout.hasPrefix(#"{"rows":[{"patientId":"#), "\(json.stdout)")
        #expect(json.stdout.contains(#""numberOfStudies":1"#))
        let wrong = try fixture.run(["-c", "find studies order by protocol"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("error: a study row has no column 'protocol'"))
    }

    @Test func showAtEveryLevelGivesTheRowAndTheRowsBelowIt() throws {
        let fixture = try ShellFixture()
        let study = "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"
        let shown = try fixture.run(["-c", "show study '\(study)'"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.hasPrefix("-[ RECORD 1 ]"))
        #expect(shown.stdout.contains("studyUid          | \(study)\n"))
        #expect(shown.stdout.contains("modalities        | MR\n"))
        #expect(shown.stdout.contains("(1 study)\n\n seriesUid"))
        #expect(shown.stdout.hasSuffix("(1 series)\n"))
        let series = try fixture.run([
            "--format", "csv", "-c", "show series '1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457'",
        ])
        #expect(series.status == 0, "\(series.stderr)")
        #expect(series.stdout.contains("name,sopUid,rows,columns,frames,size,id\r\nMR_small.dcm,"))
        let missing = try fixture.run(["-c", "show study '1.2.3'"])
        #expect(missing.status == 1)
        #expect(
            missing.stderr.contains(
                "error: no study with Study Instance UID (0020,000D) '1.2.3'; `find studies` lists them"))
    }

    @Test func fileMetaAttributesBareUidsAndLayoutsSayWhatTheyAre() throws {
        let fixture = try ShellFixture()
        let meta = try fixture.run([
            "--format", "csv", "-c",
            "find name, ImplementationVersionName, (0002,0010) where name = 'CT_small.dcm'",
        ])
        #expect(meta.status == 0, "\(meta.stderr)")
        #expect(
            meta.stdout.hasPrefix(
                "name,ImplementationVersionName,transferSyntax,id\r\nCT_small.dcm,DCTOOL100,1.2.840.10008.1.2.1,"))
        let bare = try fixture.run(["-c", "show study 1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(bare.stdout.contains("numberOfInstances | 1\n"))
        let layout = try fixture.run([
            "-c", "find fetch to '\(fixture.directory.path)/out' as '{SliceThickness}/{name}'",
        ])
        #expect(layout.status == 1)
        #expect(
            layout.stderr.contains(
                "error: a layout names dql's own fields (`fields` lists them); SliceThickness is an attribute of the header"
            ))
        let twice = try fixture.run(["-c", "find name, date, StudyDate"])
        #expect(twice.stderr.contains("1:18: error: 'date' is a column twice"))
    }

    @Test func previewWritesTheViewersPictureAndRefusesAPipe() throws {
        let fixture = try ShellFixture()
        let png = fixture.directory.appendingPathComponent("ct.png").path
        let written = try fixture.run(["-c", "preview 'CT_small.dcm' to '\(png)'"])
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stderr.contains("CT_small.dcm, frame 1 of 1, 128×128, window"))
        // The PNG read back by Python's zlib is the picture numpy computes from pydicom's array.
        let pixels = try ProjectScripts.run("png_check.py", [png]).split(separator: " ").dropFirst(2).compactMap {
            UInt8($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let oracle = try ProjectScripts.run("pixel_oracle.py", [try Corpus.path("pydicom/test_files/CT_small.dcm")])
        let expected = try #require(
            (try JSONSerialization.jsonObject(with: Data(oracle.utf8)) as? [String: [String: Any]])?.values.first?[
                "picture"] as? String)
        #expect(SHA256.hash(data: pixels).map { String(format: "%02x", $0) }.joined() == expected)

        let piped = try fixture.run(["-c", "preview 'CT_small.dcm'"])
        #expect(piped.status == 1)
        #expect(piped.stdout.isEmpty)
        #expect(
            piped.stderr.contains(
                "error: preview draws in a terminal, and the output here is not one; add `to FILE.png` to write a picture"
            ))
        // 12-bit JPEG, decoded by GDCM in dql-decode, without its decoder's chatter.
        let compressed = try fixture.run(["-c", "preview 'JPGExtended.dcm' to '\(png)'"])
        #expect(compressed.status == 0, "\(compressed.stderr)")
        #expect(compressed.stderr.hasPrefix("JPGExtended.dcm, frame 1 of 1, 256×1024"), "\(compressed.stderr)")
        #expect(!compressed.stderr.contains("Unsupported JPEG"), "\(compressed.stderr)")
        // A file GDCM aborts on (an assertion: a JPEG frame header of precision 0): one line
        // saying so, none of the decoder's own output.
        var jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Corpus.path("pydicom-data/JPEG-LL.dcm"))))
        let soi = try #require(
            (0..<(jpeg.count - 3)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xD8 && jpeg[$0 + 2] == 0xFF })
        let sof = try #require((soi..<(jpeg.count - 5)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC3 })
        jpeg[sof + 4] = 0
        let aborting = fixture.directory.appendingPathComponent("aborting.dcm")
        try Data(jpeg).write(to: aborting)
        let crashed = try fixture.run(["-c", "load '\(aborting.path)'; preview 'aborting.dcm' to '\(png)'"])
        #expect(
            crashed.stderr.contains(
                "cannot preview aborting.dcm: the decoder (GDCM) crashed on its pixel data (signal 6)"),
            "\(crashed.stderr)")
        #expect(
            !crashed.stderr.contains("Assertion") && !crashed.stderr.contains("Program crashed"), "\(crashed.stderr)")
        #expect(crashed.status == 1, "an error, not a crash of dql")
        let noPixels = try fixture.run(["-c", "preview 'rtplan.dcm' to '\(png)'"])
        #expect(noPixels.status == 1)
        #expect(noPixels.stderr.contains("cannot preview rtplan.dcm:"), "\(noPixels.stderr)")
        let badWindow = try fixture.run(["-c", "preview 'CT_small.dcm' window 40 to '\(png)'"])
        #expect(badWindow.status == 1)
        #expect(badWindow.stderr.contains("window must be CENTER/WIDTH such as 40/400, or a preset: lung"))
        let directory = try fixture.run(["-c", "preview 'CT_small.dcm' to '\(fixture.directory.path)'"])
        #expect(
            directory.stderr.contains(
                "cannot preview CT_small.dcm: cannot write \(fixture.directory.path): is a directory"))
        // Only a regular file is replaced: not a device, a FIFO or a symbolic link.
        let fifo = fixture.directory.appendingPathComponent("pipe.png").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let link = fixture.directory.appendingPathComponent("link.png").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: png)
        for (target, said) in [
            ("/dev/null", "is not a regular file (a device or a FIFO)"),
            (fifo, "is not a regular file (a device or a FIFO)"),
            (link, "is a symbolic link; name the file itself"),
        ] {
            let refused = try fixture.run(["-c", "preview 'CT_small.dcm' to '\(target)'"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("cannot write \(target): \(said)"), "\(refused.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: "/dev/null"))
        // Damaged chunks are not shown: the bytes are checked against the file's SHA-256.
        let admin = try TestRedis.connection()
        let id = try #require(
            try fixture.run(["--format", "csv", "-c", "find id where name = 'CT_small.dcm'"])
                .stdout.split(separator: "\r\n").dropFirst().first.map(String.init))
        try admin.call("SETRANGE", "\(fixture.prefix):chunk:\(id):0", "5000", "XXXXXXXX")
        let damaged = try fixture.run(["-c", "preview 'CT_small.dcm' to '\(png)'"])
        #expect(damaged.status == 1)
        #expect(damaged.stderr.contains("its stored chunks do not match its checksum (checksum mismatch)"))
        let noImage = try fixture.run(["-c", "preview 'rtplan.dcm' to '\(png)'"])
        #expect(noImage.stderr.contains("cannot preview rtplan.dcm: it holds no image (no Rows (0028,0010))"))
        let noFrame = try fixture.run(["-c", "preview 'MR_small.dcm' frame 2 to '\(png)'"])
        #expect(noFrame.stderr.contains("cannot preview MR_small.dcm: frame 2 asked for; the file has 1"))
    }
}

import Crypto
import Foundation
import TestSupport
import Testing

/// The scripts in examples/ run against the whole sample corpus, and what they print is
/// checked against the pydicom oracle and the files themselves.
@Suite(.serialized) struct ExamplesTests {
    static let examples = repositoryRoot.appendingPathComponent("examples")

    /// The corpus as dql stores it: one entry per distinct content (same bytes, one document).
    struct StoredFile {
        var name: String
        var path: String
        var values: [String: OracleValue]
    }

    static func corpus() throws -> [StoredFile] {
        var seen: Set<String> = []
        var files: [StoredFile] = []
        for file in try Corpus.cachedOracle().files
        where CorpusExceptions.notDicom[file.name] == nil && CorpusExceptions.pydicomLosesElements[file.name] == nil {
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            guard seen.insert(digest).inserted else { continue }
            files.append(
                StoredFile(name: (file.path as NSString).lastPathComponent, path: file.path, values: file.values ?? [:])
            )
        }
        return files
    }

    static func text(_ value: OracleValue?) -> String {
        guard case .strings(let strings)? = value else { return "" }
        return strings.joined(separator: "\\").split(whereSeparator: {
            $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r"
        })
        .joined(separator: " ")
    }

    static func sha256(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map {
            SHA256.hash(data: $0).map { String(format: "%02x", $0) }.joined()
        }
    }

    /// Loads the corpus with dql, then deletes the files the oracle has no values for (pydicom
    /// returns an empty dataset for them; dql stores what it could read).
    func loadCorpus(_ fixture: ShellFixture) throws {
        let load = try fixture.run(
            ["--continue-on-error"] + (try Corpus.roots().flatMap { ["-c", "load '\($0)' recursive"] }))
        // The corpus folders hold files that are not DICOM: each is named, and a load with a
        // failed file exits 1.
        #expect(load.status == 1, "\(load.stderr)")
        let failed = Set(
            load.stderr.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("cannot load "), let colon = line.range(of: ": ") else { return nil }
                return String(line[line.index(line.startIndex, offsetBy: 12)..<colon.lowerBound])
            })
        let notDicom = Set(try CorpusExceptions.notDicom.keys.map(Corpus.path))
        #expect(failed == notDicom, "\(load.stderr)")
        for name in CorpusExceptions.pydicomLosesElements.keys {
            let base = (name as NSString).lastPathComponent
            let deleted = try fixture.run(["--format", "csv", "-c", "delete where name = '\(base)'"])
            #expect(deleted.stdout == "deleted\r\n1\r\n", "\(deleted.stderr)")
        }
    }

    @Test func scenariosReproduceTheDemo() throws {
        let fixture = try ShellFixture(load: false)
        try loadCorpus(fixture)
        let work = fixture.directory.path
        let result = try fixture.run(
            ["--timing", "--format", "ndjson", "-f", Self.examples.appendingPathComponent("scenarios.dql").path],
            currentDirectory: work)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").filter { $0.hasPrefix("Time: ") }.count == 3)
        let lines = try result.stdout.split(separator: "\n").map { try jsonObject(String($0)) }

        // 1: JPGExtended.dcm, byte for byte.
        let original = try Corpus.path("pydicom/test_files/JPGExtended.dcm")
        #expect(lines.first?["path"] as? String == "./out/scenario1/JPGExtended.dcm")
        #expect(Self.sha256(work + "/out/scenario1/JPGExtended.dcm") == Self.sha256(original))

        // 2: protocol 194 in 2019 is J2K_pixelrep_mismatch.dcm, fetched whole.
        let corpus = try Self.corpus()
        let expected2 = corpus.filter {
            Self.text($0.values["ProtocolName"]) == "194" && Self.text($0.values["StudyDate"]).hasPrefix("2019")
        }
        #expect(expected2.map(\.name) == ["J2K_pixelrep_mismatch.dcm"])
        #expect(lines.dropFirst().first?["name"] as? String == "J2K_pixelrep_mismatch.dcm")
        #expect(
            Self.sha256(work + "/out/scenario2/J2K_pixelrep_mismatch.dcm") == Self.sha256(expected2.first?.path ?? ""))

        // 3: counts per protocol equal the oracle's, largest first.
        var expected3: [String: Int] = [:]
        for file in corpus {
            let name = Self.text(file.values["ProtocolName"])
            if !name.isEmpty { expected3[name, default: 0] += 1 }
        }
        let groups = lines.dropFirst(2).map { ($0["protocol"] as? String ?? "?", $0["count"] as? Int ?? -1) }
        #expect(Dictionary(groups, uniquingKeysWith: +) == expected3)
        #expect(groups.map(\.1) == groups.map(\.1).sorted(by: >))
        #expect(groups.first?.0 == "ANGIO Projected from C", "the demo's top protocol")
    }

    @Test func everydayExamples() throws {
        let fixture = try ShellFixture(load: false)
        try loadCorpus(fixture)
        let work = fixture.directory.path
        let corpus = try Self.corpus()
        func run(_ name: String) throws -> [[String: Any]] {
            let result = try fixture.run(
                ["--format", "ndjson", "-f", Self.examples.appendingPathComponent(name).path], currentDirectory: work)
            #expect(result.status == 0, "\(name): \(result.stderr)")
            return try result.stdout.split(separator: "\n").map { try jsonObject(String($0)) }
        }

        let patient = corpus.filter { Self.text($0.values["PatientName"]) == "CompressedSamples^MR1" }
        let found = try run("find-patient.dql")
        #expect(found.dropLast().map { $0["name"] as? String ?? "" } == patient.map(\.name).sorted())
        let wordMatches = corpus.filter {
            Self.text($0.values["PatientName"]).lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber })
                .contains("compressedsamples")
        }
        #expect(found.last?["count"] as? Int == wordMatches.count)

        var byModalityYear: [String: Int] = [:]
        for file in corpus {
            let year = String(Self.text(file.values["StudyDate"]).prefix(4))
            byModalityYear[Self.text(file.values["Modality"]) + "/" + year, default: 0] += 1
        }
        var counted: [String: Int] = [:]
        for group in try run("modality-by-year.dql") {
            let year = (group["year"] as? Int).map(String.init) ?? ""
            counted[(group["modality"] as? String ?? "") + "/" + year, default: 0] += group["count"] as? Int ?? 0
        }
        #expect(counted == byModalityYear)

        let series = corpus.filter {
            Self.text($0.values["SeriesInstanceUID"]) == "1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457"
        }
        let fetched = try run("fetch-series.dql")
        #expect(fetched.map { $0["name"] as? String ?? "" } == series.map(\.name).sorted())
        for file in series {
            #expect(Self.sha256(work + "/out/series/" + file.name) == Self.sha256(file.path), "\(file.name)")
        }
    }

    @Test func studiesExample() throws {
        let fixture = try ShellFixture(load: false)
        try loadCorpus(fixture)
        let corpus = try Self.corpus()
        let result = try fixture.run(
            ["--format", "ndjson", "-f", Self.examples.appendingPathComponent("studies.dql").path])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try jsonObject(String($0)) }
        // The patient's studies, as pydicom reads the files.
        let theirs = corpus.filter { Self.text($0.values["PatientID"]) == "4MR1" }
        let studies = Set(theirs.map { Self.text($0.values["StudyInstanceUID"]) })
        let rows = lines.filter { $0["studyUid"] != nil }
        #expect(Set(rows.compactMap { $0["studyUid"] as? String }) == studies)
        #expect(rows.map { $0["numberOfInstances"] as? Int ?? 0 }.reduce(0, +) == theirs.count)
        // Studies by modality.
        var byModality: [String: Set<String>] = [:]
        for file in corpus where !Self.text(file.values["StudyInstanceUID"]).isEmpty {
            byModality[Self.text(file.values["Modality"]), default: []].insert(
                Self.text(file.values["StudyInstanceUID"]))
        }
        var counted: [String: Int] = [:]
        for group in lines where group["modality"] != nil || (group["count"] != nil && group.count == 2) {
            counted[group["modality"] as? String ?? "", default: 0] = group["count"] as? Int ?? 0
        }
        #expect(counted == byModality.mapValues(\.count))
        #expect(result.stderr.contains("stored headers for SliceThickness"))
    }

    @Test func theWholeCorpusFetchesBackByteIdentical() throws {
        let fixture = try ShellFixture(load: false)
        try loadCorpus(fixture)
        let out = fixture.directory.appendingPathComponent("all").path
        let result = try fixture.run(["--format", "json", "-c", "find name fetch to '\(out)'"])
        #expect(result.status == 0, "\(result.stderr)")
        let fetched = try #require(try jsonObject(result.stdout)["fetched"] as? [[String: Any]])
        // Every distinct content of the corpus is stored once, and comes back with its bytes.
        let expected = Set(try Self.corpus().compactMap { Self.sha256($0.path) })
        #expect(Set(fetched.compactMap { $0["id"] as? String }) == expected)
        for file in fetched {
            let path = try #require(file["path"] as? String)
            #expect(Self.sha256(path) == file["id"] as? String, "\(path)")
            #expect(path.hasPrefix(out + "/"))
        }
    }
}

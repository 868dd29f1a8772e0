import Foundation
import TestSupport
import Testing

@testable import DicomCore

/// DicomCore against pydicom on every file of the installed corpus. Each difference is listed;
/// the only files allowed to differ are named below, with the reason pydicom is the one that is
/// wrong.
@Suite struct OracleTests {
    static let notDicom = CorpusExceptions.notDicom
    static let pydicomLosesElements = CorpusExceptions.pydicomLosesElements

    @Test func readsTheWholeCorpusLikePydicom() throws {
        let oracle = try Oracle.load()
        #expect(oracle.files.count > 250, "the corpus should hold about 270 files")
        var differences: [String] = []
        var compared = 0
        for file in oracle.files {
            if let reason = Self.notDicom[file.name] {
                do {
                    _ = try DicomReader.read(contentsOf: file.path)
                    differences.append("\(file.name): expected 'not DICOM' (\(reason)), but it was read")
                } catch let error as DicomError where error.kind == .notDicom {
                    // As expected.
                } catch {
                    differences.append("\(file.name): expected 'not DICOM', got \(error)")
                }
                continue
            }
            if let reason = Self.pydicomLosesElements[file.name] {
                do {
                    let ours = try DicomReader.read(contentsOf: file.path)
                    if ours.dataset.count <= (file.elementCount ?? 0)
                        || !ours.diagnostics.contains(where: { $0.severity == .error })
                    {
                        differences.append(
                            "\(file.name): expected more elements than pydicom and an error diagnostic (\(reason))")
                    }
                } catch {
                    differences.append("\(file.name): DicomCore failed: \(error)")
                }
                continue
            }
            guard file.readable else {
                differences.append("\(file.name): pydicom cannot read it; decide what DicomCore should do")
                continue
            }
            let ours: DicomFile
            do {
                ours = try DicomReader.read(contentsOf: file.path)
            } catch {
                differences.append("\(file.name): DicomCore failed: \(error)")
                continue
            }
            compared += 1
            differences += Self.compare(file, ours)
        }
        #expect(compared > 240)
        #expect(
            differences.isEmpty,
            Comment(rawValue: "\(differences.count) differences:\n" + differences.joined(separator: "\n")))
    }

    static func compare(_ expected: Oracle.File, _ ours: DicomFile) -> [String] {
        var differences: [String] = []
        let name = expected.name
        if expected.transferSyntax != ours.declaredTransferSyntaxUID {
            differences.append(
                "\(name): transfer syntax \(String(describing: ours.declaredTransferSyntaxUID)), pydicom \(String(describing: expected.transferSyntax))"
            )
        }
        if expected.elementCount != ours.dataset.count {
            differences.append(
                "\(name): \(ours.dataset.count) top-level elements, pydicom \(expected.elementCount ?? -1)")
        }
        let values = expected.values ?? [:]
        for keyword in Self.keywords {
            let element = ours.dataset[keyword]
            switch (values[keyword], element) {
            case (nil, nil): break
            case (nil, let element?):
                differences.append("\(name): \(keyword) = \(element.strings), pydicom has none")
            case (.strings(let strings)?, nil):
                differences.append("\(name): \(keyword) missing, pydicom \(strings)")
            case (.strings(let strings)?, let element?):
                if strings != element.strings {
                    differences.append("\(name): \(keyword) = \(element.strings), pydicom \(strings)")
                }
            case (.error(let message)?, _):
                differences.append("\(name): \(keyword): pydicom raised \(message)")
            }
        }
        differences += compareElements(expected, ours)
        return differences
    }

    /// Every top-level element: same tags, same VRs, same values for text and numbers.
    static func compareElements(_ expected: Oracle.File, _ ours: DicomFile) -> [String] {
        guard let elements = expected.elements else { return [] }
        var differences: [String] = []
        let name = expected.name
        let ourTags = ours.dataset.elements.map(\.tag.hexString)
        let theirTags = elements.map(\.tag)
        if ourTags != theirTags {
            let missing = Set(theirTags).subtracting(ourTags).sorted()
            let extra = Set(ourTags).subtracting(theirTags).sorted()
            differences.append("\(name): element tags differ; missing \(missing.prefix(8)), extra \(extra.prefix(8))")
            return differences
        }
        for (element, theirs) in zip(ours.dataset.elements, elements) {
            let tag = element.tag
            if element.vr.rawValue != theirs.vr {
                differences.append("\(name): \(tag) VR \(element.vr), pydicom \(theirs.vr)")
                continue
            }
            if let strings = theirs.strings, strings != element.strings, !Self.sameReals(element, strings) {
                differences.append(
                    "\(name): \(tag) \(element.vr) = \(element.strings.prefix(6)), pydicom \(strings.prefix(6))")
            }
            if let error = theirs.error {
                differences.append("\(name): \(tag): pydicom raised \(error)")
            }
            if let items = theirs.items, items != element.items.count {
                differences.append("\(name): \(tag) has \(element.items.count) items, pydicom \(items)")
            }
        }
        return differences
    }

    /// FL values: pydicom prints the float32 widened to double, as we do, but through Python's
    /// repr; compare numerically.
    static func sameReals(_ element: DataElement, _ strings: [String]) -> Bool {
        guard case .reals(let values) = element.value, values.count == strings.count else { return false }
        return zip(values, strings).allSatisfy { value, text in Double(text).map { $0 == value } ?? false }
    }

    static let keywords = [
        "PatientID", "PatientName", "PatientSex", "PatientBirthDate", "StudyDate", "StudyTime",
        "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "Modality",
        "Manufacturer", "ProtocolName", "StudyDescription", "SeriesDescription", "BodyPartExamined",
        "InstitutionName", "Rows", "Columns", "NumberOfFrames", "BitsAllocated", "SpecificCharacterSet",
    ]
}

import TestSupport
import Testing

@testable import DICOMweb

/// The multipart reader against bodies written by ``MultipartLayout``, fed in every way a
/// network can cut them, and against bodies that break the grammar.
@Suite struct MultipartReaderTests {
    static func read(_ body: [UInt8], boundary: String, cuts: [Int]) throws -> [[UInt8]] {
        var reader = MultipartReader(boundary: boundary)
        var parts: [[UInt8]] = []
        var start = 0
        for cut in cuts + [body.count] where cut >= start {
            for event in try reader.feed(body[start..<cut]) {
                switch event {
                case .began: parts.append([])
                case .bytes(let bytes): parts[parts.count - 1] += bytes
                case .ended: break
                }
            }
            start = cut
        }
        try reader.finish()
        return parts
    }

    @Test func partsComeBackWhateverTheCuts() throws {
        var random = SplitMix64(seed: 7)
        for round in 0..<200 {
            let count = Int(random.next() % 4) + 1
            let parts = (0..<count).map { _ in
                // Bytes that look like boundaries and line breaks, to trip a careless search.
                (0..<Int(random.next() % 300)).map { _ in [0x0D, 0x0A, 0x2D, 0x62, 0x00, 0xFF][Int(random.next() % 6)] }
                    .map(UInt8.init)
            }
            let layout = MultipartLayout(boundary: "b\(round)x")
            let body = Array(layout.body(parts.map { ("application/dicom", $0) }).readableBytesView)
            let cuts = (0..<Int(random.next() % 8)).map { _ in Int(random.next() % UInt64(body.count)) }.sorted()
            #expect(try Self.read(body, boundary: layout.boundary, cuts: cuts) == parts, "round \(round), cuts \(cuts)")
        }
    }

    @Test func everySingleByteCutGivesTheSameParts() throws {
        let layout = MultipartLayout(boundary: "edge")
        let parts: [[UInt8]] = [Array("--edge\r\n".utf8), Array("\r\n--edg".utf8), []]
        let body = Array(layout.body(parts.map { ("application/dicom", $0) }).readableBytesView)
        for cut in 0...body.count {
            #expect(try Self.read(body, boundary: "edge", cuts: [cut]) == parts, "cut at \(cut)")
        }
    }

    @Test func aPreambleAndAnEpilogueAreSkipped() throws {
        let body = Array("preamble text\r\n--b\r\nContent-Type: application/dicom\r\n\r\nABC\r\n--b--\r\nepilogue".utf8)
        #expect(try Self.read(body, boundary: "b", cuts: []) == [Array("ABC".utf8)])
    }

    @Test func headersAreReadCaseInsensitively() throws {
        var reader = MultipartReader(boundary: "b")
        let events = try reader.feed(
            Array("--b\r\nCONTENT-TYPE:  application/dicom \r\nX-Other: 1\r\n\r\nZ\r\n--b--".utf8))
        #expect(events.first == .began(["content-type": "application/dicom", "x-other": "1"]))
    }

    @Test func brokenBodiesSayWhatAndWhere() throws {
        let cases: [(String, String)] = [
            ("--b\r\n\r\nABC", "the body ends at byte"),
            ("no boundary here at all", "the body holds no part: no boundary line (--b) was found"),
            ("--b\r\nbad header line\r\n\r\nx\r\n--b--", "part 1 has a header line without a colon: bad header line"),
            ("--bX\r\n\r\nx\r\n--b--", "a boundary line is not followed by a line break"),
        ]
        for (text, message) in cases {
            #expect(throws: MultipartError.self) { _ = try Self.read(Array(text.utf8), boundary: "b", cuts: []) }
            do {
                _ = try Self.read(Array(text.utf8), boundary: "b", cuts: [])
            } catch let error as MultipartError {
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }

    @Test func headersWithoutEndAndBodiesWithoutBoundaryAreBounded() throws {
        var reader = MultipartReader(boundary: "b")
        _ = try reader.feed(Array("--b\r\n".utf8))
        #expect(throws: MultipartError.self) {
            _ = try reader.feed([UInt8](repeating: 0x41, count: MultipartReader.headerLimit + 10))
        }
        var noBoundary = MultipartReader(boundary: "b")
        #expect(throws: MultipartError.self) {
            _ = try noBoundary.feed([UInt8](repeating: 0x41, count: MultipartReader.headerLimit + 100))
        }
    }
}

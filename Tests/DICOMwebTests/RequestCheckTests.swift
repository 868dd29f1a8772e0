import Hummingbird
import Testing

@testable import DICOMweb

/// What a path may name and what the access log writes: UIDs that a URL would read as path
/// steps are refused, and nothing from a request or the store breaks a log line.
@Suite struct RequestCheckTests {
    @Test func aUIDHasNoEmptyComponent() {
        for uid in ["1.2.3", "1", "1.02.3", "1.2.840.10008.5.1.4.1.1.2", String(repeating: "1", count: 64)] {
            #expect(RetrieveScope.isUID(uid), "\(uid)")
        }
        for uid in ["", ".", "..", "1..2", ".1", "1.", "1.2a", "1 2", "1/2", String(repeating: "1", count: 65)] {
            #expect(!RetrieveScope.isUID(uid), "\(uid)")
        }
    }

    @Test func logLinesEscapeControlCharacters() {
        let line = AccessLog<BasicRequestContext>.escaped("GET /a 500 - 1.0ms: evil\nGET FORGED 200\r\u{1B}[31m\u{85}x")
        #expect(line == "GET /a 500 - 1.0ms: evil%0AGET FORGED 200%0D%1B[31m%85x")
        #expect(AccessLog<BasicRequestContext>.escaped("Müller^Jörg 1.2.3") == "Müller^Jörg 1.2.3")
    }
}

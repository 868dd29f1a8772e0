import Testing

@testable import DQL

@Suite struct VersionTests {
    @Test func versionIsSemantic() {
        let parts = DQLVersion.current.split(separator: ".")
        #expect(parts.count == 3)
        #expect(parts.allSatisfy { Int($0) != nil })
    }
}

import Testing

@testable import DQL

/// The name a fetched file is written under: its stored name, made safe. A backslash is part of
/// a name on this system (a file loaded as `back\slash.dcm`); it was taken for a separator, so
/// the file came back as `slash.dcm`, and `a\x.dcm` and `b\x.dcm` both as `x.dcm`.
struct SafeNameTests {
    @Test func aStoredNameIsKeptWithItsBackslashes() {
        #expect(SafeName.make("back\\slash.dcm", fallback: "f") == "back\\slash.dcm")
        #expect(SafeName.make("a\\x.dcm", fallback: "f") != SafeName.make("b\\x.dcm", fallback: "f"))
        #expect(SafeName.make("ü\\ß.dcm", fallback: "f") == "ü\\ß.dcm")
    }

    @Test func onlyTheLastComponentStaysWithoutControlsOrDots() {
        #expect(SafeName.make("dir/sub/IM1.dcm", fallback: "f") == "IM1.dcm")
        #expect(SafeName.make("../../etc/passwd", fallback: "f") == "passwd")
        #expect(SafeName.make("a\u{1B}[2Jb\n.dcm", fallback: "f") == "a[2Jb.dcm")
        for unusable in ["", ".", "..", "/", "x/..", ".dql-temp"] {
            #expect(SafeName.make(unusable, fallback: "f.dcm") == "f.dcm", "\(unusable)")
        }
    }
}

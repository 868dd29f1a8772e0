import TestSupport
import Testing

@testable import DicomCore

/// Each character set family, decoded as pydicom decodes it.
@Suite struct CharacterSetTests {
    func decode(_ bytes: [UInt8], _ terms: [String], personName: Bool = false) -> String {
        bytes.withUnsafeBytes { raw in
            TextDecoder().decode(
                raw[...], SpecificCharacterSet(terms: terms),
                delimiters: personName ? TextDecoder.personNameDelimiters : TextDecoder.textDelimiters)
        }
    }

    static let escape: UInt8 = 0x1B

    @Test(arguments: [
        ([] as [String], [0x41, 0xE9] as [UInt8], "Aé"),  // default repertoire keeps bytes as Latin-1
        (["ISO_IR 100"], [0x4A, 0xE9, 0x72, 0xF4, 0x6D, 0x65], "Jérôme"),
        (["ISO_IR 101"], [0xB1, 0xE6], "ąć"),
        (["ISO_IR 109"], [0xA1], "Ħ"),
        (["ISO_IR 110"], [0xA1], "Ą"),
        (["ISO_IR 126"], [0xC4, 0xE9, 0xEF], "Διο"),
        (["ISO_IR 127"], [0xE4, 0xD2], "لز"),
        (["ISO_IR 138"], [0xF9, 0xF8], "שר"),
        (["ISO_IR 144"], [0xBB, 0xEE], "Лю"),
        (["ISO_IR 148"], [0xDD], "İ"),
        (["ISO_IR 166"], [0xA1], "ก"),
        (["ISO_IR 13"], [0xD4, 0xCF], "ﾔﾏ"),
        (["ISO_IR 192"], Array("Wang^XiaoDong=王^小東".utf8), "Wang^XiaoDong=王^小東"),
        (["GB18030"], [0xCD, 0xF5], "王"),
        (["GBK"], [0xD0, 0xA1], "小"),
    ])
    func singleByteAndStandAloneSets(terms: [String], bytes: [UInt8], expected: String) {
        #expect(decode(bytes, terms) == expected)
    }

    @Test func iso2022JapaneseWithEscapes() {
        // Yamada^Tarou=山田^太郎 from chrH31.dcm: ESC $ B switches to JIS X 0208, ESC ( B back.
        let bytes: [UInt8] =
            Array("Yamada^Tarou=".utf8) + [Self.escape, 0x24, 0x42, 0x3B, 0x33, 0x45, 0x44, Self.escape, 0x28, 0x42]
            + Array("^".utf8) + [Self.escape, 0x24, 0x42, 0x42, 0x40, 0x4F, 0x3A, Self.escape, 0x28, 0x42]
        #expect(decode(bytes, ["", "ISO 2022 IR 87"], personName: true) == "Yamada^Tarou=山田^太郎")
    }

    @Test func iso2022JapaneseKatakanaAndKanji() {
        // ISO 2022 IR 13 first: half-width katakana without escapes, kanji after ESC $ B.
        let bytes: [UInt8] =
            [0xD4, 0xCF, 0xC0, 0xDE] + [Self.escape, 0x24, 0x42, 0x3B, 0x33, 0x45, 0x44, Self.escape, 0x28, 0x4A]
        #expect(decode(bytes, ["ISO 2022 IR 13", "ISO 2022 IR 87"]) == "ﾔﾏﾀﾞ山田")
    }

    @Test func iso2022Korean() {
        // Hong^Gildong=洪^吉洞 style: ESC $ ) C announces KS X 1001 in G1.
        let bytes: [UInt8] = [Self.escape, 0x24, 0x29, 0x43, 0xC8, 0xAB, 0x5E, 0x41]
        #expect(decode(bytes, ["", "ISO 2022 IR 149"], personName: true) == "홍^A")
    }

    @Test func iso2022ChineseGB2312() {
        let bytes: [UInt8] = [Self.escape, 0x24, 0x29, 0x41, 0xCD, 0xF5]
        #expect(decode(bytes, ["", "ISO 2022 IR 58"]) == "王")
    }

    @Test func delimitersResetToTheFirstCharacterSet() {
        // After ESC - L (Cyrillic), a caret in a person name returns to the first set (Latin-1).
        let bytes: [UInt8] = [Self.escape, 0x2D, 0x4C, 0xBB, 0x5E, 0xE9]
        #expect(decode(bytes, ["ISO 2022 IR 100", "ISO 2022 IR 144"], personName: true) == "Л^é")
    }

    @Test func escapeForAnUndeclaredSetFallsBackToTheFirst() {
        let bytes: [UInt8] = [Self.escape, 0x2D, 0x4C, 0x41]
        #expect(decode(bytes, ["ISO 2022 IR 100"]) == "\u{1B}-LA")
    }

    @Test func invalidBytesBecomeReplacementCharacters() {
        #expect(decode([0x41, 0xFF, 0x42], ["ISO_IR 192"]) == "A\u{FFFD}B")
        #expect(decode([0x41, 0x81, 0x20], ["GB18030"]) == "A\u{FFFD} ")
        #expect(decode([0xA4], ["ISO 2022 IR 87"]) == "\u{FFFD}")
    }

    @Test func misspelledTermsAreCorrectedAndUnknownOnesReported() {
        #expect(decode([0xE9], ["ISO IR 100"]) == "é")
        #expect(decode([0xE9], ["ISO-IR 100"]) == "é")
        let unknown = SpecificCharacterSet(terms: ["KLINGON"])
        #expect(unknown.unknownTerms == ["KLINGON"])
        #expect(decode([0xE9], ["KLINGON"]) == "é")
    }

    @Test func standAloneSetsIgnoreExtensions() {
        #expect(!SpecificCharacterSet(terms: ["ISO_IR 192", "ISO 2022 IR 87"]).usesCodeExtensions)
        #expect(decode(Array("ü".utf8), ["ISO_IR 192", "ISO 2022 IR 87"]) == "ü")
    }

    @Test func sequenceItemsMayDeclareTheirOwnCharacterSet() throws {
        // chrSQEncoding1.dcm: the dataset is Japanese (ISO 2022), a sequence item declares its own set.
        let file = try DicomReader.read(contentsOf: try Corpus.path("pydicom/charset_files/chrSQEncoding1.dcm"))
        let items = file.dataset.elements.flatMap(\.items)
        #expect(!items.isEmpty)
        #expect(
            items.contains {
                $0["PatientName"]?.string?.contains("ﾔﾏﾀﾞ") == true || $0["PatientName"]?.string?.contains("山田") == true
            })
    }

    @Test func corpusCharacterSetFilesDecodeToTheirKnownNames() throws {
        let expectations: [(String, String)] = [
            ("chrArab.dcm", "قباني^لنزار"), ("chrFren.dcm", "Buc^Jérôme"), ("chrGerm.dcm", "Äneas^Rüdiger"),
            ("chrGreek.dcm", "Διονυσιος"), ("chrH31.dcm", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
            ("chrH32.dcm", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"), ("chrHbrw.dcm", "שרון^דבורה"),
            ("chrI2.dcm", "Hong^Gildong=洪^吉洞=홍^길동"), ("chrKoreanMulti.dcm", "김희중"),
            ("chrRuss.dcm", "Люкceмбypг"), ("chrX1.dcm", "Wang^XiaoDong=王^小東"), ("chrX2.dcm", "Wang^XiaoDong=王^小东"),
        ]
        for (name, expected) in expectations {
            let file = try DicomReader.read(contentsOf: try Corpus.path("pydicom/charset_files/" + name))
            #expect(file.dataset["PatientName"]?.string == expected, "\(name)")
        }
    }
}

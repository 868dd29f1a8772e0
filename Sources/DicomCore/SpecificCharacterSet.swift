/// The character sets of a dataset, from Specific Character Set (0008,0005): the first term
/// applies to text without escape sequences; further terms are ISO 2022 code extensions.
public struct SpecificCharacterSet: Sendable, Hashable {
    /// The terms as written in the file.
    public let terms: [String]
    /// Terms that named no known character set; text falls back to the default repertoire.
    public let unknownTerms: [String]
    let codecs: [TextCodec]

    /// The default repertoire (no (0008,0005), or an empty one).
    public static let `default` = SpecificCharacterSet(terms: [])

    public init(terms rawTerms: [String]) {
        let trimmed = rawTerms.map { $0.trimmingCharacters(inSet: " \0") }
        terms = trimmed
        var unknown: [String] = []
        var codecs = trimmed.enumerated().map { index, term -> TextCodec in
            if index == 0 && term.isEmpty { return .defaultRepertoire }
            guard let codec = TextCodec.forTerm(term) else {
                unknown.append(term)
                return .defaultRepertoire
            }
            return codec
        }
        if codecs.isEmpty { codecs = [.defaultRepertoire] }
        // A stand-alone character set (UTF-8, GB18030, GBK) allows no extensions; as an
        // extension it is ignored.
        if codecs.count > 1 {
            if let first = trimmed.first, TextCodec.standAloneTerms.contains(first) {
                codecs = [codecs[0]]
            } else {
                codecs =
                    [codecs[0]]
                    + zip(trimmed.dropFirst(), codecs.dropFirst())
                    .filter { !TextCodec.standAloneTerms.contains($0.0) }.map(\.1)
            }
        }
        self.codecs = codecs
        self.unknownTerms = unknown
    }

    /// True if text can use bytes beyond ASCII in more than one way (code extensions).
    public var usesCodeExtensions: Bool { codecs.count > 1 }
}

extension String {
    func trimmingCharacters(inSet set: String) -> String {
        let remove = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, remove.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, remove.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}

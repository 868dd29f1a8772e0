/// One media range of an `Accept` header (RFC 9110 §12.5.1) with its parameters, as DICOMweb
/// clients write them: `multipart/related; type="application/dicom"; transfer-syntax=*`.
struct MediaRange: Sendable, Equatable {
    /// `type/subtype`, lower-cased.
    var mediaType: String
    /// Parameter names lower-cased, values unquoted.
    var parameters: [String: String]

    /// The ranges of an `Accept` header, in the order written, refusals (`q=0`) included. A
    /// missing or empty header accepts anything. Quality values above zero are not ranked: a
    /// DICOMweb origin either can give a representation or cannot.
    static func ranges(_ header: String?) -> [MediaRange] {
        guard let header, header.utf8.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: ",") }) else {
            return [MediaRange(mediaType: "*/*", parameters: [:])]
        }
        return splitOutsideQuotes(header[...], separator: UInt8(ascii: ",")).compactMap { part in
            let pieces = splitOutsideQuotes(part, separator: UInt8(ascii: ";"))
            guard let first = pieces.first?.trimmingSpaces, !first.isEmpty else { return nil }
            var parameters: [String: String] = [:]
            for piece in pieces.dropFirst() {
                guard let equals = piece.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
                let name = piece[..<equals].trimmingSpaces.lowercased()
                var value = piece[piece.utf8.index(after: equals)...].trimmingSpaces
                if value.utf8.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                    value = String(value.dropFirst().dropLast())
                }
                parameters[name] = value
            }
            return MediaRange(mediaType: first.lowercased(), parameters: parameters)
        }
    }

    /// Whether the range refuses what it covers: a quality value of zero (`q=0`, `q=0.000`).
    var refuses: Bool { parameters["q"].flatMap { Double($0) }.map { $0 <= 0 } ?? false }

    /// How specific the range is (RFC 9110 §12.5.1: the most specific range that matches
    /// decides): `*/*`, then `type/*`, then `type/subtype`; among those, a more specific `type`
    /// parameter (the parts of a multipart range), then more parameters.
    var specificity: Int {
        func level(_ mediaType: String) -> Int {
            mediaType == "*/*" || mediaType == "*" ? 0 : mediaType.hasSuffix("/*") ? 1 : 2
        }
        let others = parameters.keys.filter { $0 != "q" && $0 != "type" }.count
        return level(mediaType) * 100 + (parameters["type"].map { 1 + level($0.lowercased()) } ?? 0) * 10 + others
    }

    /// Whether `type/subtype` falls in this range (`*/*`, `image/*`, or itself).
    func covers(_ mediaType: String) -> Bool {
        if self.mediaType == "*/*" || self.mediaType == "*" { return true }
        if self.mediaType.hasSuffix("/*") { return mediaType.hasPrefix(String(self.mediaType.dropLast())) }
        return self.mediaType == mediaType
    }

    /// Whether the range takes a part of `partType` in `transferSyntax`: the range's
    /// `transfer-syntax` is absent, `*` or that syntax.
    func allowsTransferSyntax(_ transferSyntax: String) -> Bool {
        guard let wanted = parameters["transfer-syntax"] else { return true }
        return wanted == "*" || wanted == transferSyntax
    }

    /// `text` cut at each `separator` byte outside double quotes (every kind of separator a
    /// header uses is ASCII, so cutting at bytes never splits a character).
    private static func splitOutsideQuotes(_ text: Substring, separator: UInt8) -> [Substring] {
        var parts: [Substring] = []
        var start = text.startIndex
        var quoted = false
        let bytes = text.utf8
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                quoted.toggle()
            } else if byte == separator && !quoted {
                parts.append(text[start..<index])
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        parts.append(text[start...])
        return parts
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let bytes = utf8
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return "" }
        var end = bytes.index(after: first)
        var index = end
        while index < bytes.endIndex {
            let next = bytes.index(after: index)
            if !isSpace(bytes[index]) { end = next }
            index = next
        }
        return String(self[first..<end])
    }
}

/// What a request's `Accept` allows for the parts of a multipart answer.
struct PartNegotiation: Sendable {
    var ranges: [MediaRange]

    init(accept: String?) {
        ranges = MediaRange.ranges(accept)
    }

    /// Whether what `matches` picks out is accepted: the most specific of the ranges it
    /// matches decides (so `application/dicom+json;q=0, */*` refuses DICOM JSON), equally
    /// specific ranges accepting if any of them does. No range matching: not accepted.
    private func accepts(where matches: (MediaRange) -> Bool) -> Bool {
        let matching = ranges.filter(matches)
        guard let top = matching.map(\.specificity).max() else { return false }
        return matching.contains { $0.specificity == top && !$0.refuses }
    }

    /// Whether a multipart answer whose parts are `partType` in `transferSyntax` is accepted:
    /// by `multipart/related` (or `multipart/*`, or `*/*`) with that part type (or a wildcard,
    /// or none).
    func acceptsMultipart(partType: String, transferSyntax: String) -> Bool {
        accepts { range in
            guard range.covers("multipart/related") else { return false }
            let type = MediaRange(mediaType: (range.parameters["type"] ?? "*/*").lowercased(), parameters: [:])
            return type.covers(partType) && range.allowsTransferSyntax(transferSyntax)
        }
    }

    /// Whether frames in `transferSyntax` are accepted as `application/octet-stream` parts: a
    /// `multipart/related` range names that type and the syntax (or `*`).
    func acceptsOctetStreamParts(transferSyntax: String) -> Bool {
        accepts { range in
            range.covers("multipart/related")
                && (range.parameters["type"] ?? "").lowercased() == "application/octet-stream"
                && range.parameters["transfer-syntax"].map { $0 == "*" || $0 == transferSyntax } == true
        }
    }

    /// Whether a single-part answer of `mediaType` is accepted (in `transferSyntax`, when the
    /// answer has one: `application/dicom; transfer-syntax=…` asks for that syntax only).
    func acceptsSingle(_ mediaType: String, transferSyntax: String? = nil) -> Bool {
        accepts {
            $0.mediaType != "multipart/related" && $0.covers(mediaType)
                && transferSyntax.map($0.allowsTransferSyntax) ?? true
        }
    }

    /// Whether the request names a single-part `mediaType` (itself, or a range such as
    /// `application/*` that covers it, but not `*/*`) before any range that covers multipart
    /// (ranges that refuse aside).
    func prefersSingle(_ mediaType: String) -> Bool {
        guard
            let first = ranges.first(where: {
                !$0.refuses && ($0.covers("multipart/related") || $0.covers(mediaType))
            })
        else { return false }
        return !first.covers("multipart/related")
    }

    /// How an answer that can go either as one bare `mediaType` part (when `singleAllowed`) or
    /// as multipart parts (which the request accepts or not: `multipartAccepted`) goes: bare
    /// when the request prefers it, or accepts only that form; else multipart; nil when the
    /// request accepts neither (406).
    func form(
        _ mediaType: String, transferSyntax: String? = nil, singleAllowed: Bool = true, multipartAccepted: Bool
    ) -> AnswerForm? {
        let single = singleAllowed && acceptsSingle(mediaType, transferSyntax: transferSyntax)
        if single && (prefersSingle(mediaType) || !multipartAccepted) { return .single }
        return multipartAccepted ? .multipart : nil
    }

    /// One bare part, or `multipart/related`.
    enum AnswerForm: Sendable { case single, multipart }

    /// The header as written, for messages (the first 200 characters).
    var written: String {
        let text = ranges.map { range in
            ([range.mediaType] + range.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
                .joined(separator: "; ")
        }.joined(separator: ", ")
        return text.count > 200 ? text.prefix(200) + "…" : text
    }
}

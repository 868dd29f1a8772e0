import Testing

@testable import DICOMweb

/// `Accept` headers as DICOMweb clients write them, and what each lets the server send.
@Suite struct MediaRangeTests {
    @Test func parametersAreReadWithQuotesAndCase() {
        let ranges = MediaRange.ranges(
            #"Multipart/Related; TYPE="application/dicom"; transfer-syntax=*, application/json;q=0.5"#)
        #expect(ranges.count == 2)
        #expect(ranges[0].mediaType == "multipart/related")
        #expect(ranges[0].parameters == ["type": "application/dicom", "transfer-syntax": "*"])
        #expect(ranges[1].parameters["q"] == "0.5")
        #expect(MediaRange.ranges("application/json;q=0").map(\.refuses) == [true])
        #expect(["q=0.0", "q=0.000", "Q=0.", "q = 0"].allSatisfy { MediaRange.ranges("a/b;" + $0)[0].refuses })
        #expect(["q=0.001", "q=1", "q=abc", ""].allSatisfy { !MediaRange.ranges("a/b;" + $0)[0].refuses })
        #expect(MediaRange.ranges(nil) == [MediaRange(mediaType: "*/*", parameters: [:])])
        #expect(MediaRange.ranges(#"multipart/related; type="a,b""#).count == 1)
    }

    /// Spaces and tabs around each piece go; a separator inside quotes, a non-ASCII value and
    /// empty pieces are taken as written (the header is cut at bytes, never inside a character).
    @Test func spacingQuotesAndOddPiecesAreRead() {
        let ranges = MediaRange.ranges(
            "\t multipart/related ;\ttype = \"application/dicom;x,y\" ; transfer-syntax=*\t, ,; ,"
                + " image/jpeg; é=\"ça,\u{301}\"; bare ; =  ")
        #expect(ranges.count == 2)
        #expect(
            ranges[0]
                == MediaRange(
                    mediaType: "multipart/related",
                    parameters: ["type": "application/dicom;x,y", "transfer-syntax": "*"]))
        #expect(ranges[1] == MediaRange(mediaType: "image/jpeg", parameters: ["é": "ça,\u{301}", "": ""]))
        #expect(MediaRange.ranges(" , ,") == [MediaRange(mediaType: "*/*", parameters: [:])])
        #expect(" \t a b\t ".trimmingSpaces == "a b")
        #expect(" \t ".trimmingSpaces.isEmpty)
        #expect("x".trimmingSpaces == "x")
    }

    /// The most specific range that matches decides (RFC 9110 §12.5.1): a refusal of a type
    /// is not overridden by `*/*` or by a less specific multipart range.
    @Test func aSpecificRefusalWinsOverAWildcard() {
        let dicom = "application/dicom"
        let native = "1.2.840.10008.1.2.1"
        #expect(!PartNegotiation(accept: "application/dicom+json;q=0, */*").acceptsSingle("application/dicom+json"))
        #expect(PartNegotiation(accept: "application/dicom+json;q=0, */*").acceptsSingle("application/json"))
        #expect(!PartNegotiation(accept: "*/*;q=0").acceptsSingle("application/dicom+json"))
        #expect(!PartNegotiation(accept: "*/*;q=0.000").acceptsMultipart(partType: dicom, transferSyntax: native))
        let typed = #"multipart/related; type="application/dicom";q=0, */*"#
        #expect(!PartNegotiation(accept: typed).acceptsMultipart(partType: dicom, transferSyntax: native))
        let untyped = #"multipart/related; type="application/dicom"; q=0, multipart/related;q=1"#
        #expect(!PartNegotiation(accept: untyped).acceptsMultipart(partType: dicom, transferSyntax: native))
        #expect(PartNegotiation(accept: untyped).acceptsMultipart(partType: "image/jpeg", transferSyntax: native))
        let octets = #"multipart/related; type="application/octet-stream"; transfer-syntax=*;q=0, */*"#
        #expect(!PartNegotiation(accept: octets).acceptsOctetStreamParts(transferSyntax: native))
        // The other way round: a wildcard refused, a type named.
        let named = #"*/*;q=0, multipart/related; type="application/dicom""#
        #expect(PartNegotiation(accept: named).acceptsMultipart(partType: dicom, transferSyntax: native))
        #expect(!PartNegotiation(accept: named).acceptsMultipart(partType: "image/jpeg", transferSyntax: native))
        // A refused range is never the preferred one.
        #expect(!PartNegotiation(accept: "\(dicom);q=0, multipart/related").prefersSingle(dicom))
    }

    /// Type wildcards cover what they name (`multipart/*` the multipart form, `application/*`
    /// a bare `application/dicom`), and an answer falls back to the other form when the request
    /// refuses the one it would prefer but accepts the other.
    @Test func wildcardsOfATypeAndFallbacksBetweenForms() {
        let dicom = "application/dicom"
        let native = "1.2.840.10008.1.2.1"
        func form(_ accept: String, singleAllowed: Bool = true) -> PartNegotiation.AnswerForm? {
            let negotiation = PartNegotiation(accept: accept)
            return negotiation.form(
                dicom, transferSyntax: native, singleAllowed: singleAllowed,
                multipartAccepted: negotiation.acceptsMultipart(partType: dicom, transferSyntax: native))
        }
        #expect(form("multipart/*") == .multipart)
        #expect(form("*/*;q=0, multipart/*") == .multipart)
        #expect(form("application/*") == .single)
        #expect(form("application/*", singleAllowed: false) == nil)
        #expect(form("*/*") == .multipart)
        #expect(form(dicom) == .single)
        #expect(form("multipart/*;q=0, */*") == .single)
        #expect(form("multipart/*;q=0, */*", singleAllowed: false) == nil)
        #expect(form("multipart/related;q=0, */*") == .single)
        #expect(form("\(dicom);q=0, */*") == .multipart)
        #expect(form("\(dicom);q=0, multipart/*;q=0") == nil)
        #expect(form("\(dicom), multipart/related") == .single)
        #expect(form("multipart/related, \(dicom)") == .multipart)
        #expect(form("\(dicom); transfer-syntax=1.2.840.10008.1.2.4.50") == nil)
    }

    @Test func negotiationOfParts() {
        let any = PartNegotiation(accept: nil)
        #expect(any.acceptsMultipart(partType: "application/dicom", transferSyntax: "1.2.840.10008.1.2.4.50"))
        let native = PartNegotiation(
            accept: #"multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1"#)
        #expect(native.acceptsMultipart(partType: "application/dicom", transferSyntax: "1.2.840.10008.1.2.1"))
        #expect(!native.acceptsMultipart(partType: "application/dicom", transferSyntax: "1.2.840.10008.1.2.4.50"))
        let frames = PartNegotiation(accept: #"multipart/related; type="image/*""#)
        #expect(frames.acceptsMultipart(partType: "image/jp2", transferSyntax: "1.2.840.10008.1.2.4.90"))
        #expect(!frames.acceptsMultipart(partType: "application/octet-stream", transferSyntax: "1.2.840.10008.1.2.1"))
        let single = PartNegotiation(accept: #"application/dicom, multipart/related; type="application/dicom""#)
        #expect(single.prefersSingle("application/dicom") && single.acceptsSingle("application/dicom"))
        #expect(!PartNegotiation(accept: "text/html").acceptsSingle("application/dicom+json"))
        // A single part in a named transfer syntax is that syntax only.
        let jpeg = PartNegotiation(accept: "application/dicom; transfer-syntax=1.2.840.10008.1.2.4.50")
        #expect(!jpeg.acceptsSingle("application/dicom", transferSyntax: "1.2.840.10008.1.2.1"))
        #expect(jpeg.acceptsSingle("application/dicom", transferSyntax: "1.2.840.10008.1.2.4.50"))
        #expect(single.acceptsSingle("application/dicom", transferSyntax: "1.2.840.10008.1.2.1"))
    }
}

/// Decides the VR of elements whose VR is not in the data: implicit VR data, and explicit UN
/// for attributes a dictionary knows. Follows pydicom: the public dictionary, the private
/// dictionary through the block's private creator, and the standard's rules for the ambiguous
/// `US or SS` and `OB or OW` attributes.
struct VRResolver {
    /// Private creators of the dataset being read: group << 8 | block → creator.
    var privateCreators: [UInt32: String] = [:]
    /// Pixel Representation (0028,0103) of this dataset or the nearest enclosing one.
    var pixelRepresentation: Int64?
    /// The first value of LUT Descriptor (0028,3002) in this dataset.
    var lutDescriptorFirst: Int64?

    /// A resolver for a sequence item: private creators are per dataset, the pixel
    /// representation is inherited.
    func forItem() -> VRResolver {
        VRResolver(pixelRepresentation: pixelRepresentation)
    }

    /// Records what later elements' VRs depend on.
    mutating func observe(_ element: DataElement) {
        let tag = element.tag
        if tag.isPrivate && (0x0010...0x00FF).contains(tag.element), let creator = element.string {
            privateCreators[UInt32(tag.group) << 8 | UInt32(tag.element)] = creator
        } else if tag == DicomTag(0x0028, 0x0103) {
            pixelRepresentation = element.integer
        } else if tag == DicomTag(0x0028, 0x3002) {
            lutDescriptorFirst = element.integer
        }
    }

    /// The VR a dictionary gives for `tag`, resolved for this dataset; nil if no dictionary
    /// knows the tag.
    func knownVR(for tag: DicomTag, undefinedLength: Bool) -> VR? {
        let dictionaryVR: DataDictionary.DictionaryVR?
        if tag.isPrivate {
            if (0x0010...0x00FF).contains(tag.element) { return .LO }  // private creator
            guard tag.element >= 0x1000,
                let creator = privateCreators[UInt32(tag.group) << 8 | UInt32(tag.element >> 8)]
            else { return nil }
            dictionaryVR = DataDictionary.privateEntry(for: tag, creator: creator).map { .init($0.vrText) }
        } else {
            if tag.element == 0 { return .UL }  // group length
            dictionaryVR = DataDictionary.dictionaryVR(for: tag)
        }
        switch dictionaryVR {
        case nil: return nil
        case .obOrOW: return tag == DicomTag(0x7FE0, 0x0010) && undefinedLength ? .OB : .OW
        case .usOrSS: return pixelRepresentation == 1 ? .SS : .US
        case .usOrSSOrOW: return lutDescriptorFirst == 1 ? .US : .OW
        case .usOrOW: return .OW
        case .plain(let vr): return vr == .UN ? nil : vr
        }
    }
}

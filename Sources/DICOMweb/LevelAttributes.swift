import DQL
import DicomCore

/// The attributes QIDO-RS returns at each level (PS3.18 §10.6.3.3, Tables 10.6.3-3 to -5),
/// read from a stored header; the computed ones (counts, modalities, RetrieveURL) are added
/// by ``QIDOSearch``.
enum LevelAttributes {
    static func tag(_ group: UInt16, _ element: UInt16) -> DicomTag { DicomTag(group, element) }

    static let specificCharacterSet = tag(0x0008, 0x0005)
    static let sopClassUID = tag(0x0008, 0x0016)
    static let sopInstanceUID = tag(0x0008, 0x0018)
    static let instanceAvailability = tag(0x0008, 0x0056)
    static let modalitiesInStudy = tag(0x0008, 0x0061)
    static let retrieveURL = tag(0x0008, 0x1190)
    static let studyInstanceUID = tag(0x0020, 0x000D)
    static let seriesInstanceUID = tag(0x0020, 0x000E)
    static let numberOfStudyRelatedSeries = tag(0x0020, 0x1206)
    static let numberOfStudyRelatedInstances = tag(0x0020, 0x1208)
    static let numberOfSeriesRelatedInstances = tag(0x0020, 0x1209)
    static let numberOfFrames = tag(0x0028, 0x0008)
    static let pixelData = tag(0x7FE0, 0x0010)

    /// Attributes the server computes from a level's instances (not in any header).
    static let computed: Set<DicomTag> = [
        numberOfStudyRelatedSeries, numberOfStudyRelatedInstances, numberOfSeriesRelatedInstances, retrieveURL,
        instanceAvailability,
    ]

    /// Study attributes from the header.
    static let study: [DicomTag] = [
        specificCharacterSet, tag(0x0008, 0x0020), tag(0x0008, 0x0030), tag(0x0008, 0x0050),
        tag(0x0008, 0x0090), tag(0x0008, 0x0201), tag(0x0008, 0x1030), tag(0x0010, 0x0010), tag(0x0010, 0x0020),
        tag(0x0010, 0x0030), tag(0x0010, 0x0040), studyInstanceUID, tag(0x0020, 0x0010),
    ]

    /// Series attributes from the header.
    static let series: [DicomTag] = [
        specificCharacterSet, tag(0x0008, 0x0060), tag(0x0008, 0x0201), tag(0x0008, 0x103E),
        tag(0x0018, 0x0015), studyInstanceUID, seriesInstanceUID, tag(0x0020, 0x0011), tag(0x0040, 0x0244),
        tag(0x0040, 0x0245), tag(0x0040, 0x0275),
    ]

    /// Instance attributes from the header.
    static let instance: [DicomTag] = [
        specificCharacterSet, sopClassUID, sopInstanceUID, tag(0x0008, 0x0201), studyInstanceUID,
        seriesInstanceUID, tag(0x0020, 0x0013), numberOfFrames, tag(0x0028, 0x0010), tag(0x0028, 0x0011),
        tag(0x0028, 0x0100),
    ]

    /// The header attributes a search at `level` returns: the level's own, and those of the
    /// levels above it that the path does not fix (PS3.18 §10.6.3.3.1: `/series` returns
    /// study attributes too; `/studies/{study}/instances` series attributes).
    static func returned(level: Level, fixedStudy: Bool, fixedSeries: Bool) -> [DicomTag] {
        switch level {
        case .studies, .patients: return study
        case .series: return fixedStudy ? series : study + series
        case .instances:
            var tags = instance
            if !fixedSeries { tags = series + tags }
            if !fixedStudy { tags = study + tags }
            return tags
        }
    }

    /// The elements of `dataSet` with the given tags (each once, in tag order), or every
    /// attribute except bulk data and Pixel Data when `all`.
    static func elements(of dataSet: DataSet, tags: [DicomTag], all: Bool) -> [DataElement] {
        if all {
            return dataSet.elements.filter { element in
                switch element.value {
                case .bulk, .encapsulated: return false
                default: return element.tag != pixelData && element.tag.element != 0
                }
            }
        }
        let wanted = Set(tags)
        return dataSet.elements.filter { wanted.contains($0.tag) }
    }
}

/// An ordered collection of data elements: a file's dataset, its file meta group, or one
/// sequence item. Elements are kept sorted by tag; a tag appears at most once.
public struct DataSet: Sendable, Equatable {
    public private(set) var elements: [DataElement]
    /// The character set text in this dataset was decoded with.
    public var characterSet: SpecificCharacterSet

    public init(elements: [DataElement] = [], characterSet: SpecificCharacterSet = .default) {
        self.elements = elements.sorted { $0.tag < $1.tag }
        self.characterSet = characterSet
    }

    /// Builds from elements already in ascending tag order with no duplicates.
    init(sortedElements: [DataElement], characterSet: SpecificCharacterSet) {
        self.elements = sortedElements
        self.characterSet = characterSet
    }

    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }

    public subscript(tag: DicomTag) -> DataElement? {
        index(of: tag).map { elements[$0] }
    }

    /// The element for a dictionary keyword such as `PatientName`.
    public subscript(keyword: String) -> DataElement? {
        DataDictionary.tag(forKeyword: keyword).flatMap { self[$0] }
    }

    /// Inserts or replaces the element with the same tag.
    public mutating func set(_ element: DataElement) {
        if let index = index(of: element.tag) {
            elements[index] = element
        } else {
            let position = elements.firstIndex { $0.tag > element.tag } ?? elements.endIndex
            elements.insert(element, at: position)
        }
    }

    public mutating func remove(_ tag: DicomTag) {
        if let index = index(of: tag) { elements.remove(at: index) }
    }

    private func index(of tag: DicomTag) -> Int? {
        var low = 0
        var high = elements.count
        while low < high {
            let middle = (low + high) / 2
            if elements[middle].tag < tag { low = middle + 1 } else { high = middle }
        }
        return low < elements.count && elements[low].tag == tag ? low : nil
    }
}

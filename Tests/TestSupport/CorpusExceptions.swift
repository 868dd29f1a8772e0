/// Corpus files where pydicom, the oracle, and DicomCore knowingly part ways.
public enum CorpusExceptions {
    /// Files pydicom reads only with force=True, by treating arbitrary bytes as one garbage
    /// element. They are not DICOM; DicomCore says so.
    public static let notDicom: [String: String] = [
        "pydicom/test_files/README.txt": "a text file",
        "pydicom/test_files/crayons.icc": "an ICC colour profile",
        "pydicom/test_files/rtplan.dump": "a text dump of rtplan.dcm",
        "pydicom/test_files/rtstruct.dump": "a text dump of rtstruct.dcm",
        "pydicom/test_files/test1.json": "a DICOM JSON file, not Part 10",
        "pydicom/test_files/test_PN.json": "a DICOM JSON file, not Part 10",
        "pydicom/test_files/zipMR.gz": "a gzip archive",
        "pydicom/test_files/dicomdirtests/README.txt": "a text file",
        "pydicom/test_files/dicomdirtests/TINY_ALPHA/README": "a text file",
        "pydicom/charset_files/FileInfo.txt": "a text file",
        "pydicom/palettes/README.md": "a text file",
        "pydicom/test_files/no_meta.dcm":
            "one stray byte precedes the first element; pydicom (force=True) reads it as one garbage element (0820,0500)",
    ]

    /// Files where pydicom throws away what it had read because a value at the end is broken;
    /// DicomCore keeps every element before the damage and reports the damage as an error.
    public static let pydicomLosesElements: [String: String] = [
        "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm":
            "the encapsulated Pixel Data is cut short before its sequence delimiter; pydicom's reader raises at the end of file and returns an empty dataset"
    ]
}

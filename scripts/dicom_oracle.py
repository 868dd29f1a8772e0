#!/usr/bin/env python3
"""What pydicom reads from every file of the installed test corpus, as JSON.

The corpus is every file under pydicom's data/test_files, data/charset_files and data/palettes
(pydicom 3.0.2) and pydicom-data's data_store/data (1.0.0), listed from the installed folders:
pydicom's download helpers are never called. DicomCore's oracle test compares its reading of
each file with this output.

Usage: dicom_oracle.py [--list | --roots]
  --list   prints only the corpus paths, one per line
  --roots  prints the installed folders the corpus comes from, one per line
"""
import json
import os
import sys
import warnings

import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

KEYWORDS = [
    "PatientID", "PatientName", "PatientSex", "PatientBirthDate", "StudyDate", "StudyTime",
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "Modality",
    "Manufacturer", "ProtocolName", "StudyDescription", "SeriesDescription", "BodyPartExamined",
    "InstitutionName", "Rows", "Columns", "NumberOfFrames", "BitsAllocated",
    "SpecificCharacterSet",
]


TEXT_OR_NUMBER_VRS = {
    "AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT",
    "US", "SS", "UL", "SL", "SV", "UV", "FL", "FD",
}


def corpus_roots():
    import pydicom as p
    base = os.path.join(os.path.dirname(p.__file__), "data")
    roots = [("pydicom/" + name, os.path.join(base, name))
             for name in ("test_files", "charset_files", "palettes")]
    try:
        import data_store
        roots.append(("pydicom-data", os.path.join(os.path.dirname(data_store.__file__), "data")))
    except ImportError:
        sys.exit("pydicom-data is not installed: run scripts/setup.sh")
    return roots


def corpus_files():
    for label, root in corpus_roots():
        for directory, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                if name.endswith((".py", ".pyc")):
                    continue
                path = os.path.join(directory, name)
                yield label + "/" + os.path.relpath(path, root), path


def text(value):
    if value is None:
        return []
    if isinstance(value, (MultiValue, list, tuple)):
        return [str(v) for v in value]
    value = str(value)
    return [] if value == "" else [value]


def describe(path):
    record = {"path": path}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            try:
                ds = pydicom.dcmread(path)
                record["force"] = False
            except InvalidDicomError:
                ds = pydicom.dcmread(path, force=True)
                record["force"] = True
            # Element access is lazy; touching every element makes pydicom convert them.
            count = 0
            for _ in ds:
                count += 1
        except Exception as error:  # noqa: BLE001 - any failure means "pydicom cannot read it"
            record["readable"] = False
            record["error"] = f"{type(error).__name__}: {error}"
            return record
        record["readable"] = True
        record["elementCount"] = len(ds)
        meta = getattr(ds, "file_meta", None)
        syntax = meta.get("TransferSyntaxUID") if meta is not None else None
        record["transferSyntax"] = str(syntax) if syntax is not None else None
        values = {}
        for keyword in KEYWORDS:
            if keyword not in ds:
                continue
            try:
                element = ds.data_element(keyword)
            except Exception as error:  # noqa: BLE001
                values[keyword] = {"error": f"{type(error).__name__}: {error}"}
                continue
            if element is None:
                continue
            try:
                values[keyword] = text(element.value)
            except Exception as error:  # noqa: BLE001
                values[keyword] = {"error": f"{type(error).__name__}: {error}"}
        record["values"] = values
        # Every top-level element: tag, VR, and for text and number VRs the values as strings.
        elements = []
        for element in ds:
            entry = {"tag": f"{element.tag:08X}", "vr": str(element.VR)}
            if element.VR in TEXT_OR_NUMBER_VRS:
                try:
                    entry["strings"] = text(element.value)
                except Exception as error:  # noqa: BLE001
                    entry["error"] = f"{type(error).__name__}: {error}"
            elif element.VR == "SQ":
                entry["items"] = len(element.value)
            elements.append(entry)
        record["elements"] = elements
    return record


def main():
    if "--roots" in sys.argv[1:]:
        for _, root in corpus_roots():
            print(root)
        return
    files = list(corpus_files())
    if "--list" in sys.argv[1:]:
        for _, path in files:
            print(path)
        return
    records = []
    for label, path in files:
        record = describe(path)
        record["name"] = label
        records.append(record)
    json.dump({"pydicom": pydicom.__version__, "files": records}, sys.stdout, indent=1,
              ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()

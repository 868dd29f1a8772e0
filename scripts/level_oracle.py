#!/usr/bin/env python3
"""pydicom's reading of every file under the given folders, for the tests of DQL's levels.

One JSON object per distinct file content (by SHA-256, as dql stores them): its id, size and
the attributes that place it in the DICOM model (patient, study, series) with their values as
pydicom reads them, whitespace runs collapsed as dql stores text. Files pydicom cannot read
are left out. Optional keywords after `--keywords` are added as lists of strings.

Usage: level_oracle.py DIR... [--keywords KW...]
"""
import hashlib
import json
import os
import sys

import pydicom

LEVEL_KEYWORDS = {
    "PatientID": "patientId", "PatientName": "patient", "PatientSex": "sex", "StudyInstanceUID": "studyUid",
    "SeriesInstanceUID": "seriesUid", "StudyDate": "date", "StudyDescription": "study", "Modality": "modality",
    "ProtocolName": "protocol", "SeriesDescription": "series",
}


def values(element):
    value = element.value
    items = list(value) if isinstance(value, (list, tuple, pydicom.multival.MultiValue)) else [value]
    texts = [" ".join(str(item).split()) for item in items if item is not None]
    return [text for text in texts if text]


def main():
    arguments = sys.argv[1:]
    extra = []
    if "--keywords" in arguments:
        at = arguments.index("--keywords")
        extra = arguments[at + 1:]
        arguments = arguments[:at]
    seen = set()
    rows = []
    for root in arguments:
        for folder, _, names in os.walk(root):
            for name in sorted(names):
                path = os.path.join(folder, name)
                with open(path, "rb") as handle:
                    data = handle.read()
                digest = hashlib.sha256(data).hexdigest()
                if digest in seen:
                    continue
                try:
                    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
                except Exception:  # noqa: BLE001
                    continue
                seen.add(digest)
                row = {"id": digest, "size": len(data), "name": name}
                for keyword, field in list(LEVEL_KEYWORDS.items()) + [(k, k) for k in extra]:
                    try:
                        if keyword in ds:
                            texts = values(ds[keyword])
                            if texts:
                                row[field] = texts
                    except Exception:  # noqa: BLE001
                        pass
                rows.append(row)
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main()

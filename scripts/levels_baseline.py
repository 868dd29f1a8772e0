#!/usr/bin/env python3
"""Hand-written redis-py code for the questions `dql-bench levels` asks of dql, the baseline.

What a Python user with the same index would write: FT.AGGREGATE loading the attributes of
the matching instances, grouped into studies or series in Python; for an attribute the index
does not hold, every header read back from the first chunk (GETRANGE, pipelined) and parsed
with pydicom.

Usage: levels_baseline.py URL INDEX DOCUMENT_PREFIX CHUNK_PREFIX RUNS QUERY [ARGUMENT]
QUERY: studies-of-patient PATIENT_ID | series-of-study STUDY_UID | studies-by-modality
       | unindexed-slice-thickness
Prints one JSON line: {"seconds": [...], "answer": ...}
"""
import io
import json
import sys
import time

import pydicom
import redis


def tag(value):
    """A TAG query value with its punctuation escaped."""
    return "".join("\\" + c if not c.isalnum() else c for c in value)


def aggregate(client, index, query, fields):
    reply = client.execute_command(
        "FT.AGGREGATE", index, query, "LOAD", len(fields), *["@" + f for f in fields],
        "LIMIT", 0, 1000000, "DIALECT", 2)
    rows = []
    for row in reply[1:]:
        rows.append({row[i].decode(): row[i + 1].decode() for i in range(0, len(row) - 1, 2)})
    return rows


def studies_of_patient(client, index, patient):
    rows = aggregate(client, index, "@patientId:{" + tag(patient) + "}",
                     ["studyUid", "seriesUid", "modality", "size", "studyDate", "patient"])
    studies = {}
    for row in rows:
        study = studies.setdefault(row.get("studyUid"), {"series": set(), "modalities": set(), "instances": 0,
                                                         "size": 0, "date": row.get("studyDate")})
        study["series"].add(row.get("seriesUid"))
        study["modalities"].add(row.get("modality"))
        study["instances"] += 1
        study["size"] += int(row.get("size", 0))
    return sorted((uid, len(s["series"]), s["instances"]) for uid, s in studies.items())


def series_of_study(client, index, study):
    rows = aggregate(client, index, "@studyUid:{" + tag(study) + "}",
                     ["seriesUid", "modality", "size", "series", "protocol"])
    series = {}
    for row in rows:
        entry = series.setdefault(row.get("seriesUid"), [0, 0])
        entry[0] += 1
        entry[1] += int(row.get("size", 0))
    return sorted((uid, n) for uid, (n, _) in series.items())


def studies_by_modality(client, index):
    rows = aggregate(client, index, "*", ["studyUid", "modality"])
    groups = {}
    for row in rows:
        groups.setdefault(row.get("modality"), set()).add(row.get("studyUid"))
    return sorted((modality, len(studies)) for modality, studies in groups.items())


def unindexed_slice_thickness(client, index, chunk_prefix):
    count = 0
    offset = 0
    while True:
        reply = client.execute_command(
            "FT.SEARCH", index, "*", "RETURN", 3, "sha256", "$.headerLength", "$.size", "LIMIT", offset, 1000,
            "DIALECT", 2)
        documents = reply[2::2]
        if not documents:
            break
        pipe = client.pipeline(transaction=False)
        for fields in documents:
            values = {fields[i].decode(): fields[i + 1].decode() for i in range(0, len(fields) - 1, 2)}
            length = min(int(values["$.headerLength"]), int(values["$.size"]))
            pipe.getrange(f"{chunk_prefix}{values['sha256']}:0", 0, length - 1)
        for header in pipe.execute():
            ds = pydicom.dcmread(io.BytesIO(header), stop_before_pixels=True, force=True)
            value = ds.get("SliceThickness")
            if value is not None and value != "" and float(value) < 2:
                count += 1
        offset += len(documents)
        if len(documents) < 1000:
            break
    return count


def main():
    url, index, _document_prefix, chunk_prefix, runs, query = sys.argv[1:7]
    argument = sys.argv[7] if len(sys.argv) > 7 else None
    client = redis.Redis.from_url(url)
    work = {
        "studies-of-patient": lambda: studies_of_patient(client, index, argument),
        "series-of-study": lambda: series_of_study(client, index, argument),
        "studies-by-modality": lambda: studies_by_modality(client, index),
        "unindexed-slice-thickness": lambda: unindexed_slice_thickness(client, index, chunk_prefix),
    }[query]
    answer = work()  # warm-up
    seconds = []
    for _ in range(int(runs)):
        start = time.perf_counter()
        answer = work()
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": seconds, "answer": answer}))


if __name__ == "__main__":
    main()

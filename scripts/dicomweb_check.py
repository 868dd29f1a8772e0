#!/usr/bin/env python3
"""Checks `dql serve` with a real DICOMweb client (dicomweb-client) against pydicom's reading
of the same files. Used by the end-to-end tests (DICOMwebTests) and runnable by hand.

Usage:
  dicomweb_check.py prepare DIR      writes the test set into DIR: a generated archive (DIR/archive)
                                     and corpus files with pixel data in each encoding, given
                                     UIDs of their own (DIR/frames)
  dicomweb_check.py check URL DIR GROUP
                                     runs one group of checks against the server at URL
                                     (…/dicom-web): qido, retrieve, metadata, frames, stow, errors

Prints "ok GROUP: N checks" or exits 1 with what differed.
"""
import hashlib
import io
import json
import os
import socket
import threading
import sys
import urllib.parse

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.encaps import generate_frames
from pydicom.uid import generate_uid

ROOT = "1.2.826.0.1.3680043.8.498."
FRAME_FILES = [
    "CT_small.dcm",  # native, one frame
    "rtdose.dcm",  # native, 15 frames
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS
    "MR_small_jp2klossless.dcm",  # JPEG 2000
    "MR_small_RLE.dcm",  # RLE
    "SC_rgb_rle_2frame.dcm",  # RLE, 2 frames
]
# Stored as they are, without file meta information: their parts are labelled with the syntax
# their data set is in.
NO_META_FILES = {"ExplVR_BigEndNoMeta.dcm": "1.2.840.10008.1.2.2", "ExplVR_LitEndNoMeta.dcm": "1.2.840.10008.1.2.1"}
checks = 0


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def expect(condition, message):
    global checks
    checks += 1
    if not condition:
        fail(message)


def prepare(directory):
    here = os.path.dirname(os.path.abspath(__file__))
    archive = os.path.join(directory, "archive")
    os.system(
        f"{sys.executable} {here}/generate_archive.py {archive} --patients 2 --studies 2 --series 2 "
        f"--instances 3 --rows 16 --cols 16 >/dev/null")
    frames = os.path.join(directory, "frames")
    os.makedirs(frames, exist_ok=True)
    corpus = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    study = generate_uid(ROOT)
    for name in FRAME_FILES:
        ds = pydicom.dcmread(os.path.join(corpus, name))
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = generate_uid(ROOT)
        ds.SOPInstanceUID = generate_uid(ROOT)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.PatientID = "FRAMES"
        ds.save_as(os.path.join(frames, name), enforce_file_format=False)
    nometa = os.path.join(directory, "nometa")
    os.makedirs(nometa, exist_ok=True)
    for name in NO_META_FILES:
        with open(os.path.join(corpus, name), "rb") as source, open(os.path.join(nometa, name), "wb") as target:
            target.write(source.read())


def files(directory):
    """Every DICOM file of the test set, read by pydicom, with its bytes."""
    found = []
    for root, _, names in os.walk(directory):
        for name in sorted(names):
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                data = handle.read()
            found.append((pydicom.dcmread(io.BytesIO(data)), data))
    return found


def value(item, tag):
    attribute = item.get(tag, {})
    values = attribute.get("Value", [])
    return values[0] if values else None


def parts(response):
    """The parts of a multipart/related response: (headers, bytes)."""
    content_type = response.headers["Content-Type"]
    boundary = None
    for piece in content_type.split(";"):
        name, _, text = piece.strip().partition("=")
        if name.lower() == "boundary":
            boundary = text.strip('"')
    expect(boundary, f"no boundary in {content_type}")
    body = response.content
    marker = b"--" + boundary.encode()
    expect(body.startswith(marker), "the body does not start with the boundary")
    expect(body.rstrip(b"\r\n").endswith(marker + b"--"), "the body does not end with the closing boundary")
    found = []
    for chunk in body.split(b"\r\n" + marker)[:-1]:
        if chunk.startswith(marker):
            chunk = chunk[len(marker):]
        head, _, data = chunk.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n"):
            if ":" in line:
                name, _, text = line.partition(":")
                headers[name.strip().lower()] = text.strip()
        found.append((headers, data))
    return found


def check_qido(url, directory):
    client = DICOMwebClient(url=url)
    data = files(os.path.join(directory, "archive"))
    studies = {}
    for ds, _ in data:
        studies.setdefault(ds.StudyInstanceUID, []).append(ds)
    everything = client.search_for_studies(search_filters={"PatientID": "P*"})
    expect({value(s, "0020000D") for s in everything} == set(studies), "studies of patients P* differ")
    for uid, members in studies.items():
        first = members[0]
        found = client.search_for_studies(search_filters={"StudyInstanceUID": uid})
        expect(len(found) == 1, f"study {uid}: {len(found)} results")
        study = found[0]
        expect(value(study, "00100020") == first.PatientID, f"study {uid}: PatientID")
        expect(value(study, "00100010") == {"Alphabetic": str(first.PatientName)}, f"study {uid}: PatientName")
        expect(value(study, "00080020") == first.StudyDate, f"study {uid}: StudyDate")
        expect(value(study, "00080030") == first.StudyTime, f"study {uid}: StudyTime")
        expect(value(study, "00100030") == first.PatientBirthDate, f"study {uid}: PatientBirthDate")
        expect(value(study, "00200010") == first.StudyID, f"study {uid}: StudyID")
        expect(value(study, "00080050") == first.AccessionNumber, f"study {uid}: AccessionNumber")
        expect(value(study, "00201208") == len(members), f"study {uid}: NumberOfStudyRelatedInstances")
        series = {ds.SeriesInstanceUID for ds in members}
        expect(value(study, "00201206") == len(series), f"study {uid}: NumberOfStudyRelatedSeries")
        expect(study["00080061"]["Value"] == ["CT"], f"study {uid}: ModalitiesInStudy")
        expect(value(study, "00081190") == f"{url}/studies/{uid}", f"study {uid}: RetrieveURL")
        found_series = client.search_for_series(uid)
        expect({value(s, "0020000E") for s in found_series} == series, f"series of study {uid}")
        for item in found_series:
            series_uid = value(item, "0020000E")
            in_series = [ds for ds in members if ds.SeriesInstanceUID == series_uid]
            expect(value(item, "00201209") == len(in_series), f"series {series_uid}: NumberOfSeriesRelatedInstances")
            expect(value(item, "00200011") == in_series[0].SeriesNumber, f"series {series_uid}: SeriesNumber")
            expect(value(item, "0008103E") == in_series[0].SeriesDescription, f"series {series_uid}: description")
            instances = client.search_for_instances(uid, series_uid)
            expect({value(i, "00080018") for i in instances} == {ds.SOPInstanceUID for ds in in_series},
                   f"instances of series {series_uid}")
            for instance in instances:
                ds = next(d for d in in_series if d.SOPInstanceUID == value(instance, "00080018"))
                expect(value(instance, "00200013") == ds.InstanceNumber, "InstanceNumber")
                expect(value(instance, "00280010") == ds.Rows, "Rows")
                expect(value(instance, "00080016") == ds.SOPClassUID, "SOPClassUID")
    # Single value, wildcard, list, ranges.
    patient = data[0][0]
    mine = {ds.StudyInstanceUID for ds, _ in data if ds.PatientID == patient.PatientID}
    found = client.search_for_studies(search_filters={"PatientID": patient.PatientID})
    expect({value(s, "0020000D") for s in found} == mine, "PatientID single value")
    name = str(patient.PatientName)
    found = client.search_for_studies(search_filters={"PatientName": name[:-2] + "*"})
    expect({value(s, "0020000D") for s in found} == {
        ds.StudyInstanceUID for ds, _ in data if str(ds.PatientName).startswith(name[:-2])}, "PatientName wildcard *")
    found = client.search_for_studies(search_filters={"PatientName": name[:-1] + "?"})
    expect({value(s, "0020000D") for s in found} == {
        ds.StudyInstanceUID for ds, _ in data if str(ds.PatientName)[:-1] == name[:-1]}, "PatientName wildcard ?")
    two = sorted(studies)[:2]
    for separator in ("\\", ","):
        found = client.search_for_studies(search_filters={"StudyInstanceUID": separator.join(two)})
        expect(sorted(value(s, "0020000D") for s in found) == two, f"UID list matching with {separator}")
    dates = sorted({ds.StudyDate for ds, _ in data})
    low, high = dates[0], dates[len(dates) // 2]
    for text, test in [(f"{low}-{high}", lambda d: low <= d <= high), (f"-{high}", lambda d: d <= high),
                       (f"{high}-", lambda d: d >= high)]:
        found = client.search_for_studies(search_filters={"StudyDate": text, "PatientID": "P*"})
        expect({value(s, "0020000D") for s in found} == {
            ds.StudyInstanceUID for ds, _ in data if test(ds.StudyDate)}, f"StudyDate={text}")
    found = client.search_for_studies(search_filters={"StudyTime": "100000-110000"})
    expect({value(s, "0020000D") for s in found} >= set(studies), "StudyTime range")
    found = client.search_for_studies(search_filters={"StudyTime": "-0900"})
    expect(not ({value(s, "0020000D") for s in found} & set(studies)), "StudyTime -0900")
    # Paging: pages of two make the whole list once, and a Warning says when more are left.
    pages, offset = [], 0
    while True:
        response = requests.get(f"{url}/studies", params={"PatientID": "P*", "limit": 2, "offset": offset})
        expect(response.status_code == 200, f"paging: {response.status_code}")
        page = response.json()
        if not page:
            break
        more = "Warning" in response.headers
        expect(more == (offset + len(page) < len(studies)), f"paging Warning at offset {offset}")
        pages += [value(s, "0020000D") for s in page]
        offset += 2
    expect(sorted(pages) == sorted(studies), "paging gives every study once")
    # includefield, and attributes of other levels on /instances.
    instances = client.search_for_instances(
        search_filters={"PatientID": patient.PatientID}, fields=["SliceThickness", "00180015"])
    expect(len(instances) == sum(1 for ds, _ in data if ds.PatientID == patient.PatientID), "/instances by patient")
    expect(all("00180050" in i and "00180015" in i and "0020000D" in i and "0020000E" in i for i in instances),
           "includefield on /instances")
    every = requests.get(f"{url}/studies", params={"StudyInstanceUID": two[0], "includefield": "all"}).json()
    expect("00080070" in every[0], "includefield=all returns Manufacturer")
    found = client.search_for_series(search_filters={"Modality": "CT", "PatientID": patient.PatientID})
    expect(len(found) == len({ds.SeriesInstanceUID for ds, _ in data if ds.PatientID == patient.PatientID}),
           "/series by Modality and PatientID")
    found = client.search_for_instances(search_filters={"00080018": data[0][0].SOPInstanceUID})
    expect(len(found) == 1, "/instances by tag 00080018")
    found = client.search_for_instances(search_filters={"InstanceNumber": "-1", "PatientID": "P*"})
    expect(not found, "InstanceNumber=-1 is the number -1, not a range")
    found = client.search_for_instances(search_filters={"InstanceNumber": "2", "PatientID": "P*"})
    expect(len(found) == sum(1 for ds, _ in data if ds.InstanceNumber == 2), "InstanceNumber=2")
    every = requests.get(f"{url}/studies", params={"PatientName": "*", "PatientID": "P*"}).json()
    expect(len(every) == len(studies), "PatientName=* is universal matching")
    for modalities in ("CT,MR", "CT\\MR"):
        found = requests.get(f"{url}/studies", params={"ModalitiesInStudy": modalities, "PatientID": "P*"}).json()
        expect(len(found) == len(studies), f"ModalitiesInStudy={modalities}")
    fuzzy = requests.get(f"{url}/studies", params={"PatientName": name, "fuzzymatching": "true"})
    expect(fuzzy.status_code == 200 and "Warning" in fuzzy.headers, "fuzzymatching is accepted with a Warning")


def check_retrieve(url, directory):
    client = DICOMwebClient(url=url)
    data = files(os.path.join(directory, "archive"))
    ds, raw = data[0]
    response = requests.get(
        f"{url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}",
        headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
    expect(response.status_code == 200, f"retrieve instance: {response.status_code}")
    found = parts(response)
    expect(len(found) == 1 and found[0][1] == raw, "retrieve instance: bytes differ from the loaded file")
    expect("transfer-syntax=1.2.840.10008.1.2.1" in found[0][0]["content-type"], "part has its transfer-syntax")
    single = requests.get(
        f"{url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}",
        headers={"Accept": "application/dicom"})
    expect(single.status_code == 200 and single.content == raw, "retrieve instance as application/dicom")
    got = client.retrieve_instance(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    expect(got.SOPInstanceUID == ds.SOPInstanceUID and got.PixelData == ds.PixelData, "dicomweb-client retrieve_instance")
    digests = lambda items: sorted(hashlib.sha256(b).hexdigest() for b in items)
    in_series = [r for d, r in data if d.SeriesInstanceUID == ds.SeriesInstanceUID]
    series = client.retrieve_series(ds.StudyInstanceUID, ds.SeriesInstanceUID)
    expect(len(series) == len(in_series), f"retrieve_series: {len(series)} instances of {len(in_series)}")
    response = requests.get(f"{url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}")
    expect(digests(b for _, b in parts(response)) == digests(in_series), "retrieve series: bytes differ")
    corpus = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    for name, syntax in NO_META_FILES.items():
        with open(os.path.join(corpus, name), "rb") as handle:
            raw_bytes = handle.read()
        bare = pydicom.dcmread(io.BytesIO(raw_bytes), force=True)
        response = requests.get(
            f"{url}/studies/{bare.StudyInstanceUID}/series/{bare.SeriesInstanceUID}/instances/{bare.SOPInstanceUID}")
        found = [part for part in parts(response) if part[1] == raw_bytes]
        expect(len(found) == 1, f"{name}: retrieved as stored")
        expect(f"transfer-syntax={syntax}" in found[0][0]["content-type"],
               f"{name}: labelled {found[0][0]['content-type']}, expected {syntax}")
    in_study = [r for d, r in data if d.StudyInstanceUID == ds.StudyInstanceUID]
    response = requests.get(f"{url}/studies/{ds.StudyInstanceUID}", stream=True)
    expect(int(response.headers["Content-Length"]) > sum(map(len, in_study)), "retrieve study: Content-Length")
    expect(digests(b for _, b in parts(response)) == digests(in_study), "retrieve study: bytes differ")


def normalized(attribute):
    vr = attribute.get("vr")
    values = attribute.get("Value")
    if values is None:
        return (vr, None)
    if vr == "SQ":
        return (vr, [{tag: normalized(item[tag]) for tag in item if "BulkDataURI" not in item[tag]
                      and "InlineBinary" not in item[tag]} for item in values])
    if vr in ("DS", "FL", "FD"):
        return (vr, [round(float(v), 6) if v is not None else None for v in values])
    return (vr, values)


def check_metadata(url, directory):
    client = DICOMwebClient(url=url)
    for part in ("archive", "frames"):
        data = files(os.path.join(directory, part))
        for series_uid in sorted({ds.SeriesInstanceUID for ds, _ in data}):
            members = {ds.SOPInstanceUID: (ds, raw) for ds, raw in data if ds.SeriesInstanceUID == series_uid}
            study_uid = next(iter(members.values()))[0].StudyInstanceUID
            metadata = client.retrieve_series_metadata(study_uid, series_uid)
            expect(len(metadata) == len(members), f"metadata of series {series_uid}: {len(metadata)} instances")
            raw_metadata = requests.get(f"{url}/studies/{study_uid}/series/{series_uid}/metadata").json()
            for item in raw_metadata:
                ds, raw = members[value(item, "00080018")]
                expected = ds.to_json_dict(bulk_data_threshold=1 << 30)
                # Data Set Trailing Padding (FFFC,FFFC) has no meaning (PS3.5 §7.1.3) and is not returned.
                expected.pop("FFFCFFFC", None)
                for tag, attribute in expected.items():
                    if "InlineBinary" in attribute or tag == "7FE00010":
                        expect(tag in item, f"{ds.SOPInstanceUID}: {tag} missing")
                        continue
                    expect(tag in item, f"{ds.SOPInstanceUID}: attribute {tag} missing from the metadata")
                    expect(normalized(item[tag]) == normalized(attribute),
                           f"{ds.SOPInstanceUID}: {tag} is {item[tag]}, pydicom reads {attribute}")
                extra = set(item) - set(expected)
                expect(not extra, f"{ds.SOPInstanceUID}: attributes pydicom does not have: {extra}")
                pixel = item["7FE00010"]["BulkDataURI"]
                response = requests.get(pixel)
                expect(response.status_code == 200, f"Pixel Data bulk data: {response.status_code}")
                found = parts(response)
                expect(found[0][1] == ds.PixelData, f"{ds.SOPInstanceUID}: Pixel Data bulk data differs")


def check_frames(url, directory):
    client = DICOMwebClient(url=url)
    for ds, _ in files(os.path.join(directory, "frames")):
        count = int(getattr(ds, "NumberOfFrames", 1) or 1)
        syntax = ds.file_meta.TransferSyntaxUID
        if syntax.is_compressed:
            expected = list(generate_frames(ds.PixelData, number_of_frames=count))
        else:
            length = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8
            expected = [ds.PixelData[i * length:(i + 1) * length] for i in range(count)]
        numbers = list(range(1, count + 1))
        got = client.retrieve_instance_frames(
            ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, frame_numbers=numbers)
        expect(len(got) == count, f"{ds.SOPInstanceUID} ({syntax.name}): {len(got)} frames of {count}")
        for number, (mine, theirs) in enumerate(zip(got, expected), 1):
            expect(mine == theirs, f"{ds.SOPInstanceUID} ({syntax.name}): frame {number} differs from pydicom's")
        response = requests.get(
            f"{url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
            f"/frames/{count}")
        headers, _ = parts(response)[0]
        expected_syntax = "1.2.840.10008.1.2.1" if not syntax.is_compressed else syntax
        expect(f"transfer-syntax={expected_syntax}" in headers["content-type"],
               f"frame part of {syntax.name}: {headers['content-type']}")
        if syntax.is_compressed:
            refused = requests.get(
                f"{url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
                f"/frames/1", headers={"Accept": 'multipart/related; type="application/octet-stream"; '
                                                 'transfer-syntax=1.2.840.10008.1.2.1'})
            expect(refused.status_code == 406, f"{syntax.name} frames asked uncompressed: {refused.status_code}")


def new_instance(study=None):
    from pydicom.dataset import Dataset, FileMetaDataset
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid(ROOT)
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study or generate_uid(ROOT)
    ds.SeriesInstanceUID = generate_uid(ROOT)
    ds.PatientID = "STOW"
    ds.PatientName = "Stored^Over^Web"
    ds.StudyDate = "20240102"
    ds.Modality = "OT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored = 4, 4, 1, 8, 8
    ds.HighBit, ds.PixelRepresentation, ds.PhotometricInterpretation = 7, 0, "MONOCHROME2"
    ds.PixelData = bytes(range(16))
    return ds


def encoded(ds):
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def stow(url, bodies, path="/studies", boundary="dqltestboundary"):
    body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + b + b"\r\n"
                    for b in bodies) + b"--" + boundary.encode() + b"--\r\n"
    return requests.post(url + path, data=body, headers={
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        "Accept": "application/dicom+json"})


def check_stow(url, directory):
    client = DICOMwebClient(url=url)
    study = generate_uid(ROOT)
    datasets = [new_instance(study) for _ in range(3)]
    answer = client.store_instances(datasets)
    referenced = answer.ReferencedSOPSequence
    expect(len(referenced) == 3 and "FailedSOPSequence" not in answer, "store_instances: three referenced")
    expect(answer.RetrieveURL == f"{url}/studies/{study}", f"store response RetrieveURL {answer.RetrieveURL}")
    found = client.search_for_instances(study)
    expect({value(i, "00080018") for i in found} == {ds.SOPInstanceUID for ds in datasets}, "stored instances found")
    for ds in datasets:
        back = client.retrieve_instance(study, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        expect(back.PixelData == ds.PixelData and back.PatientName == ds.PatientName, "stored instance read back")
    # The same instance again, encoded otherwise: stored once, the first kept, with a Warning.
    again = stow(url, [encoded(datasets[0])])
    expect(again.status_code == 200 and "Warning" in again.headers, f"storing an instance again: {again.status_code}")
    expect(len(client.search_for_instances(study)) == 3, "an instance stored twice is one instance")
    # Bytes stored come back byte-identical; the same bytes twice are stored once.
    fresh = new_instance(study)
    raw = encoded(fresh)
    for _ in range(2):
        expect(stow(url, [raw]).status_code == 200, "storing the same bytes")
    expect(len(client.search_for_instances(study)) == 4, "the same bytes stored twice are one instance")
    response = requests.get(
        f"{url}/studies/{study}/series/{fresh.SeriesInstanceUID}/instances/{fresh.SOPInstanceUID}",
        headers={"Accept": "application/dicom"})
    expect(response.content == raw, "stored bytes come back byte-identical")
    # Another study's instance to /studies/{study}: refused, nothing stored.
    other = new_instance()
    refused = stow(url, [encoded(other)], path=f"/studies/{study}")
    expect(refused.status_code == 409, f"instance of another study: {refused.status_code}")
    failed = refused.json()["00081198"]["Value"][0]
    expect(value(failed, "00081197") == 0xA900 and value(failed, "00081155") == other.SOPInstanceUID,
           f"failed SOP item: {failed}")
    expect(not client.search_for_instances(other.StudyInstanceUID), "the refused instance was not stored")
    # One good part and one that is not DICOM: 202, one referenced, one failed.
    good = new_instance()
    mixed = stow(url, [encoded(good), b"this is not DICOM at all" * 10])
    expect(mixed.status_code == 202, f"mixed body: {mixed.status_code}")
    body = mixed.json()
    expect(len(body["00081199"]["Value"]) == 1 and len(body["00081198"]["Value"]) == 1, f"mixed body: {body}")
    expect(value(body["00081198"]["Value"][0], "00081197") == 0xC000, "not DICOM: failure reason C000")
    expect("does not read as DICOM" in mixed.headers.get("Warning", "")
           and "dql-stow" not in mixed.headers.get("Warning", ""),
           f"the Warning says why, without the server's spool path: {mixed.headers.get('Warning')}")
    expect(len(client.search_for_instances(good.StudyInstanceUID)) == 1, "the good part of a mixed body is stored")
    # One instance three times in one body: the same bytes twice are one instance, and other
    # bytes under its SOP Instance UID keep the first part's, with a Warning, as across requests.
    twin = new_instance()
    first = encoded(twin)
    twin.PatientName = "Other^Bytes"
    thrice = stow(url, [first, first, encoded(twin)])
    expect(thrice.status_code == 200 and "Warning" in thrice.headers,
           f"one instance thrice in a body: {thrice.status_code} {thrice.headers}")
    expect(len(thrice.json()["00081199"]["Value"]) == 3, f"one instance thrice in a body: {thrice.json()}")
    expect(len(client.search_for_instances(twin.StudyInstanceUID)) == 1, "one instance thrice in a body is one")
    back = requests.get(
        f"{url}/studies/{twin.StudyInstanceUID}/series/{twin.SeriesInstanceUID}/instances/{twin.SOPInstanceUID}",
        headers={"Accept": "application/dicom"})
    expect(back.content == first, "the first part's bytes are kept")
    # Four clients sending other bytes under one SOP Instance UID at the same moment: one
    # instance stored, three answers with a Warning (as one after the other), five times over.
    for _ in range(5):
        contested = new_instance()
        bodies = []
        for index in range(4):
            contested.PatientName = f"Client^{index}"
            bodies.append(encoded(contested))
        answers = [None] * 4
        barrier = threading.Barrier(4)

        def send(index):
            barrier.wait()
            answers[index] = stow(url, [bodies[index]])
        threads = [threading.Thread(target=send, args=(index,)) for index in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expect(all(answer.status_code == 200 for answer in answers), f"contested STOW: {answers}")
        expect(sum("Warning" in answer.headers for answer in answers) == 3, "contested STOW: three Warnings")
        expect(len(client.search_for_instances(contested.StudyInstanceUID)) == 1,
               "one instance sent with other bytes by four clients at once is stored once")


def raw_request(url, request, wait=True):
    parsed = urllib.parse.urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR) if wait else None
        answer = b""
        while True:
            data = connection.recv(65536)
            if not data:
                break
            answer += data
            if b"\r\n\r\n" in answer and not wait:
                break
    return answer


def check_errors(url, directory):
    for path, status in [("/studies/not-a-uid/series", 400), ("/studies/1.2.3/series/abc", 400),
                         ("/studies?Foo=1", 400), ("/studies?limit=-1", 400), ("/studies?limit=x", 400),
                         ("/studies?StudyDate=2019", 400), ("/studies?00100010.00100020=1", 400),
                         ("/studies?PixelData=1", 400), ("/studies/1.2.3", 404), ("/studies/1.2.3/metadata", 404),
                         ("/studies?offset=9223372036854775807", 400), ("/series?offset=9223372036854775800", 400),
                         ("/instances?offset=99999999999999999999", 400),
                         ("/studies/1.2.3/series/1.2/instances/1.2.3.4/frames/1", 404),
                         ("/studies/1.2.3/series/1.2/instances/1.2.3.4/frames/0", 400),
                         ("/studies/1.2.3/series/1.2/instances/1.2.3.4/frames/x", 400)]:
        response = requests.get(url + path)
        expect(response.status_code == status, f"GET {path}: {response.status_code}, expected {status}")
        expect(response.headers["Content-Type"] == "application/json" and response.json()["message"],
               f"GET {path}: the error has no JSON body")
    ds = files(os.path.join(directory, "archive"))[0][0]
    instance = f"{url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    for path in ["/bulkdata?offset=9223372036854775807&length=1", "/bulkdata?offset=1&length=9223372036854775807",
                 "/bulkdata?offset=-1&length=2", "/frames/1,1"]:
        response = requests.get(instance + path)
        expect(response.status_code == 400, f"GET …{path}: {response.status_code}")
    for target, accept in [(instance + "/metadata", "image/png"), (f"{url}/studies", "application/xml"),
                           (instance, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'),
                           (instance, "text/html")]:
        response = requests.get(target, headers={"Accept": accept})
        expect(response.status_code == 406, f"Accept {accept}: {response.status_code}")
    # Quality values: a refusal is honoured, the most specific range deciding; DICOM JSON goes
    # as application/json to a client that takes only that; a refused multipart form falls back
    # to the bare file.
    series = f"{url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
    for target, accept, status, media in [
            (instance + "/metadata", "application/dicom+json;q=0", 406, None),
            (instance + "/metadata", "application/dicom+json;q=0, application/json", 200, "application/json"),
            (f"{url}/studies", "application/dicom+json;q=0.000, */*", 200, "application/json"),
            (f"{url}/studies", "application/*", 200, "application/dicom+json"),
            (series, 'multipart/related; type="application/dicom";q=0, */*', 406, None),
            (series, "multipart/*", 200, "multipart/related"),
            (instance, "multipart/related;q=0, */*", 200, "application/dicom")]:
        response = requests.get(target, headers={"Accept": accept})
        expect(response.status_code == status
               and (media is None or response.headers.get("Content-Type", "").startswith(media)),
               f"Accept {accept} on {target[len(url):][:40]}…: {response.status_code} "
               f"{response.headers.get('Content-Type')}")
    before = len(requests.get(f"{url}/instances", params={"PatientID": "STOW*"}).json())
    # A body cut short: 400, nothing stored.
    instance_bytes = encoded(new_instance())
    body = b"--b\r\nContent-Type: application/dicom\r\n\r\n" + instance_bytes
    response = requests.post(url + "/studies", data=body,
                             headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=b'})
    expect(response.status_code == 400, f"STOW body without its closing boundary: {response.status_code}")
    for content_type, status in [("application/dicom", 415), ('multipart/related; type="application/dicom"', 400),
                                 ('multipart/related; type="application/dicom+json"; boundary=b', 415)]:
        response = requests.post(url + "/studies", data=b"--b\r\n\r\nx\r\n--b--\r\n",
                                 headers={"Content-Type": content_type})
        expect(response.status_code == status, f"STOW as {content_type}: {response.status_code}")
    after = len(requests.get(f"{url}/instances", params={"PatientID": "STOW*"}).json())
    expect(before == after, "a refused STOW stored something")
    # A 2 GB upload without a boundary is refused from its headers, before its body.
    parsed = urllib.parse.urlparse(url)
    head = (f"POST {parsed.path}/studies HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
            f"Content-Type: multipart/related; type=\"application/dicom\"\r\nContent-Length: {2 << 30}\r\n\r\n")
    answer = raw_request(url, head.encode() + b"x" * 65536, wait=False)
    expect(answer.startswith(b"HTTP/1.1 400"), f"2 GB upload without a boundary: {answer[:40]}")
    # Instances WADO-RS could not address are not stored.
    odd = new_instance()
    odd.SeriesInstanceUID = "1." + "2" * 64
    refused = stow(url, [encoded(odd)])
    expect(refused.status_code == 409 and value(refused.json()["00081198"]["Value"][0], "00081197") == 0xC000,
           f"a series UID of 66 characters: {refused.status_code}")
    expect(requests.get(f"{url}/studies", params={"limit": 1}).status_code == 200, "the server still serves")


def check_operations(url, directory):
    """Credentials (DQL_CHECK_TOKEN, DQL_CHECK_USER as USER:PASSWORD) and CORS."""
    token = os.environ["DQL_CHECK_TOKEN"]
    user, _, password = os.environ["DQL_CHECK_USER"].partition(":")
    response = requests.get(f"{url}/studies")
    expect(response.status_code == 401, f"no credentials: {response.status_code}")
    expect("Basic" in response.headers.get("WWW-Authenticate", "") and "Bearer" in response.headers["WWW-Authenticate"],
           "401 carries the challenges")
    expect(requests.get(f"{url}/studies", headers={"Authorization": "Bearer " + token}).status_code == 200,
           "the bearer token is taken")
    expect(requests.get(f"{url}/studies", headers={"Authorization": "Bearer x" + token}).status_code == 401,
           "a wrong token is refused")
    expect(requests.get(f"{url}/studies", auth=(user, password)).status_code == 200, "basic credentials are taken")
    expect(requests.get(f"{url}/studies", auth=(user, password + "x")).status_code == 401, "a wrong password is refused")
    client = DICOMwebClient(url=url, headers={"Authorization": "Bearer " + token})
    expect(isinstance(client.search_for_studies(), list), "dicomweb-client with a token")
    preflight = requests.options(f"{url}/studies", headers={
        "Origin": "http://viewer.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    expect(preflight.status_code in (200, 204), f"CORS preflight: {preflight.status_code}")
    expect(preflight.headers.get("Access-Control-Allow-Origin") in ("*", "http://viewer.example"),
           f"CORS preflight headers: {dict(preflight.headers)}")
    response = requests.get(f"{url}/studies", headers={"Origin": "http://viewer.example",
                                                        "Authorization": "Bearer " + token})
    expect(response.headers.get("Access-Control-Allow-Origin") is not None, "CORS on a GET")


def comparable(attribute):
    values = attribute.get("Value")
    if values is None:
        return None
    return [round(float(v), 6) if isinstance(v, (int, float)) and attribute.get("vr") in ("DS", "FL", "FD") else v
            for v in values]


def check_orthanc(url, directory):
    """The same QIDO queries to dql and to Orthanc (DQL_CHECK_ORTHANC, its DICOMweb root),
    both holding the archive: the same UIDs come back, with the same values for the
    attributes both return."""
    orthanc = os.environ["DQL_CHECK_ORTHANC"]
    rest = orthanc.rsplit("/dicom-web", 1)[0]
    data = files(os.path.join(directory, "archive"))
    for _, raw in data:
        response = requests.post(f"{rest}/instances", data=raw)
        expect(response.status_code == 200, f"Orthanc refused an instance: {response.text[:200]}")
    first = data[0][0]
    dates = sorted({ds.StudyDate for ds, _ in data})
    queries = [
        ("studies", {}), ("studies", {"PatientID": first.PatientID}), ("studies", {"PatientName": "Patient*"}),
        ("studies", {"PatientName": "*" + str(first.PatientName)[-4:]}),
        ("studies", {"StudyDate": f"{dates[0]}-{dates[len(dates) // 2]}"}), ("studies", {"StudyDate": f"-{dates[1]}"}),
        ("studies", {"StudyDate": f"{dates[1]}-"}), ("studies", {"AccessionNumber": first.AccessionNumber}),
        ("studies", {"StudyInstanceUID": ",".join(sorted({ds.StudyInstanceUID for ds, _ in data})[:2])}),
        ("studies", {"StudyDescription": "CT*"}), ("studies", {"ModalitiesInStudy": "CT"}),
        ("series", {}), ("series", {"Modality": "CT"}), ("series", {"PatientID": first.PatientID}),
        ("series", {"SeriesInstanceUID": first.SeriesInstanceUID}),
        (f"studies/{first.StudyInstanceUID}/series", {}),
        (f"studies/{first.StudyInstanceUID}/series/{first.SeriesInstanceUID}/instances", {}),
        (f"studies/{first.StudyInstanceUID}/instances", {}),
        ("instances", {"SOPInstanceUID": first.SOPInstanceUID}), ("instances", {"PatientID": first.PatientID}),
    ]
    keys = {"studies": "0020000D", "series": "0020000E", "instances": "00080018"}
    for path, params in queries:
        level = path.rsplit("/", 1)[-1]
        key = keys[level]
        # Orthanc 1.10 does not percent-decode query values (PatientName=Patient%2A matches
        # nothing), so the values go as written, as curl would send them.
        query = "&".join(f"{name}={text}" for name, text in params.items())
        mine = requests.get(f"{url}/{path}?{query}")
        theirs = requests.get(f"{orthanc}/{path}?{query}")
        expect(mine.status_code == 200 and theirs.status_code == 200,
               f"{path} {params}: dql {mine.status_code}, Orthanc {theirs.status_code}")
        ours = {value(item, key): item for item in mine.json()}
        peers = {value(item, key): item for item in theirs.json()}
        expect(set(ours) == set(peers), f"{path} {params}: dql returns {sorted(ours)}, Orthanc {sorted(peers)}")
        for uid, item in ours.items():
            peer = peers[uid]
            for tag in set(item) & set(peer) - {"00081190"}:
                expect(comparable(item[tag]) == comparable(peer[tag]),
                       f"{path} {params}: {uid} {tag} is {item[tag]} from dql, {peer[tag]} from Orthanc")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "prepare":
        prepare(sys.argv[2])
        return
    if len(sys.argv) != 5 or sys.argv[1] != "check":
        print(__doc__)
        sys.exit(2)
    url, directory, group = sys.argv[2], sys.argv[3], sys.argv[4]
    globals()[f"check_{group}"](url, directory)
    print(f"ok {group}: {checks} checks")


if __name__ == "__main__":
    main()

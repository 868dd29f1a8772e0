#!/usr/bin/env python3
"""Writes a synthetic DICOM archive with pydicom, for benchmarks and tests.

patients × studies × series × instances CT slices of ROWS×COLS random 16-bit pixels, with the
header a CT scanner writes (patient, study, series and instance attributes, geometry, rescale),
laid out as OUT/P<p>/S<s>/SE<e>/IM<i>.dcm. With --tiny N, also N tiny instances (a 16×16 image
each, about 1.4 KB) in OUT/tiny/, spread over patients and studies as well.

Usage: generate_archive.py OUT [--patients 4] [--studies 5] [--series 5] [--instances 20]
                               [--rows 256] [--cols 256] [--tiny 0] [--seed 1]
Prints one JSON line: {"files": N, "bytes": B}
"""
import argparse
import json
import os
import random

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

ROOT = "1.2.826.0.1.3680043.8.498."


def instance(patient, study, series, number, rows, cols, pixels, rng):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(ROOT)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate = study["date"]
    ds.SeriesDate = study["date"]
    ds.StudyTime = "101500"
    ds.AccessionNumber = study["accession"]
    ds.Modality = "CT"
    ds.Manufacturer = "SYNTHETIC"
    ds.InstitutionName = "General Hospital"
    ds.ReferringPhysicianName = "Doe^John"
    ds.StudyDescription = study["description"]
    ds.SeriesDescription = series["description"]
    ds.PatientName = patient["name"]
    ds.PatientID = patient["id"]
    ds.PatientBirthDate = patient["birth"]
    ds.PatientSex = patient["sex"]
    ds.BodyPartExamined = series["body"]
    ds.SliceThickness = series["thickness"]
    ds.KVP = "120"
    ds.ProtocolName = series["protocol"]
    ds.StudyInstanceUID = study["uid"]
    ds.SeriesInstanceUID = series["uid"]
    ds.StudyID = study["id"]
    ds.SeriesNumber = series["number"]
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [-125.0, -125.0, float(number) * float(series["thickness"])]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.FrameOfReferenceUID = study["frame"]
    ds.SliceLocation = float(number) * float(series["thickness"])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = [0.9765625, 0.9765625]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.PixelData = pixels(rng, rows, cols)
    return ds


def random_pixels(rng, rows, cols):
    return rng.randbytes(rows * cols * 2)


def write_tree(out, patients, studies, series_count, instances, rows, cols, rng, prefix, seed):
    written, size = 0, 0
    for p in range(patients):
        patient = {
            "name": f"Patient^{prefix}{p:04d}", "id": f"{prefix}{p:06d}",
            "birth": f"19{random.Random(seed + p).randint(30, 99)}0101", "sex": "FM"[p % 2],
        }
        for s in range(studies):
            study = {
                "uid": generate_uid(ROOT), "frame": generate_uid(ROOT), "id": str(s + 1),
                "date": f"20{18 + (s % 6)}{1 + (p + s) % 12:02d}{1 + s % 28:02d}",
                "accession": f"A{prefix}{p:04d}{s:03d}", "description": ["CT CHEST", "CT HEAD", "CT ABDOMEN"][s % 3],
            }
            for e in range(series_count):
                series = {
                    "uid": generate_uid(ROOT), "number": e + 1, "thickness": ["1.0", "2.5", "5.0"][e % 3],
                    "description": f"AXIAL {['1.0', '2.5', '5.0'][e % 3]}", "body": ["CHEST", "HEAD", "ABDOMEN"][s % 3],
                    "protocol": ["Routine Chest", "Routine Brain", "Abdomen Contrast"][s % 3],
                }
                directory = os.path.join(out, f"P{p:04d}", f"S{s:03d}", f"SE{e:03d}")
                os.makedirs(directory, exist_ok=True)
                for i in range(instances):
                    ds = instance(patient, study, series, i + 1, rows, cols, random_pixels, rng)
                    path = os.path.join(directory, f"IM{i:05d}.dcm")
                    ds.save_as(path, enforce_file_format=True)
                    written += 1
                    size += os.path.getsize(path)
    return written, size


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--patients", type=int, default=4)
    parser.add_argument("--studies", type=int, default=5)
    parser.add_argument("--series", type=int, default=5)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--cols", type=int, default=256)
    parser.add_argument("--tiny", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    files, size = 0, 0
    if args.patients * args.studies * args.series * args.instances > 0:
        files, size = write_tree(
            args.out, args.patients, args.studies, args.series, args.instances, args.rows, args.cols, rng, "P",
            args.seed)
    if args.tiny > 0:
        # 20 instances a series, 10 series a study, 5 studies a patient.
        per_patient = 5 * 10 * 20
        patients = (args.tiny + per_patient - 1) // per_patient
        tiny_files, tiny_size = 0, 0
        out = os.path.join(args.out, "tiny")
        remaining = args.tiny
        for p in range(patients):
            count = min(per_patient, remaining)
            studies = (count + 199) // 200
            for s in range(studies):
                in_study = min(200, count - s * 200)
                n, b = write_tree(
                    os.path.join(out, f"T{p:05d}", f"S{s:02d}"), 1, 1, (in_study + 19) // 20, 20, 16, 16, rng,
                    f"T{p:05d}", args.seed + p)
                tiny_files += n
                tiny_size += b
            remaining -= count
        files += tiny_files
        size += tiny_size
    print(json.dumps({"files": files, "bytes": size}))


if __name__ == "__main__":
    main()

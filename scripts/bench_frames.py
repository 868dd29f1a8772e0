#!/usr/bin/env python3
"""The baseline of `dql-bench frames`: every frame of the given files decoded by pydicom
(pixel_array; JPEG 2000 through pylibjpeg-openjpeg) and windowed to 8 bits with numpy as a
viewer does, ROUNDS times. Files are read into memory first (as dql decodes from memory).

Usage: bench_frames.py ROUNDS FILE...
Prints one JSON line: {"seconds": [per round], "frames": frames a round}
"""
import io
import json
import sys
import time

import numpy
import pydicom


def picture(ds, frame):
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    values = frame.astype(numpy.float64) * slope + intercept
    low, high = values.min(), values.max()
    center, width = (low + high) / 2 + 0.5, max(high - low + 1, 2)
    return numpy.clip(numpy.rint(((values - (center - 0.5)) / (width - 1) + 0.5) * 255), 0, 255).astype(numpy.uint8)


def main():
    rounds = int(sys.argv[1])
    blobs = [open(path, "rb").read() for path in sys.argv[2:]]
    seconds, frames = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        frames = 0
        for blob in blobs:
            ds = pydicom.dcmread(io.BytesIO(blob))
            array = ds.pixel_array
            count = int(ds.get("NumberOfFrames", 1) or 1)
            if count == 1:
                array = array[numpy.newaxis, ...]
            for frame in array:
                if int(ds.get("SamplesPerPixel", 1)) == 1:
                    picture(ds, frame)
                frames += 1
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": seconds, "frames": frames}))


if __name__ == "__main__":
    main()

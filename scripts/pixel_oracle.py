#!/usr/bin/env python3
"""pydicom's decoded frames of every corpus file with native (uncompressed) or JPEG 2000 pixel
data (decoded by pylibjpeg-openjpeg), JPEG, JPEG-LS (pylibjpeg-libjpeg) or RLE pixel data, for
the tests of DicomImage.

For each file: its frames as int32 samples (pixel by pixel, samples interleaved), as the
SHA-256 of their little-endian bytes, and for the first frame of grey images the 8-bit
picture a viewer shows (rescale, the header's first window or the frame's range, MONOCHROME1
inverted) computed with numpy, also as a SHA-256; for palette colour images, the RGB picture
of pydicom's apply_color_lut.

Usage: pixel_oracle.py FILE...
Prints one JSON object: {path: {"frames": [sha…], "picture": sha|null} or {"error": text}}
"""
import hashlib
import json
import os
import sys
import tempfile

import numpy
import pydicom
from pydicom.pixels import apply_color_lut

DECODED = {
    "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
    # JPEG lossless (processes 14 and 14 SV1), JPEG-LS lossless and RLE: exact.
    "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.5",
}
# Lossy JPEG (baseline, extended) and JPEG-LS near-lossless: decoders may differ by a little, so
# their samples are written out whole for a comparison with a tolerance.
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81"}


def picture(ds, frame):
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    values = frame.astype(numpy.float64) * slope + intercept
    center = ds.get("WindowCenter")
    width = ds.get("WindowWidth")
    if center is not None and width is not None:
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
    if center is None or width is None or width <= 0:
        low = float(frame.min()) * slope + intercept
        high = float(frame.max()) * slope + intercept
        center = (low + high) / 2 + 0.5
        width = max(abs(high - low) + 1, 2)
    lower = center - 0.5 - (width - 1) / 2
    upper = center - 0.5 + (width - 1) / 2
    scaled = numpy.clip(numpy.rint(((values - (center - 0.5)) / max(width - 1, 1) + 0.5) * 255), 0, 255)
    shown = numpy.where(values <= lower, 0, numpy.where(values > upper, 255, scaled)).astype(numpy.uint8)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        shown = 255 - shown
    return hashlib.sha256(shown.tobytes()).hexdigest()


def palette_picture(ds, frame):
    """The 8-bit RGB picture of a PALETTE COLOR frame: pydicom's apply_color_lut, 16-bit
    entries keeping their upper byte. pydicom reads the OW table data of a big endian file as
    little endian words; the words are put in the file's order first."""
    if not ds.file_meta.TransferSyntaxUID.is_little_endian:
        for colour in ("Red", "Green", "Blue"):
            keyword = f"{colour}PaletteColorLookupTableData"
            if keyword in ds:
                ds[keyword].value = numpy.frombuffer(ds[keyword].value, ">u2").astype("<u2").tobytes()
    rgb = apply_color_lut(frame, ds)
    if rgb.dtype == numpy.uint16:
        rgb = rgb >> 8
    return hashlib.sha256(rgb.astype(numpy.uint8).tobytes()).hexdigest()


def main():
    result = {}
    for path in sys.argv[1:]:
        try:
            ds = pydicom.dcmread(path)
            syntax = str(ds.file_meta.TransferSyntaxUID)
            if "PixelData" not in ds or syntax not in DECODED | LOSSY:
                continue
            array = ds.pixel_array
            frames = int(ds.get("NumberOfFrames", 1) or 1)
            if frames == 1:
                array = array[numpy.newaxis, ...]
            hashes = [hashlib.sha256(f.astype("<i4").tobytes()).hexdigest() for f in array]
            grey = int(ds.get("SamplesPerPixel", 1)) == 1
            if ds.PhotometricInterpretation == "PALETTE COLOR":
                shown = palette_picture(ds, array[0])
            else:
                shown = picture(ds, array[0]) if grey else None
            result[path] = {
                "frames": hashes, "picture": shown,
                "syntax": syntax,
            }
            if syntax in LOSSY:
                raw = os.path.join(
                    tempfile.gettempdir(), "dql-pixel-oracle-" + hashlib.sha256(path.encode()).hexdigest()[:16])
                with open(raw, "wb") as f:
                    f.write(array.astype("<i4").tobytes())
                result[path]["lossy"] = raw
        except Exception as error:  # noqa: BLE001
            result[path] = {"error": f"{type(error).__name__}: {error}"}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

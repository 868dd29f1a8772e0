#!/usr/bin/env python3
"""pydicom's side of `dql-bench dicom`: reads the metadata of the given files ROUNDS times and
prints one JSON line with files per second.

Usage: bench_pydicom.py ROUNDS [--touch] FILE...
  --touch  also convert every element's value (pydicom decodes lazily; DicomCore does not)
"""
import json
import sys
import time
import warnings

import pydicom


def main():
    rounds = int(sys.argv[1])
    touch = "--touch" in sys.argv[2:]
    files = [f for f in sys.argv[2:] if f != "--touch"]
    warnings.simplefilter("ignore")
    read = failed = 0
    start = time.perf_counter()
    for _ in range(rounds):
        for path in files:
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
                if touch:
                    for element in ds.iterall():
                        element.value
                read += 1
            except Exception:  # noqa: BLE001 - a file pydicom cannot read still costs its time
                failed += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"files": read + failed, "failed": failed, "seconds": elapsed,
                      "filesPerSecond": (read + failed) / elapsed}))


if __name__ == "__main__":
    main()

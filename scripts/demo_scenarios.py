#!/usr/bin/env python3
"""The demo notebook's scenarios 2 and 3 with redis-py, the baseline for `dql-bench scenarios`.

Loads the given DICOM files into Redis the way the notebook did: a RedisJSON document
`<prefix>file:<basename>` with imageName, protocolName (whitespace runs collapsed), patientSex,
studyDate, manufacturer (upper-cased) and the list of its chunk keys; 5 KB chunks as strings
`<prefix>chunk:file:<basename>:<i>`; index `FT.CREATE <prefix>idx ON JSON PREFIX 1 <prefix>file:`
with the notebook's schema (protocolName TEXT, patientSex TAG, studyDate TAG, manufacturer TEXT).
Files pydicom cannot read strictly, or that lack an attribute, are skipped, as the notebook did.

Then times, RUNS times each:
  scenario 2: FT.SEARCH "@protocolName:194 @studyDate:{2019*}", then the file's chunks fetched
              with asyncio.gather over GETs (the notebook's method) and joined;
  scenario 3: FT.AGGREGATE … GROUPBY @protocolName REDUCE COUNT … SORTBY count DESC.

Usage: demo_scenarios.py URL PREFIX RUNS FILE...
Prints one JSON line: {"scenario2": [seconds…], "scenario3": [seconds…], "files": N, "bytes2": B}
"""
import asyncio
import json
import os
import re
import sys
import time

import pydicom
import redis
import redis.asyncio as aredis

CHUNK = 5 * 1024


def main():
    url, prefix, runs, paths = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    client = redis.Redis.from_url(url)
    loaded = 0
    for path in paths:
        try:
            ds = pydicom.dcmread(path)
            document = {
                "imageName": os.path.basename(path),
                "protocolName": re.sub(r"\s+", " ", str(ds.ProtocolName)).strip(),
                "patientSex": str(ds.PatientSex),
                "studyDate": str(ds.StudyDate),
                "manufacturer": str(ds.Manufacturer).upper(),
            }
        except Exception:
            continue
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path)
        keys = []
        for i in range(0, len(data), CHUNK):
            key = f"{prefix}chunk:file:{name}:{i // CHUNK}"
            client.set(key, data[i:i + CHUNK])
            keys.append(key)
        document["chunks"] = keys
        client.json().set(f"{prefix}file:{name}", "$", document)
        loaded += 1
    index = f"{prefix}idx"
    client.execute_command(
        "FT.CREATE", index, "ON", "JSON", "PREFIX", "1", f"{prefix}file:", "SCHEMA",
        "$.protocolName", "AS", "protocolName", "TEXT", "$.patientSex", "AS", "patientSex", "TAG",
        "$.studyDate", "AS", "studyDate", "TAG", "$.manufacturer", "AS", "manufacturer", "TEXT")
    while True:
        info = client.execute_command("FT.INFO", index)
        fields = dict(zip(info[::2], info[1::2]))
        if int(fields.get(b"indexing", 0)) == 0:
            break
        time.sleep(0.01)

    async_client = aredis.Redis.from_url(url, max_connections=50)
    loop = asyncio.new_event_loop()

    async def scenario2():
        found = await async_client.execute_command(
            "FT.SEARCH", index, "@protocolName:194 @studyDate:{2019*}", "DIALECT", "2")
        key = found[1]
        chunks = json.loads(await async_client.execute_command("JSON.GET", key, "$.chunks"))[0]
        parts = await asyncio.gather(*(async_client.get(chunk) for chunk in chunks))
        return b"".join(parts)

    def scenario3():
        return client.execute_command(
            "FT.AGGREGATE", index, "*", "GROUPBY", "1", "@protocolName", "REDUCE", "COUNT", "0", "AS", "count",
            "SORTBY", "2", "@count", "DESC", "MAX", "100", "DIALECT", "2")

    times2, times3 = [], []
    data2 = loop.run_until_complete(scenario2())  # warm up the connections
    scenario3()
    for _ in range(runs):
        start = time.perf_counter()
        data2 = loop.run_until_complete(scenario2())
        times2.append(time.perf_counter() - start)
        start = time.perf_counter()
        scenario3()
        times3.append(time.perf_counter() - start)
    loop.run_until_complete(async_client.aclose())
    loop.close()

    client.execute_command("FT.DROPINDEX", index, "DD")
    for key in client.scan_iter(f"{prefix}*", count=1000):
        client.delete(key)
    print(json.dumps({"scenario2": times2, "scenario3": times3, "files": loaded, "bytes2": len(data2)}))


if __name__ == "__main__":
    main()

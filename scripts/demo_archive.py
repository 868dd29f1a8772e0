#!/usr/bin/env python3
"""The demo notebook's method applied to an archive of many files: the baseline for
`dql-bench archive`.

Load, one file after the other (the notebook's serial loop): read the file, read its header
with pydicom (stop_before_pixels) for the document's fields, one SET per chunk (CHUNK bytes,
no pipelining), then the file's RedisJSON document with its chunk keys.
Fetch-all, one file after the other: the document's chunk keys, then the chunks with
asyncio.gather over GETs (the notebook's method), joined and written to OUT.
Both are timed; the bytes are compared outside the timing, and the keys deleted.

Usage: demo_archive.py URL PREFIX DIR OUT CHUNK [--no-fetch]
Prints one JSON line: {"loadSeconds": …, "fetchSeconds": …, "files": N, "bytes": B, "verified": true}
"""
import asyncio
import io
import json
import os
import sys
import time

import pydicom
import redis
import redis.asyncio as aredis


def main():
    url, prefix, root, out, chunk = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    fetch_too = "--no-fetch" not in sys.argv
    paths = []
    for directory, _, names in os.walk(root):
        paths += [os.path.join(directory, name) for name in sorted(names) if not name.startswith(".")]
    paths.sort()
    client = redis.Redis.from_url(url)
    documents = []
    size = 0
    start = time.perf_counter()
    for number, path in enumerate(paths):
        with open(path, "rb") as f:
            data = f.read()
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        keys = []
        for i in range(0, len(data), chunk):
            key = f"{prefix}chunk:{number}:{i // chunk}"
            client.set(key, data[i:i + chunk])
            keys.append(key)
        document = {
            "imageName": os.path.basename(path), "patientId": str(ds.get("PatientID", "")),
            "studyUid": str(ds.get("StudyInstanceUID", "")), "modality": str(ds.get("Modality", "")),
            "chunks": keys,
        }
        key = f"{prefix}file:{number}"
        client.json().set(key, "$", document)
        documents.append((key, path))
        size += len(data)
    load_seconds = time.perf_counter() - start

    fetch_seconds = 0.0
    verified = True
    if fetch_too:
        os.makedirs(out, exist_ok=True)
        async_client = aredis.Redis.from_url(url, max_connections=50)
        loop = asyncio.new_event_loop()

        async def fetch_all():
            for number, (key, _) in enumerate(documents):
                chunks = json.loads(await async_client.execute_command("JSON.GET", key, "$.chunks"))[0]
                parts = await asyncio.gather(*(async_client.get(chunk_key) for chunk_key in chunks))
                with open(os.path.join(out, f"{number}.dcm"), "wb") as f:
                    f.write(b"".join(parts))

        start = time.perf_counter()
        loop.run_until_complete(fetch_all())
        fetch_seconds = time.perf_counter() - start
        loop.run_until_complete(async_client.aclose())
        loop.close()
        for number, (_, path) in enumerate(documents):
            with open(path, "rb") as a, open(os.path.join(out, f"{number}.dcm"), "rb") as b:
                if a.read() != b.read():
                    verified = False

    keys = [key for key, _ in documents]
    for start_index in range(0, len(keys), 1000):
        client.delete(*keys[start_index:start_index + 1000])
    for batch in client.scan_iter(match=f"{prefix}chunk:*", count=1000):
        client.delete(batch)
    print(json.dumps({"loadSeconds": load_seconds, "fetchSeconds": fetch_seconds, "files": len(paths),
                      "bytes": size, "verified": verified}))


if __name__ == "__main__":
    main()

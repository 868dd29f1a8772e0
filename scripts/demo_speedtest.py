#!/usr/bin/env python3
"""The demo notebook's speed test, reproduced as the baseline for `dql-bench transfer`.

Load: one SET per chunk, no pipelining. Fetch: waves of `asyncio.gather` over GETs, as many as
there are "connections", each wave waiting for its slowest GET; the chunks are joined in memory
and then written to disk. Integrity is checked by a byte compare, outside the timings.

Usage: demo_speedtest.py URL FILE CHUNK_BYTES CONNECTIONS OUTPUT
Prints one JSON line: {"loadSeconds": …, "fetchSeconds": …, "bytes": …, "verified": true}
"""
import asyncio
import json
import sys
import time

import redis
import redis.asyncio as aredis


def main():
    url, path, chunk, connections, output = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    with open(path, "rb") as f:
        data = f.read()
    count = (len(data) + chunk - 1) // chunk
    keys = [f"demo:chunk:file:{i}" for i in range(count)]
    client = redis.Redis.from_url(url)

    start = time.perf_counter()
    for i, key in enumerate(keys):
        client.set(key, data[i * chunk:(i + 1) * chunk])
    load_seconds = time.perf_counter() - start

    async def fetch():
        pool = aredis.ConnectionPool.from_url(url, max_connections=connections)
        async_client = aredis.Redis(connection_pool=pool)
        parts = []
        for first in range(0, count, connections):
            wave = keys[first:first + connections]
            parts.extend(await asyncio.gather(*(async_client.get(key) for key in wave)))
        await pool.disconnect()
        return b"".join(parts)

    # The notebook awaited inside an event loop that was already running; creating and tearing
    # down a loop is not part of its method (asyncio.run's teardown after a large fetch takes
    # seconds here), so the loop lives outside the timing.
    loop = asyncio.new_event_loop()
    start = time.perf_counter()
    fetched = loop.run_until_complete(fetch())
    with open(output, "wb") as f:
        f.write(fetched)
    fetch_seconds = time.perf_counter() - start
    loop.close()

    verified = fetched == data
    client.delete(*keys)
    print(json.dumps({"loadSeconds": load_seconds, "fetchSeconds": fetch_seconds, "bytes": len(data), "verified": verified}))


if __name__ == "__main__":
    main()

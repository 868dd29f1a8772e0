#!/usr/bin/env python3
"""Reads an 8-bit grey or RGB PNG without any imaging library (zlib and CRC checks by Python's
own modules), for the tests of dql's PNG writer. Prints: WIDTH HEIGHT then every sample (three
a pixel for RGB)."""
import binascii
import struct
import sys
import zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
position, chunks = 8, []
while position < len(data):
    (length,) = struct.unpack(">I", data[position:position + 4])
    kind = data[position + 4:position + 8]
    body = data[position + 8:position + 8 + length]
    (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
    assert binascii.crc32(kind + body) == crc, f"CRC of {kind}"
    chunks.append((kind, body))
    position += 12 + length
width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
assert chunks[0][0] == b"IHDR" and depth == 8 and colour in (0, 2)
channels = 3 if colour == 2 else 1
stride = width * channels + 1
raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
assert len(raw) == stride * height, "length"
pixels = []
for row in range(height):
    line = raw[row * stride:(row + 1) * stride]
    assert line[0] == 0, "filter"
    pixels += list(line[1:])
print(width, height, *pixels)

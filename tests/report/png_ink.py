#!/usr/bin/env python3
"""Prints "WIDTH HEIGHT INK" for a PNG: INK is the fraction of pixels that are
not near-white (any channel below 235). Decodes 8-bit greyscale / RGB / RGBA
PNGs with zlib only (no PIL), undoing the five scanline filters."""
import struct
import sys
import zlib


def main(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, width, height, channels = 8, [], 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace:
                sys.exit(f"{path}: bit depth {depth} / interlace {interlace} not supported")
            channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color, 0)
            if not channels:
                sys.exit(f"{path}: colour type {color} not supported")
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    prev = bytearray(stride)
    ink = 0
    colour = min(channels, 3)  # ignore alpha
    for y in range(height):
        start = y * (stride + 1)
        f, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if f == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = prev[i], prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        # Count pixels with a dark channel: bytes below 235 at colour positions.
        if min(line) < 235:
            for x in range(0, stride, channels):
                if min(line[x:x + colour]) < 235:
                    ink += 1
        prev = line
    print(width, height, f"{ink / (width * height):.5f}")


if __name__ == "__main__":
    main(sys.argv[1])

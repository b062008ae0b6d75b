#!/usr/bin/python3
"""Lists or extracts the images of the CUDA fatbins in a file (a raw fatbin,
or a host ELF such as model.so that embeds them). The CUDA 13 toolkit here
has no cuobjdump, so the tests read the format themselves:

  fatbin header: u32 magic 0xBA55ED50, u16 version, u16 header size,
                 u64 size of the images that follow;
  each image:    u16 kind (1 PTX, 2 ELF), u16 version, u32 header size,
                 u64 payload size, ..., u32 sm (e.g. 80) at offset 28,
                 u64 flags at offset 40; the payload follows the header.

usage: fatbin.py list FILE           one line per image: "elf sm_80 20000"
       fatbin.py extract FILE DIR    writes each ELF image to DIR/sm_XX.cubin
"""

import os
import struct
import sys

MAGIC = 0xBA55ED50
KINDS = {1: "ptx", 2: "elf"}


def fatbins(data):
    """Yields (offset, [(kind, sm, payload)]) for every fatbin in `data`."""
    start = 0
    magic = struct.pack("<I", MAGIC)
    while True:
        at = data.find(magic, start)
        if at < 0:
            return
        start = at + 4
        if at + 16 > len(data):
            continue
        _, version, header, size = struct.unpack_from("<IHHQ", data, at)
        if version != 1 or header != 16 or at + header + size > len(data):
            continue
        images = []
        off, end = at + header, at + header + size
        ok = True
        while off < end:
            if off + 48 > end:
                ok = False
                break
            kind, _, ihead, payload = struct.unpack_from("<HHIQ", data, off)
            sm = struct.unpack_from("<I", data, off + 28)[0]
            if kind not in KINDS or off + ihead + payload > end:
                ok = False
                break
            images.append((KINDS[kind], sm,
                           data[off + ihead:off + ihead + payload]))
            off += ihead + payload
        if ok and images:
            yield at, images
            start = end


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("list", "extract"):
        print(__doc__, file=sys.stderr)
        return 2
    data = open(sys.argv[2], "rb").read()
    found = list(fatbins(data))
    if not found:
        print("no fatbin in " + sys.argv[2], file=sys.stderr)
        return 1
    for _, images in found:
        print("fatbin: %d images" % len(images))
        for kind, sm, payload in images:
            if sys.argv[1] == "list":
                print("%s sm_%d %d" % (kind, sm, len(payload)))
            elif kind == "elf":
                path = os.path.join(sys.argv[3], "sm_%d.cubin" % sm)
                with open(path, "wb") as f:
                    f.write(payload)
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

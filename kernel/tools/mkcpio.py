#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a cpio "newc" archive (the Linux initramfs format) of the given
files, each stored under its base name: mkcpio.py OUT FILE..."""
import os
import sys


def entry(name: str, data: bytes, ino: int, mode: int = 0o100644) -> bytes:
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
    header = b"070701" + b"".join(b"%08x" % f for f in fields)
    out = header + name_b
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def main() -> None:
    out, files = sys.argv[1], sys.argv[2:]
    blob = b"".join(entry(os.path.basename(f), open(f, "rb").read(), i + 1) for i, f in enumerate(files))
    blob += entry("TRAILER!!!", b"", 0, 0)
    with open(out + ".tmp", "wb") as f:
        f.write(blob)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()

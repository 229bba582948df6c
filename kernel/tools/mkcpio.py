#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a cpio "newc" boot archive of the given files, each stored under its base name:
mkcpio.py OUT FILE... The format is labkit's (labkit/cpio.py, the tree's one writer), loaded
from this checkout so that the build needs no installed labkit."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labkit.cpio import write_archive  # noqa: E402


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: mkcpio.py OUT FILE...")
    write_archive(sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()

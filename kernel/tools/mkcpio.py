#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a cpio "newc" boot archive of the given files, each stored under its base name:
mkcpio.py OUT FILE... The format is labkit's (labkit/cpio.py, the tree's one writer): from
the checkout this file is in, else from the labkit installed for this Python (a copy of the
kernel tree is built with make PYTHON=<labkit's python>)."""
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
if (CHECKOUT / "labkit" / "cpio.py").is_file():
    sys.path.insert(0, str(CHECKOUT))
try:
    from labkit.cpio import write_archive
except ImportError as exc:
    sys.exit(f"mkcpio.py: labkit is needed to write boot archives ({exc}); run make from the "
             "lab's checkout, or with PYTHON= a Python that has labkit installed")


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: mkcpio.py OUT FILE...")
    write_archive(sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()

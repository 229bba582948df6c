#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes the malformed apps that test the dynamic linker's error paths from a
good one: corrupt_elf.py class|machine|truncate IN OUT.
  class     EI_CLASS says 32-bit (ELFCLASS32)
  machine   e_machine says AArch64 (183)
  truncate  the file is cut after 40% of its bytes (headers intact, segments cut)"""
import sys

kind, src, dst = sys.argv[1:4]
data = bytearray(open(src, "rb").read())
if kind == "class":
    data[4] = 1
elif kind == "machine":
    data[18:20] = (183).to_bytes(2, "little")
elif kind == "truncate":
    data = data[: len(data) * 2 // 5]
else:
    sys.exit(f"unknown corruption {kind!r}")
open(dst, "wb").write(bytes(data))

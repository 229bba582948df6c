#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Damaged copies of an ELF shared object, for fuzzing the kernel's loader.

damaged_copies(data, n, seed) yields (label, bytes) pairs: the file cut at many
points, and 1-3 bytes changed inside one region the loader reads: the ELF
header, the program headers, the dynamic section, the dynamic symbol table,
the string table and the relocation tables. The same seed gives the same
copies. As a script: mutate.py FILE N SEED OUTDIR writes N copies."""
from __future__ import annotations

import os
import random
import struct
import sys
from collections.abc import Iterator

INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x10, 0x40)


def regions(data: bytes) -> dict[str, tuple[int, int]]:
    """File ranges (start, end) of the parts the loader reads."""
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHH", data, 56)
    out = {"ehdr": (0, 64), "phdrs": (phoff, phoff + phnum * 56)}
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * 56)
        if p_type == 2:
            out["dynamic"] = (p_offset, p_offset + p_filesz)
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_off = sections[shstrndx][4]
    for sh_name, _, _, _, offset, size in sections:
        name = data[names_off + sh_name:data.index(b"\0", names_off + sh_name)].decode()
        if name in (".dynsym", ".dynstr", ".rela.dyn", ".rela.plt", ".gnu.hash", ".hash") and size:
            out[name.lstrip(".")] = (offset, offset + size)
    return out


def damaged_copies(data: bytes, n: int, seed: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    parts = regions(data)
    names = sorted(parts)
    for i in range(n):
        if i % 5 == 0:                          # one in five: cut the file short
            cut = rng.randrange(0, len(data))
            yield f"cut@{cut}", data[:cut]
            continue
        region = names[i % len(names)]
        start, end = parts[region]
        copy = bytearray(data)
        changes = []
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(start, end)
            copy[at] = rng.choice(INTERESTING) if rng.random() < 0.5 else rng.randrange(256)
            changes.append(f"{at:#x}={copy[at]:#04x}")
        yield f"{region}:{','.join(changes)}", bytes(copy)


def main() -> None:
    src, n, seed, outdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    os.makedirs(outdir, exist_ok=True)
    data = open(src, "rb").read()
    for i, (label, copy) in enumerate(damaged_copies(data, n, seed)):
        with open(os.path.join(outdir, f"{i:05d}.so"), "wb") as f:
            f.write(copy)
        print(f"{i:05d}.so {label}")


if __name__ == "__main__":
    main()

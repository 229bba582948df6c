# SPDX-License-Identifier: MIT
"""A few bytes of 32-bit code wrapped in an ELF that QEMU boots through the PVH note.

This is the smallest "kernel" that boots the way ours does. labkit uses it as the baseline of
the boot benchmark (a kernel that exits at its first instruction shows what QEMU itself costs)
and the tests use it to drive a real QEMU before the real kernel exists.

The file holds: the ELF header, two program headers (one ``PT_LOAD`` of the whole file at
physical 0x100000, one ``PT_NOTE``), the Xen note of type 18 (``XEN_ELFNOTE_PHYS32_ENTRY``)
whose 8-byte descriptor holds the 32-bit entry address, then the code. At the PVH entry the CPU
is in flat 32-bit protected mode, so ``rep outsb`` can write a message to a serial port and
``out 0xf4, al`` ends QEMU through ``isa-debug-exit`` with status ``(al << 1) | 1``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["tiny_kernel", "write_tiny_kernel"]

LOAD_ADDR = 0x100000
COM1, COM2 = 0x3F8, 0x2F8
_EHDR, _PHDR = 64, 56
_NOTE = struct.pack("<III4sQ", 4, 8, 18, b"Xen\0", 0)  # entry patched below


def _print(port: int, addr: int, length: int) -> bytes:
    return (b"\xbe" + struct.pack("<I", addr)          # mov esi, addr
            + b"\xb9" + struct.pack("<I", length)      # mov ecx, length
            + b"\x66\xba" + struct.pack("<H", port)    # mov dx, port
            + b"\xf3\x6e")                             # rep outsb


def tiny_kernel(exit_value: int | None = 0, com1: bytes = b"", com2: bytes = b"",
                spin: bool = False) -> bytes:
    """The bytes of a PVH-bootable ELF that prints ``com1``/``com2``, then spins forever if
    ``spin``, else exits QEMU with ``exit_value`` (QEMU status ``(v << 1) | 1``), else halts."""
    code_off = _EHDR + 2 * _PHDR + len(_NOTE)
    # First pass with placeholder data addresses to learn the code size.
    def code_for(data_addr: int) -> bytes:
        code = b""
        addr = data_addr
        for port, text in ((COM1, com1), (COM2, com2)):
            if text:
                code += _print(port, addr, len(text))
                addr += len(text)
        if spin:
            code += b"\xeb\xfe"                                     # jmp .
        if exit_value is not None:
            code += b"\xb0" + bytes([exit_value & 0xFF]) + b"\xe6\xf4"  # mov al, v; out 0xf4, al
        code += b"\xfa\xf4\xeb\xfd"                                 # cli; hlt; jmp hlt
        return code

    size = len(code_for(0))
    data_addr = LOAD_ADDR + code_off + size
    code = code_for(data_addr)
    body = code + com1 + com2
    total = code_off + len(body)
    entry = LOAD_ADDR + code_off
    ehdr = struct.pack(
        "<16sHHIQQQIHHHHHH",
        b"\x7fELF\x02\x01\x01" + b"\0" * 9,  # ELF64, little-endian, version 1
        2, 62, 1,                            # ET_EXEC, EM_X86_64, EV_CURRENT
        entry, _EHDR, 0,                     # e_entry, e_phoff, e_shoff
        0, _EHDR, _PHDR, 2, 64, 0, 0)        # flags, ehsize, phentsize, phnum, shentsize...
    load = struct.pack("<IIQQQQQQ", 1, 7, 0, LOAD_ADDR, LOAD_ADDR, total, total, 0x1000)
    note = struct.pack("<IIQQQQQQ", 4, 4, _EHDR + 2 * _PHDR, LOAD_ADDR + _EHDR + 2 * _PHDR,
                       LOAD_ADDR + _EHDR + 2 * _PHDR, len(_NOTE), len(_NOTE), 4)
    note_bytes = struct.pack("<III4sQ", 4, 8, 18, b"Xen\0", entry)
    return ehdr + load + note + note_bytes + body


def write_tiny_kernel(path: str | os.PathLike[str], **kwargs: object) -> Path:
    """Write :func:`tiny_kernel` (same keyword arguments) to ``path``; returns the path."""
    out = Path(path)
    out.write_bytes(tiny_kernel(**kwargs))  # type: ignore[arg-type]
    return out

# SPDX-License-Identifier: MIT
"""Lesson 01: an app's imports, the GOT slot each one goes through, and where it lands.

An app is a shared object with undefined symbols (``printf``, ``write``). Each call goes
through the PLT to a slot of the GOT; the kernel's dynamic linker fills the slot with the
address of the kernel function of that name (eager binding: no lazy resolution). This module
computes, from the files alone, what the linker will do: the slot's address once the app is
loaded at its base, the value the slot holds in the file (before relocation) and the kernel
address it will hold after.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .. import memlayout, paths
from ..elf import ElfImage, bind_imports, load_elf

__all__ = ["ImportRow", "import_rows", "got_slot", "app_base_default", "PltCall",
           "plt_calls"]


def app_base_default() -> int:
    """Where the kernel loads every app (``APP_BASE`` of memlayout.h)."""
    return memlayout.app_area_start() or 0x10000000000


@dataclass(frozen=True)
class ImportRow:
    """One undefined symbol of an app and its binding."""

    name: str
    relocation: str            # R_X86_64_JUMP_SLOT (a call) or R_X86_64_GLOB_DAT (data)
    got_address: int | None    # the slot's address at run time
    file_value: int | None     # what the slot holds before relocation
    kernel_address: int | None # what it holds after (None: the loader refuses the app)
    kernel_size: int | None    # the kernel function's size in bytes

    @property
    def resolved(self) -> bool:
        return self.kernel_address is not None


def _file_u64(image: ElfImage, address: int) -> int | None:
    try:
        return struct.unpack("<Q", image.read(address, 8))[0]
    except Exception:  # noqa: BLE001 - a slot in .bss or outside the file: no file value
        return None


def import_rows(app: ElfImage | str, kernel: ElfImage | None = None,
                base: int | None = None) -> list[ImportRow]:
    """Every import of ``app`` (an ElfImage or an app name), sorted by name."""
    if isinstance(app, str):
        app = load_elf(paths.app_object(app))
    kernel = kernel or load_elf(paths.kernel_image())
    base = app_base_default() if base is None else base
    relocs = {r.symbol: r for r in app.relocations
              if r.symbol and r.type in ("R_X86_64_JUMP_SLOT", "R_X86_64_GLOB_DAT")}
    rows = []
    for b in bind_imports(app, kernel):
        r = relocs.get(b.name)
        rows.append(ImportRow(
            b.name, r.type if r else ", ".join(b.relocation_types),
            base + r.offset if r else None,
            _file_u64(app, r.offset) if r else None,
            b.kernel_address, b.kernel_symbol.size if b.kernel_symbol else None))
    return rows


def got_slot(app: ElfImage | str, symbol: str, base: int | None = None) -> int:
    """The run-time address of the GOT slot through which ``app`` reaches ``symbol``."""
    for row in import_rows(app, base=base):
        if row.name == symbol and row.got_address is not None:
            return row.got_address
    raise KeyError(f"the app has no GOT slot for {symbol!r}")


@dataclass(frozen=True)
class PltCall:
    """A ``call NAME@plt`` instruction found in an app function (addresses at run time)."""

    function: str
    address: int
    target: str
    plt_address: int


def plt_calls(app: ElfImage | str, function: str, base: int | None = None) -> list[PltCall]:
    """The calls through the PLT in ``function`` of ``app``, decoded from the file."""
    import capstone

    if isinstance(app, str):
        app = load_elf(paths.app_object(app))
    base = app_base_default() if base is None else base
    sym = app.symbol(function)
    if sym is None:
        raise KeyError(f"{Path(app.path).name} has no function {function!r}")
    plt = app.section(".plt")
    slots = [r.symbol for r in app.relocations if r.section == ".rela.plt" and r.symbol]
    names = {plt.addr + 16 * (i + 1): s for i, s in enumerate(slots)} if plt else {}
    cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    out = []
    for insn in cs.disasm(app.read(sym.value, sym.size), sym.value):
        if insn.mnemonic == "call" and insn.op_str.startswith("0x"):
            target = int(insn.op_str, 16)
            if target in names:
                out.append(PltCall(function, base + insn.address, names[target], base + target))
    return out

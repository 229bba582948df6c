# SPDX-License-Identifier: MIT
"""Lesson 02: what ring 0 gives the app, read from the ``privileged`` and ``crash`` apps and
from the CPU's control registers.

The decoders turn CR0, CR3 and CR4 into named bits with a one-line meaning each; the debugger
panel shows them and the tests check them. :func:`parse_privileged` reads what the
``privileged`` app printed (its CPL, CR0, CR3, page walks and interrupt flag).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Bit", "decode_cr0", "decode_cr3", "decode_cr4", "Translation", "PrivilegedReport",
           "parse_privileged", "CR0_BITS", "CR4_BITS"]


@dataclass(frozen=True)
class Bit:
    """One named field of a register, its value and what it means."""

    name: str
    bit: int
    value: int
    meaning: str


CR0_BITS = [(0, "PE", "protected mode"), (1, "MP", "monitor coprocessor"),
            (2, "EM", "x87 emulation"), (3, "TS", "task switched (lazy FPU)"),
            (4, "ET", "extension type"), (5, "NE", "native FPU errors"),
            (16, "WP", "write protect: read-only pages bind ring 0 too"),
            (18, "AM", "alignment checks allowed"), (29, "NW", "not write-through"),
            (30, "CD", "caches disabled"), (31, "PG", "paging on")]
CR4_BITS = [(0, "VME", "virtual-8086 extensions"), (1, "PVI", "protected-mode virtual IRQs"),
            (2, "TSD", "rdtsc only in ring 0"), (3, "DE", "debugging extensions"),
            (4, "PSE", "4 MiB pages (32-bit)"), (5, "PAE", "physical address extension"),
            (6, "MCE", "machine checks"), (7, "PGE", "global pages"),
            (8, "PCE", "rdpmc in any ring"), (9, "OSFXSR", "SSE enabled (fxsave)"),
            (10, "OSXMMEXCPT", "SSE exceptions"), (11, "UMIP", "sgdt & co. only in ring 0"),
            (12, "LA57", "5-level paging"), (13, "VMXE", "VMX"), (16, "FSGSBASE", "wrfsbase"),
            (17, "PCIDE", "process-context IDs"), (18, "OSXSAVE", "xsave"),
            (20, "SMEP", "ring 0 may not execute user pages"),
            (21, "SMAP", "ring 0 may not touch user pages"), (22, "PKE", "protection keys")]


def _decode(value: int, table: list[tuple[int, str, str]]) -> list[Bit]:
    return [Bit(name, bit, value >> bit & 1, meaning) for bit, name, meaning in table]


def decode_cr0(value: int) -> list[Bit]:
    return _decode(value, CR0_BITS)


def decode_cr4(value: int) -> list[Bit]:
    return _decode(value, CR4_BITS)


def decode_cr3(value: int) -> list[Bit]:
    """CR3 without PCIDs: the physical address of the top page table (PML4) and two cache
    bits. ``value`` of the first entry is the PML4 address."""
    return [Bit("PML4", 12, value & 0x000F_FFFF_FFFF_F000, "physical address of the top table"),
            Bit("PWT", 3, value >> 3 & 1, "page-level write-through"),
            Bit("PCD", 4, value >> 4 & 1, "page-level cache disable")]


@dataclass(frozen=True)
class Translation:
    """A page walk the app did itself: what, virtual, physical (None: not mapped), entries."""

    what: str
    virtual: int
    physical: int | None
    entries: tuple[str, ...] = ()


@dataclass
class PrivilegedReport:
    """What the ``privileged`` app printed."""

    cpl: int
    cr0: int | None = None
    cr3: int | None = None
    translations: list[Translation] = field(default_factory=list)
    interrupts: tuple[int, int, int] | None = None   # IF before, after cli, after sti
    success: bool = False


def parse_privileged(text: str) -> PrivilegedReport:
    """Read the console of the ``privileged`` app (raises ValueError without its CPL line)."""
    m = re.search(r"CS & 3 = (\d+)", text)
    if not m:
        raise ValueError("no 'CS & 3 = N' line: is this the privileged app's output?")
    report = PrivilegedReport(int(m.group(1)))
    if (m := re.search(r"^CR0 = (0x[0-9a-f]+)", text, re.M)):
        report.cr0 = int(m.group(1), 16)
    if (m := re.search(r"^CR3 = (0x[0-9a-f]+)", text, re.M)):
        report.cr3 = int(m.group(1), 16)
    blocks = re.findall(r"^(\S[^\n]*?): virtual (0x[0-9a-f]+)\n((?:    [^\n]*\n)*)  -> "
                        r"(?:physical (0x[0-9a-f]+)|not mapped)", text, re.M)
    for what, virt, entries, phys in blocks:
        report.translations.append(Translation(
            what, int(virt, 16), int(phys, 16) if phys else None,
            tuple(e.strip() for e in entries.splitlines() if e.strip())))
    if (m := re.search(r"RFLAGS\.IF: before (\d), after cli (\d), after sti (\d)", text)):
        report.interrupts = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    report.success = bool(re.search(r"^SUCCESS$", text, re.M))
    return report

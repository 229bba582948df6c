# SPDX-License-Identifier: MIT
"""Where a boot's instructions go: the COM2 milestones as phases.

Under ``-icount shift=0`` the guest TSC starts at 0 when QEMU starts the CPU and advances by one
per instruction, so each milestone's ``tsc`` is the number of instructions executed since
power-on, and the difference between two milestones is the exact length of that phase of the
boot, the same on every machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..events import Event, ExitEvent, Milestone

__all__ = ["Phase", "BootProfile", "PHASE_NAMES", "boot_phases", "profile_boot",
           "longest_phase"]

#: The phase that ends at each milestone, and what the kernel does in it (core/main.c).
PHASE_NAMES: dict[str, tuple[str, str]] = {
    "entry": ("firmware", "QEMU's firmware (SeaBIOS or qboot) and the PVH loader, before the "
                          "kernel's first instruction"),
    "paging": ("paging", "32-bit entry, long mode, GDT/IDT, the one page table"),
    "heap": ("heap", "page allocator over free RAM, then the heap"),
    "devices": ("devices", "command line, interrupt controller, timer calibration, scheduler, "
                           "PCI probe"),
    "app_loaded": ("dynamic linker", "find the app in the boot archive, map, relocate, bind"),
    "app_main": ("main thread", "create the app's main thread, run its constructors"),
    "exit": ("the app", "the app itself, from main() to exit()"),
    # A Linux guest (labkit.linux) reports these instead of the kernel's milestones.
    "init": ("Linux boot", "firmware, decompressing and booting Linux, up to /init"),
    "app_exec": ("/init", "the /init script: mounts, then exec of the app"),
}


@dataclass(frozen=True)
class Phase:
    """One phase of a boot: from the milestone before to ``milestone`` (TSC ticks)."""

    name: str
    milestone: str
    start: int
    end: int
    what: str

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class BootProfile:
    """The phases of one boot and how it was run."""

    machine: str
    icount: bool
    phases: tuple[Phase, ...]
    wall_s: float | None = None

    @property
    def kernel_instructions(self) -> int:
        """From the kernel's first instruction to the app's main (firmware excluded)."""
        by = {p.milestone: p for p in self.phases}
        return by["app_main"].end - by["entry"].end

    @property
    def to_app(self) -> int:
        """Instructions from power-on until the app starts (``app_main``; ``app_exec`` on a
        Linux guest)."""
        for p in self.phases:
            if p.milestone in ("app_main", "app_exec"):
                return p.end
        raise KeyError("no app_main or app_exec milestone")

    @property
    def total(self) -> int:
        return self.phases[-1].end if self.phases else 0

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name or p.milestone == name:
                return p
        raise KeyError(name)


def boot_phases(events: Iterable[Event]) -> list[Phase]:
    """Phases from a machine's COM2 events, in boot order (the first one starts at TSC 0)."""
    stamps: list[tuple[str, int]] = []
    for ev in events:
        if isinstance(ev, Milestone) and ev.name in PHASE_NAMES:
            stamps.append((ev.name, ev.tsc))
        elif isinstance(ev, ExitEvent) and ev.tsc is not None:
            stamps.append(("exit", ev.tsc))
    phases, start = [], 0
    for milestone, tsc in stamps:
        name, what = PHASE_NAMES[milestone]
        phases.append(Phase(name, milestone, start, tsc, what))
        start = tsc
    return phases


def profile_boot(app: str = "hello", machine: str = "pc", icount: bool = True,
                 timeout: float = 20.0) -> BootProfile:
    """Boot ``app`` once (synchronously) and return its phases."""
    from ..machine import run_sync

    options = {"icount": 0} if icount else {}
    m = run_sync(app, timeout=timeout, machine=machine, **options)
    return BootProfile(machine, icount, tuple(boot_phases(m.events.events)), m.wall_time)


def longest_phase(profile: BootProfile, kernel_only: bool = True) -> Phase:
    """The longest phase (of the kernel's own boot when ``kernel_only``: no firmware, no app)."""
    skip = {"firmware", "the app"} if kernel_only else set()
    return max((p for p in profile.phases if p.name not in skip), key=lambda p: p.length)

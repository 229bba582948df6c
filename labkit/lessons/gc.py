# SPDX-License-Identifier: MIT
"""Lesson 02: the MMU's dirty bits against a software card table, as a collector sees them.

``mmu_gc [pages [writes]]`` runs one mutator twice over a heap of ``pages`` pages: once with a
card-marking write barrier (a byte per page, set on every pointer store: instructions in the
app), once plain, with the collector clearing and then reading the pages' dirty bits through
``uk_dirty_pages`` (free for the mutator, a page-table walk for the collector). Under
``-icount shift=0`` its ``*_ticks`` figures are instruction counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["GcRun", "parse_mmu_gc", "run_mmu_gc", "sweep", "crossover_writes"]


@dataclass(frozen=True)
class GcRun:
    """One run of mmu_gc (instruction counts under icount)."""

    pages: int
    writes: int
    dirty_cards: int
    dirty_mmu: int
    pages_that_differ: int
    mutator_plain: int
    mutator_barrier: int
    barrier_per_write: float
    mmu_scan: int
    success: bool

    @property
    def barrier_cost(self) -> int:
        """Instructions the write barrier added to the mutator, in total."""
        return self.mutator_barrier - self.mutator_plain

    @property
    def agree(self) -> bool:
        return self.pages_that_differ == 0 and self.dirty_cards == self.dirty_mmu


_FIELDS = {"pages": "pages", "writes": "writes", "dirty_cards": "dirty_cards",
           "dirty_mmu": "dirty_mmu", "pages_that_differ": "pages_that_differ",
           "mutator_plain_ticks": "mutator_plain", "mutator_barrier_ticks": "mutator_barrier",
           "barrier_ticks_per_write": "barrier_per_write", "mmu_scan_ticks": "mmu_scan"}


def parse_mmu_gc(text: str) -> GcRun:
    """Read mmu_gc's ``name value`` lines (raises ValueError naming a missing one)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in _FIELDS:
            values[_FIELDS[parts[0]]] = float(parts[1])
    missing = [v for v in _FIELDS.values() if v not in values]
    if missing:
        raise ValueError(f"mmu_gc output lacks {', '.join(missing)}:\n{text[-400:]}")
    ints = {k: int(v) for k, v in values.items() if k != "barrier_per_write"}
    success = any(line.strip() == "SUCCESS" for line in text.splitlines())
    return GcRun(barrier_per_write=values["barrier_per_write"], success=success, **ints)


def run_mmu_gc(pages: int = 256, writes: int = 100, timeout: float = 30.0) -> GcRun:
    """Boot mmu_gc under icount with ``pages`` and ``writes``."""
    from ..machine import run_sync

    m = run_sync("mmu_gc", str(pages), str(writes), timeout=timeout, icount=0)
    return parse_mmu_gc(m.console.text)


def sweep(writes: Iterable[int] = (10, 100, 1000, 10000), pages: int = 256) -> list[GcRun]:
    """One run per number of writes, same heap."""
    return [run_mmu_gc(pages, w) for w in writes]


def crossover_writes(runs: list[GcRun]) -> float | None:
    """The number of writes above which the barrier costs more instructions than one dirty
    bit scan of the same heap (interpolated on a log scale between runs; None if it never
    does within the runs)."""
    import math

    ordered = sorted(runs, key=lambda r: r.writes)
    for a, b in zip(ordered, ordered[1:], strict=False):
        da, db = a.barrier_cost - a.mmu_scan, b.barrier_cost - b.mmu_scan
        if da <= 0 < db:
            t = -da / (db - da)
            return math.exp(math.log(a.writes) + t * (math.log(b.writes) - math.log(a.writes)))
    if ordered and ordered[0].barrier_cost > ordered[0].mmu_scan:
        return float(ordered[0].writes)
    return None

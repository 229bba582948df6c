# SPDX-License-Identifier: MIT
"""Static matplotlib figures of lesson data (each function returns the Figure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt

from ..lessons.anatomy import SizeRow
from ..lessons.timeline import BootProfile

__all__ = ["plot_boot_timelines", "plot_sizes", "plot_bars", "plot_gc_sweep"]

_COLOURS = ["#8c8c8c", "#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd"]


def plot_boot_timelines(profiles: Sequence[BootProfile]):
    """Two panels: each whole boot from power-on (left), and the kernel's own part from its
    entry to the app's exit (right); x is guest instructions, bars split into phases."""
    fig, (whole, kernel) = plt.subplots(1, 2, figsize=(11, 1.6 + 0.6 * len(profiles)))
    names = [f"{p.machine}{' (icount)' if p.icount else ''}" for p in profiles]
    for row, prof in enumerate(profiles):
        origin = prof.phase("firmware").end
        for i, ph in enumerate(prof.phases):
            colour = _COLOURS[i % len(_COLOURS)]
            whole.barh(row, ph.length, left=ph.start, color=colour, edgecolor="white",
                       label=ph.name if row == 0 else None)
            if ph.name != "firmware":
                kernel.barh(row, ph.length, left=ph.start - origin, color=colour,
                            edgecolor="white")
    for ax, title in ((whole, "from power-on"), (kernel, "from the kernel's first instruction")):
        ax.set_yticks(range(len(profiles)), names)
        ax.set_title(title)
        ax.set_xlabel("guest instructions")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    kernel.set_yticks([])
    fig.legend(ncol=7, fontsize="small", loc="lower center")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def plot_sizes(rows: Sequence[SizeRow]):
    """Bytes of each image part, log scale; cited figures hatched and labelled so."""
    fig, ax = plt.subplots(figsize=(9, 0.5 + 0.45 * len(rows)))
    labels = [f"{r.system}: {r.part}" + (" [cited]" if r.how == "cited" else "") for r in rows]
    for i, r in enumerate(rows):
        ax.barh(i, r.bytes, color="#4c72b0" if r.system == "unikernel" else "#c44e52",
                hatch="//" if r.how == "cited" else None, edgecolor="white")
        ax.text(r.bytes * 1.1, i, f"{r.bytes / 1024:,.0f} KiB", va="center", fontsize="small")
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    cited = any(r.how == "cited" for r in rows)
    ax.set_xlabel("bytes (log scale)" + ("; hatched = cited, not measured here" if cited else ""))
    ax.set_xlim(right=max(r.bytes for r in rows) * 8)
    fig.tight_layout()
    return fig


def plot_bars(values: Mapping[str, float], title: str, unit: str,
              cited: Sequence[str] = (), log: bool = False):
    """A bar per named value; names in ``cited`` are hatched and marked [cited]."""
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.5 * len(values)))
    for i, (name, value) in enumerate(values.items()):
        is_cited = name in cited
        ax.barh(i, value, color="#c44e52" if is_cited else "#4c72b0",
                hatch="//" if is_cited else None, edgecolor="white")
        ax.text(value, i, f" {value:,.1f}", va="center", fontsize="small")
    ax.set_yticks(range(len(values)),
                  [n + (" [cited]" if n in cited else "") for n in values])
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(unit)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_gc_sweep(by_writes, by_pages):
    """Lesson 02: barrier cost against dirty-bit scan cost, as writes grow (left) and as the
    heap grows (right); log-log, instructions under icount."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    w = [r.writes for r in by_writes]
    left.plot(w, [r.barrier_cost for r in by_writes], "o-", label="card-marking barrier (mutator)")
    left.plot(w, [r.mmu_scan for r in by_writes], "s-", label="dirty-bit scan (collector)")
    left.set_title(f"heap of {by_writes[0].pages} pages")
    left.set_xlabel("pointer stores per collection")
    p = [r.pages for r in by_pages]
    right.plot(p, [r.barrier_cost for r in by_pages], "o-", label="card-marking barrier")
    right.plot(p, [r.mmu_scan for r in by_pages], "s-", label="dirty-bit scan")
    right.set_title(f"{by_pages[0].writes} stores per collection")
    right.set_xlabel("heap pages")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("instructions (icount)")
        ax.grid(True, which="major", alpha=0.3)
    left.legend(fontsize="small")
    fig.tight_layout()
    return fig

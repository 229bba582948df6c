# SPDX-License-Identifier: MIT
"""``labkit bench``: the boot budget, measured, each figure with its mode.

Modes (DESIGN.md, "Measurement"): ``size`` (bytes on disk), ``icount`` (exact guest
instruction counts under ``-icount shift=0``, the same on every machine) and ``wall`` (wall
time under TCG, median of several runs, and the ratio to a baseline measured in the same run:
a kernel that exits at its first instruction, i.e. what QEMU itself costs).

Later lessons add their figures here; :func:`run_bench` returns plain :class:`Figure` s that
``--json`` writes out.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from . import paths
from .errors import BootError
from .events import MILESTONES
from .outcome import Exited

__all__ = ["Figure", "run_bench", "format_table", "boot_instructions", "syscall_costs"]


@dataclass(frozen=True)
class Figure:
    """One measured number."""

    name: str
    value: float
    unit: str
    mode: str   # size, icount, wall
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _stripped_size(path: Path) -> int | None:
    strip = shutil.which("strip")
    if strip is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stripped"
        proc = subprocess.run([strip, "--strip-all", "-o", str(out), str(path)],
                              capture_output=True)
        return out.stat().st_size if proc.returncode == 0 else None


def size_figures(app: str = "hello") -> list[Figure]:
    kernel = paths.kernel_image()
    figures = [Figure("kernel.elf", kernel.stat().st_size, "bytes", "size",
                      "with DWARF and symbols")]
    stripped = _stripped_size(kernel)
    if stripped is not None:
        figures.append(Figure("kernel.elf stripped", stripped, "bytes", "size",
                              "strip --strip-all"))
    archive = paths.app_archive(app)
    figures.append(Figure(f"{app}.cpio", archive.stat().st_size, "bytes", "size",
                          "boot archive: the app .so and its files"))
    if stripped is not None:
        figures.append(Figure(f"bootable image ({app})", stripped + archive.stat().st_size,
                              "bytes", "size", "stripped kernel + boot archive"))
    return figures


async def boot_instructions(app: str = "hello", machine: str = "pc") -> dict[str, int]:
    """TSC stamps of the boot milestones under ``-icount shift=0`` (instructions since reset),
    plus ``exit``."""
    from .machine import run

    m = await run(app, icount=0, machine=machine, timeout=60)
    if not isinstance(m.outcome, Exited):
        raise BootError(f"{app} did not exit cleanly under icount: {m.outcome.describe()}")
    stamps = {name: ev.tsc for name, ev in m.events.milestones.items()}
    if m.events.exit is not None and m.events.exit.tsc is not None:
        stamps["exit"] = m.events.exit.tsc
    return stamps


def icount_figures(stamps: dict[str, int], app: str = "hello") -> list[Figure]:
    figures = []
    if "entry" in stamps and "app_main" in stamps:
        figures.append(Figure("entry -> app_main", stamps["app_main"] - stamps["entry"],
                              "instructions", "icount", "kernel entry to the app's main"))
    order = [m for m in MILESTONES if m in stamps]
    for a, b in zip(order, order[1:], strict=False):
        figures.append(Figure(f"  {a} -> {b}", stamps[b] - stamps[a], "instructions",
                              "icount"))
    if "app_main" in stamps and "exit" in stamps:
        figures.append(Figure(f"{app} main -> exit", stamps["exit"] - stamps["app_main"],
                              "instructions", "icount", "the app itself"))
    return figures


async def _wall(app: str | None, kernel: Path | None, runs: int, machine: str) -> list[float]:
    from .machine import Machine

    times = []
    for _ in range(runs):
        m = Machine(app, kernel=kernel, machine=machine)
        await m.start()
        await m.wait(60)
        await m.close()
        if m.wall_time is not None:
            times.append(m.wall_time)
    return times


async def wall_figures(app: str = "hello", runs: int = 5, machine: str = "pc") -> list[Figure]:
    baseline = paths.images_dir() / "exit_at_entry.elf"
    note = "images/exit_at_entry.elf"
    with tempfile.TemporaryDirectory() as tmp:
        if not baseline.is_file():
            from .tinykernel import write_tiny_kernel

            baseline = write_tiny_kernel(Path(tmp) / "exit_at_entry.elf", exit_value=0)
            note = "labkit.tinykernel (images/exit_at_entry.elf not built)"
        base = statistics.median(await _wall(None, baseline, runs, machine))
        full = statistics.median(await _wall(app, None, runs, machine))
    return [
        Figure("QEMU alone (exit at first instruction)", base * 1000, "ms", "wall",
               f"median of {runs}, {note}"),
        Figure(f"{app}: QEMU start to exit", full * 1000, "ms", "wall", f"median of {runs}"),
        Figure(f"{app}: time beyond QEMU's own", (full - base) * 1000, "ms", "wall",
               "difference of the two medians"),
        Figure(f"{app} / baseline", full / base if base else float("nan"), "x", "wall",
               "ratio, same run"),
    ]


_LINE = re.compile(r"^(\w+) ([-0-9.]+)$", re.M)


async def syscall_costs(iterations: int = 20000, machine: str = "pc") -> dict[str, float]:
    """``syscall_bench``'s "name value" lines under icount (ticks are instructions)."""
    from .machine import run

    m = await run("syscall_bench", str(iterations), icount=0, machine=machine, timeout=120)
    if not isinstance(m.outcome, Exited) or m.outcome.app_status != 0:
        raise BootError(f"syscall_bench failed: {m.outcome.describe() if m.outcome else '?'}")
    costs = {k: float(v) for k, v in _LINE.findall(m.console.text)}
    if "getpid_ticks_per_call" not in costs:
        raise BootError("syscall_bench printed no 'getpid_ticks_per_call' line; console tail:\n"
                        + m.console.tail(5))
    return costs


def syscall_figures(costs: dict[str, float]) -> list[Figure]:
    names = {"getpid_ticks_per_call": "getpid() per call",
             "write_ticks_per_call": "write(/dev/null, 1 byte) per call",
             "loop_ticks_per_iter": "empty loop iteration (subtracted)"}
    return [Figure(label, costs[key], "instructions", "icount", "syscall_bench, a plain "
                                                                  "function call into the kernel")
            for key, label in names.items() if key in costs]


async def run_bench_async(runs: int = 5, machine: str = "pc") -> list[Figure]:
    figures = size_figures()
    figures += icount_figures(await boot_instructions(machine=machine))
    figures += syscall_figures(await syscall_costs(machine=machine))
    figures += await wall_figures(runs=runs, machine=machine)
    return figures


def run_bench(runs: int = 5, machine: str = "pc") -> list[Figure]:
    """All figures (a few seconds under TCG)."""
    return asyncio.run(run_bench_async(runs, machine))


def format_table(figures: Sequence[Figure]) -> str:
    width = max(len(f.name) for f in figures)
    lines = [f"{'figure':<{width}}  {'value':>14}  {'unit':<12}  {'mode':<6}  note",
             "-" * (width + 50)]
    for f in figures:
        value = f"{f.value:,.0f}" if f.unit in ("bytes", "instructions") and f.value == int(
            f.value) else f"{f.value:,.2f}"
        lines.append(f"{f.name:<{width}}  {value:>14}  {f.unit:<12}  {f.mode:<6}  {f.note}")
    return "\n".join(lines)

# SPDX-License-Identifier: MIT
"""Checks of lesson 02-ring-zero."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re

from ._check import CheckResult, current, exercise, failed, passed
from ._run import name_values, try_app

__all__ = ["check_cr4", "check_panic_reading", "check_strided_gc", "check_pte_report",
           "reference_cr4", "FAULT_PROBE", "STRIDED_RUNS"]

#: The app :func:`check_pte_report` boots besides ``crash``: ``fault_probe`` writes to page 0
#: (never mapped), ``fault_probe x`` calls into a heap buffer (mapped, but not executable).
FAULT_PROBE = """\
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && argv[1][0] == 'x') {
        unsigned char *code = malloc(64);
        memset(code, 0xc3, 64);               /* ret: it would run if the page were executable */
        ((void (*)(void))code)();
    } else {
        volatile uintptr_t addr = 16;         /* page 0 is never mapped */
        *(volatile int *)addr = 1;
    }
    return 0;
}
"""

_PTE_LINE = re.compile(r"^\s*PTE ([0-9a-fA-F]{1,16}) level ([0-3])\s*$", re.M)
_P, _W, _PS, _NX, _ADDR = 1, 2, 1 << 7, 1 << 63, 0x000FFFFFFFFFF000


def reference_cr4(timeout: float = 20.0) -> int:
    """CR4 as the debugger reads it at hello's main (an independent measurement)."""
    async def read() -> int:
        from ..machine import Machine

        m = await Machine("hello", paused=True, gdb=True).start()
        try:
            dbg = await m.debugger()
            await dbg.break_at("main")
            await dbg.cont(timeout)
            return (await dbg.registers()).cr4
        finally:
            await m.kill()

    # A private event loop in a helper thread: works from a script and inside Jupyter alike.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result(timeout + 10)


@exercise("lesson02", 1, "read CR4 from the app", ("work/cr4.c",), boots=True, points=2)
def check_cr4(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 1: an app that reads CR4 itself (a ring-0 instruction) and prints
    ``cr4 0x...``, ``smep N`` and ``smap N`` (bits 20 and 21). 1 point for CR4 equal to what
    the debugger reads, 1 for the two bits."""
    name = current().label
    trial = try_app(source)
    if trial.error:
        return failed(name, trial.error, 2)
    out = trial.outcome
    if getattr(out, "app_status", None) is None:
        return failed(name, f"it did not exit normally: {out.describe()}", 2)  # type: ignore[union-attr]
    values = name_values(trial.console)
    if "cr4" not in values:
        return failed(name, "no line 'cr4 0x...' on the console", 2)
    want = reference_cr4()
    points, notes = 0, []
    if values["cr4"] == want:
        points += 1
    else:
        notes.append(f"cr4 {int(values['cr4']):#x} differs from the debugger's {want:#x}")
    bits = (values.get("smep"), values.get("smap"))
    if bits == (want >> 20 & 1, want >> 21 & 1):
        points += 1
    else:
        notes.append(f"your smep/smap lines {bits} are not bits 20 and 21 of the CR4 the "
                     "debugger reads: shift and mask the value you read")
    if points == 2:
        return passed(name, f"CR4 = {want:#x}, read by the app in ring 0 and by the debugger "
                            f"alike; SMEP {want >> 20 & 1}, SMAP {want >> 21 & 1}", 2)
    return failed(name, "; ".join(notes), 2, points)


def _probe_panic(args: tuple[str, ...]) -> object | None:
    """The panic of :data:`FAULT_PROBE` run with ``args`` on the stock kernel (None: none)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="labkit-check-") as tmp:
        probe = Path(tmp) / "fault_probe.c"
        probe.write_text(FAULT_PROBE)
        trial = try_app(probe, *args)
    return trial.machine.events.panic if trial.machine is not None else None  # type: ignore[attr-defined]


@exercise("lesson02", 2, "predict a page fault", ("answer_write_code", "answer_fetch_code"),
          boots=True, points=2)
def check_panic_reading(write_code: int, fetch_code: int) -> CheckResult:
    """Exercise 2: a prediction, checked by a run. The error codes the CPU will push for the
    two faults of :data:`FAULT_PROBE`: a write to page 0 (``fault_probe``) and a jump into a
    heap buffer (``fault_probe x``). 1 point each; measured here by booting both."""
    name = current().label
    points, notes, seen = 0, [], []
    for case, args, given in (("the write to page 0", (), write_code),
                              ("the jump into the heap", ("x",), fetch_code)):
        panic = _probe_panic(args)
        if panic is None or panic.error_code is None:  # type: ignore[attr-defined]
            return failed(name, f"{case} did not panic here: ask your teacher", 2)
        want = panic.error_code  # type: ignore[attr-defined]
        try:
            code = int(given, 0) if isinstance(given, str) else int(given)
        except (TypeError, ValueError):
            notes.append(f"{case}: give the error code as an int, not {given!r}")
            continue
        if code == want:
            points += 1
            seen.append(f"{case} {want:#x}")
        else:
            notes.append(f"{case}: {code:#x} is not what the CPU pushed; which bits hold: "
                         "was the page present, was it a write, an instruction fetch?")
    if points == 2:
        return passed(name, f"as predicted: {', '.join(seen)}. Page 0 is not mapped at all "
                            "(bit 0 clear); the heap is mapped but NX (bit 0 and bit 4)", 2)
    return failed(name, "; ".join(notes), 2, points)


#: (pages, stride) the strided-mutator check boots the student's app with.
STRIDED_RUNS = ((256, 4), (96, 8))


def _strided_run(source: str | os.PathLike[str], pages: int, stride: int,
                 ref_scan: int) -> tuple[str, dict[str, float]]:
    """One boot of ``gc_stride PAGES STRIDE``: ("", its figures) or (what is wrong, {})."""
    from ._behaviour import app_instructions

    trial = try_app(source, str(pages), str(stride), icount=True)
    if trial.error:
        return f"with {pages} {stride}: {trial.error}", {}
    values = name_values(trial.console)
    keys = ("dirty_cards", "dirty_mmu", "pages_that_differ", "barrier_ticks", "scan_ticks")
    missing = [k for k in keys if k not in values]
    if missing:
        return (f"with {pages} {stride}: no line for {', '.join(missing)}:\n"
                + trial.console[-300:]), {}
    want = (pages + stride - 1) // stride
    got = {k: values[k] for k in keys[:3]}
    if got != {"dirty_cards": want, "dirty_mmu": want, "pages_that_differ": 0}:
        return (f"with {pages} pages and stride {stride}, {want} pages are written; the app "
                f"reports {got}"), {}
    scan, barrier = float(values["scan_ticks"]), float(values["barrier_ticks"])
    ran = app_instructions(trial.machine)
    # The app walks the tables twice (clear, then read): the kernel's stamps must show it.
    if ran is None or ran < 1.5 * ref_scan or ran < scan + barrier:
        return (f"with {pages} {stride}: the whole app ran {ran} instructions (the kernel's "
                f"stamps), less than two walks of the dirty bits ({ref_scan:,} each, measured by "
                "mmu_gc on the same heap) or than your figures: it must clear and read the "
                "dirty bits itself"), {}
    if abs(scan - ref_scan) > 0.25 * ref_scan:
        return (f"with {pages} pages your scan_ticks {scan:,.0f} is not the cost of reading "
                f"the dirty bits (mmu_gc measures {ref_scan:,} for the same heap): time only "
                "the uk_dirty_pages call that reads them"), {}
    if not 0 < barrier <= 8 * want:
        return (f"with {pages} {stride}: barrier_ticks {barrier:,.0f} for {want} card marks "
                "is not the cost of the marks alone (the stores with marks minus the same "
                "stores without)"), {}
    return "", {"writes": want, "barrier": barrier, "scan": scan}


@exercise("lesson02", 3, "a strided mutator", ("work/gc_stride.c",), boots=True)
def check_strided_gc(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 3: the strided mutator. ``gc_stride PAGES STRIDE`` writes one pointer into
    every STRIDE-th page of a PAGES-page heap, marks cards and reads dirty bits, and prints
    ``dirty_cards``, ``dirty_mmu``, ``pages_that_differ``, ``barrier_ticks`` (the card marks
    alone) and ``scan_ticks`` (reading the dirty bits). Booted under icount with each of
    :data:`STRIDED_RUNS`.

    Besides the counts, the check measures: the app must import ``uk_dirty_pages``; its scan
    must cost what ``mmu_gc``'s scan of the same heap costs (within 25%); and the kernel's own
    stamps must show the app ran at least the two walks of the tables it claims."""
    from ..lessons.gc import run_mmu_gc
    from ._behaviour import app_imports

    name = current().label
    imports = app_imports(source)
    if isinstance(imports, str):
        return failed(name, imports)
    if "uk_dirty_pages" not in imports:
        return failed(name, "the app never calls uk_dirty_pages (it imports "
                            f"{', '.join(sorted(imports)) or 'nothing'}): the dirty bits must "
                            "come from the page tables, not from arithmetic")
    seen = []
    for pages, stride in STRIDED_RUNS:
        try:
            ref_scan = run_mmu_gc(pages=pages, writes=10).mmu_scan
        except Exception as exc:   # noqa: BLE001 - a check never raises: say why it could not
            return failed(name, f"the reference mmu_gc {pages} did not run here: {exc}")
        wrong, figures = _strided_run(source, pages, stride, ref_scan)
        if wrong:
            return failed(name, wrong)
        seen.append((pages, stride, figures))
    lines = "; ".join(f"{p} pages, stride {s}: {f['writes']:.0f} marks cost {f['barrier']:,.0f} "
                      f"instructions, one scan {f['scan']:,.0f} ({f['scan'] / f['barrier']:,.0f} x "
                      "the marks)" for p, s, f in seen)
    return passed(name, f"cards and dirty bits agree, and your costs are the machine's: {lines}. "
                        "The scan pays off only once a collection's marks cost more than one "
                        "walk of the heap")


def _judge_pte(case: str, panic: object, console: str) -> tuple[bool, str]:
    """(format found, verdict) for one panic: is the printed entry the one behind CR2?"""
    m = _PTE_LINE.search(console)
    if panic is None:
        return False, f"{case}: no panic"
    if m is None:
        return False, f"{case}: no line 'PTE <hex> level <0-3>' in the panic"
    pte, level = int(m.group(1), 16), int(m.group(2))
    err, cr2 = panic.error_code or 0, panic.cr2 or 0  # type: ignore[attr-defined]
    if not err & 1:                                      # not present: the walk stops there
        ok = not pte & _P
        return True, "" if ok else f"{case}: a not-present fault, but PTE {pte:#x} is present"
    if not pte & _P or (level > 0 and not pte & _PS):
        return True, f"{case}: PTE {pte:#x} level {level} is not the entry that maps CR2"
    if err & 16 and not pte & _NX:
        return True, f"{case}: an instruction fetch fault, but PTE {pte:#x} has no NX bit"
    if err & 2:
        span = 1 << (12 + 9 * level)
        if pte & _W:
            return True, f"{case}: a write fault, but PTE {pte:#x} is writable"
        if (pte & _ADDR & ~(span - 1)) != (cr2 & ~(span - 1)):   # kernel text: identity map
            return True, f"{case}: PTE {pte:#x} maps another frame than CR2 {cr2:#x}"
    return True, ""


@exercise("lesson02", 4, "the entry behind the fault (kernel)", ("my_edit",), boots=True, points=2)
def check_pte_report(change: object) -> CheckResult:
    """Exercise 4 (kernel code): the page-fault panic prints the page-table entry behind CR2,
    as a line ``  PTE <hex> level <n>``: the entry where the walk from CR3 ends (the 4 KiB
    entry at level 0, a huge-page entry at level 1 or 2, or the first one not present).

    The kernel is built with the change (an :class:`~labkit.variant.Edit` of
    ``core/panic.c``) and three faults are booted on it: ``crash`` (a write to read-only
    kernel text), and :data:`FAULT_PROBE` writing to page 0 and jumping into the heap. 1 point
    when every panic has the line, 1 when every entry is right (present or not as the error
    code says, read-only for the write, NX for the fetch, the frame of CR2 for kernel text)."""
    import tempfile
    from pathlib import Path

    from ..errors import LabkitError
    from ..machine import run_sync
    from ._run import variant_or_verdict

    name = current().label
    variant = variant_or_verdict(change, name, 2)
    if isinstance(variant, CheckResult):
        return variant
    runs: dict[str, tuple[object, str]] = {}
    with variant, tempfile.TemporaryDirectory(prefix="labkit-check-") as tmp:
        try:
            m = run_sync("crash", kernel=variant.kernel, timeout=20)
            runs["crash (write to kernel text)"] = (m.events.panic, m.console.text)
        except LabkitError as exc:
            return failed(name, f"crash did not boot on your kernel: {exc}", 2)
        probe = Path(tmp) / "fault_probe.c"
        probe.write_text(FAULT_PROBE)
        for case, args in (("write to page 0", ()), ("jump into the heap", ("x",))):
            trial = try_app(probe, *args, kernel=variant.kernel)
            if trial.error:
                return failed(name, f"{case}: {trial.error}", 2)
            runs[case] = (trial.machine.events.panic, trial.console)  # type: ignore[attr-defined]
    found, wrong = 0, []
    for case, (panic, console) in runs.items():
        has_line, verdict = _judge_pte(case, panic, console)
        found += has_line
        if verdict or not has_line:
            wrong.append(verdict)
    points = (found == len(runs)) + (not wrong)
    if points == 2:
        lines = "; ".join(f"{case}: {_PTE_LINE.search(console).group(0).strip()}"  # type: ignore[union-attr]
                          for case, (_, console) in runs.items())
        return passed(name, f"every fault names its entry ({lines})", 2)
    return failed(name, "; ".join(wrong), 2, points)

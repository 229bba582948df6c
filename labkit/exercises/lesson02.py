# SPDX-License-Identifier: MIT
"""Checks of lesson 02-ring-zero."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os

from . import CheckResult, failed, passed
from ._run import name_values, try_app

__all__ = ["check_cr4", "check_panic_reading", "check_strided_gc", "reference_cr4"]


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


def check_cr4(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 1: an app that reads CR4 itself (a ring-0 instruction) and prints
    ``cr4 0x...``, ``smep N`` and ``smap N`` (bits 20 and 21). 1 point for CR4 equal to what
    the debugger reads, 1 for the two bits."""
    name = "02.1 reading CR4"
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
        notes.append(f"smep/smap should be {want >> 20 & 1}/{want >> 21 & 1}, got {bits}")
    if points == 2:
        return passed(name, f"CR4 = {want:#x}, read by the app in ring 0 and by the debugger "
                            f"alike; SMEP {want >> 20 & 1}, SMAP {want >> 21 & 1}", 2)
    return failed(name, "; ".join(notes), 2, points)


def check_panic_reading(function: str, address: int) -> CheckResult:
    """Exercise 2: from crash's panic, the function that faulted and the address it wrote
    to (CR2). 1 point each; measured here by booting crash."""
    from ..machine import run_sync

    name = "02.2 reading a panic"
    m = run_sync("crash", timeout=20)
    panic = m.events.panic
    if panic is None:
        return failed(name, f"crash did not panic here ({m.outcome.describe()}): "
                            "ask your teacher", 2)
    points, notes = 0, []
    if str(function).strip() == panic.function:
        points += 1
    else:
        notes.append(f"{function!r} is not the function that faulted")
    try:
        given = int(address, 0) if isinstance(address, str) else int(address)
    except (TypeError, ValueError):
        given = None
    if given == panic.cr2:
        points += 1
    else:
        notes.append("the address is not the one the CPU reported in CR2")
    if points == 2:
        return passed(name, f"{panic.function} wrote to {panic.cr2:#x}, kernel code mapped "
                            "read-only", 2)
    return failed(name, "; ".join(notes), 2, points)


def check_strided_gc(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 3: the strided mutator. ``gc_stride PAGES STRIDE`` writes one pointer into
    every STRIDE-th page of a PAGES-page heap, marks cards and reads dirty bits, and prints
    ``dirty_cards``, ``dirty_mmu``, ``pages_that_differ``. Booted with 256 4 and 96 8."""
    name = "02.3 a strided mutator"
    for pages, stride in ((256, 4), (96, 8)):
        trial = try_app(source, str(pages), str(stride), icount=True)
        if trial.error:
            return failed(name, trial.error)
        values = name_values(trial.console)
        want = (pages + stride - 1) // stride
        got = {k: values.get(k) for k in ("dirty_cards", "dirty_mmu", "pages_that_differ")}
        if None in got.values():
            missing = [k for k, v in got.items() if v is None]
            return failed(name, f"with {pages} {stride}: no line for {', '.join(missing)}:\n"
                                + trial.console[-300:])
        if got != {"dirty_cards": want, "dirty_mmu": want, "pages_that_differ": 0}:
            return failed(name, f"with {pages} pages and stride {stride}, {want} pages are "
                                f"written; the app reports {got}")
    return passed(name, "cards and dirty bits agree on every strided write pattern")

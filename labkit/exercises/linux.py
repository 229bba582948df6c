# SPDX-License-Identifier: MIT
"""Checks of lesson 05-unikernel-vs-linux.

Every check measures what it needs itself, on both guests, under ``-icount shift=0`` (exact
instruction counts, the same on every machine). Each needs a Linux guest that is already on
this machine (``labkit.linux.prepare()`` fetched it; a check never downloads): where there is
none, the check says so and counts for nothing either way (0 of 0 points).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from . import CheckResult, failed, passed
from ._run import name_values, run_async

__all__ = ["check_syscall_ratio", "check_crypto_share", "check_compute_parity"]


def _no_linux(name: str) -> CheckResult | None:
    """None when a Linux guest is at hand, else the 0/0 result that says why not."""
    from .. import linux

    ok, why = linux.availability(fetch=False)
    if ok:
        return None
    return CheckResult(name, 0, 0, "not checked here: no Linux guest on this machine ("
                       + why.splitlines()[0] + ")")


def _ticks(machine: Any, key: str) -> float | None:
    value = name_values(machine.console.text).get(key)
    return float(value) if value is not None else None


def check_syscall_ratio(answer: float, tolerance: float = 0.10) -> CheckResult:
    """Exercise 1: how many times more instructions one ``getpid()`` costs on Linux than on
    the unikernel (``syscall_bench 2000``, both under icount), within ``tolerance`` (10 %)."""
    from .. import linux
    from ..machine import run

    name = "05.1 the price of a system call"
    skip = _no_linux(name)
    if skip is not None:
        return skip
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return failed(name, f"give a number (Linux instructions / unikernel instructions), "
                            f"not {answer!r}")

    async def both() -> tuple[Any, Any]:
        return await asyncio.gather(
            run("syscall_bench", "2000", icount=0, timeout=60),
            linux.run_linux("syscall_bench", "2000", icount=0, timeout=90))

    uni, lin = run_async(both(), timeout=None)
    u, x = _ticks(uni, "getpid_ticks_per_call"), _ticks(lin, "getpid_ticks_per_call")
    if not u or x is None:
        return failed(name, "syscall_bench did not report getpid_ticks_per_call on both guests")
    ratio = x / u
    if abs(value - ratio) <= tolerance * ratio:
        return passed(name, f"yes: {x:.0f} instructions on Linux against {u:.0f} on the "
                            f"unikernel, x{ratio:.1f}")
    hint = " (did you divide the other way round?)" if value and abs(1 / value - ratio) <= (
        tolerance * ratio) else ""
    return failed(name, f"{value:g} is not within {tolerance:.0%} of the ratio measured "
                        f"here{hint}")


def check_crypto_share(answer: float, tolerance: float = 0.03) -> CheckResult:
    """Exercise 2: the share (0..1) of Linux's instructions from reset to ``app_exec`` that
    the boot option ``cryptomgr.notests`` (no crypto self-tests) saves, booting hello."""
    from .. import linux

    name = "05.2 what Linux does while it boots"
    skip = _no_linux(name)
    if skip is not None:
        return skip
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return failed(name, f"give a number between 0 and 1, not {answer!r}")
    if value > 1.5:
        return failed(name, "a share is between 0 and 1 (did you give a percentage?)")

    async def both() -> tuple[Any, Any]:
        return await asyncio.gather(
            linux.run_linux("hello", icount=0, timeout=90),
            linux.run_linux("hello", icount=0, timeout=90, kernel_args=["cryptomgr.notests"]))

    full, lean = run_async(both(), timeout=None)
    try:
        a = full.events.milestones["app_exec"].tsc
        b = lean.events.milestones["app_exec"].tsc
    except KeyError:
        return failed(name, "a Linux boot did not reach the app (no app_exec milestone)")
    share = (a - b) / a
    if abs(value - share) <= tolerance:
        return passed(name, f"yes: the self-tests are {share:.2f} of the {a:,} instructions "
                            f"before the app runs")
    return failed(name, f"{value:.3f} is more than {tolerance} away from the share measured "
                        "here")


def check_compute_parity(source: str | os.PathLike[str], tolerance: float = 0.05,
                         least: int = 100_000) -> CheckResult:
    """Exercise 3: a compute-bound C program that prints ``ticks N`` (the TSC around its
    loop) runs the same number of instructions on both guests. Booted on both under icount:
    1 point if it prints ``ticks`` at least ``least`` on both, 1 if the two agree within
    ``tolerance``."""
    from .. import linux
    from ..build import compile_app
    from ..errors import LabkitError
    from ..machine import run

    name = "05.3 compute-bound code"
    skip = _no_linux(name)
    if skip is not None:
        return skip
    try:
        app = compile_app(source)
        binary = linux.compile_linux_app(source, name=app.name)
        guest = linux.prepare(apps=[], modules=False, fetch=False, extra={app.name: binary})
    except LabkitError as exc:
        detail = getattr(exc, "output", "") or ""
        return failed(name, f"it does not build: {exc}\n{detail}".strip(), 2)

    async def both() -> tuple[Any, Any]:
        return await asyncio.gather(
            run(app.name, initrd=app.archive, icount=0, timeout=60),
            linux.run_linux(app.name, guest=guest, icount=0, timeout=90))

    uni, lin = run_async(both(), timeout=None)
    u, x = _ticks(uni, "ticks"), _ticks(lin, "ticks")
    if u is None or x is None:
        return failed(name, "no 'ticks N' line on "
                      + " and ".join(g for g, v in (("the unikernel", u), ("Linux", x))
                                     if v is None), 2)
    points, notes = 0, [f"unikernel {u:,.0f}, Linux {x:,.0f} instructions"]
    if min(u, x) >= least:
        points += 1
    else:
        notes.append(f"make the loop do real work: at least {least:,} instructions")
    if abs(x - u) <= tolerance * max(u, x):
        points += 1
    else:
        notes.append(f"they differ by more than {tolerance:.0%}: is there a system call or a "
                     "library call (printf, malloc) inside the timed part?")
    if points == 2:
        return passed(name, notes[0] + ": the same work costs the same instructions", 2)
    return failed(name, "; ".join(notes), 2, points)

# SPDX-License-Identifier: MIT
"""Checks of lesson 05-unikernel-vs-linux.

Every check measures what it needs itself, under ``-icount shift=0`` (exact instruction
counts, the same on every machine), and none takes a figure the student's program prints on
trust: the guests' own stamps bound it. Exercises 1 to 3 need a Linux guest that is already on
this machine (``labkit.linux.prepare()`` fetched it; a check never downloads): where there is
none, the check says so and counts for nothing either way (0 of 0 points). Exercise 4 changes
the unikernel alone and needs no Linux guest.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import TYPE_CHECKING, Any

from ._check import CheckResult, current, exercise, failed, passed
from ._run import name_values, run_async, try_app

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["check_iteration_cost", "ITERATION_SIZES", "check_crypto_share", "check_compute_parity",
           "check_counted_getpid", "COUNT_PROBE", "GETPID_BUDGET"]


def _no_linux(name: str) -> CheckResult | None:
    """None when a Linux guest is at hand, else the 0/0 result that says why not."""
    from .. import linux

    ok, why = linux.availability(fetch=False)
    if ok:
        return None
    return CheckResult(name, 0, 0, "not checked here: no Linux guest on this machine ("
                       + why.splitlines()[0] + ")")


def _ticks(machine: Machine, key: str) -> float | None:
    value = name_values(machine.console.text).get(key)
    return float(value) if value is not None else None


#: The two sizes exercise 1's check runs ``syscall_bench`` with on Linux.
ITERATION_SIZES = (2000, 6000)


def _app_span(machine: Machine) -> int | None:
    """Instructions from the app's start (``app_main`` on the unikernel, ``app_exec`` on
    Linux) to its exit, from the guest's COM2 stamps of a run under icount."""
    events = machine.events
    start = events.milestones.get("app_main") or events.milestones.get("app_exec")
    end = events.exit
    if start is None or end is None or end.tsc is None:
        return None
    return end.tsc - start.tsc


@exercise("lesson05", 1, "what one more iteration costs", ("answer_per_n",), boots=False)
def check_iteration_cost(answer: float, tolerance: float = 0.10) -> CheckResult:
    """Exercise 1, a prediction checked by a run: by how many instructions does the whole
    ``syscall_bench`` app on Linux grow when its argument N grows by one? (Read its source:
    every step of N runs three timed loops.) The check boots it on Linux under icount with the
    two sizes of :data:`ITERATION_SIZES` and divides the difference of the guest's own stamps
    (``app_exec`` to ``exit``) by the difference of N; within ``tolerance`` (10 %)."""
    from .. import linux

    name = current().label
    skip = _no_linux(name)
    if skip is not None:
        return skip
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return failed(name, f"give a number of instructions per step of N, not {answer!r}")

    async def both() -> list[Any]:
        return await asyncio.gather(*(
            linux.run_linux("syscall_bench", str(n), icount=0, timeout=120)
            for n in ITERATION_SIZES))

    small, large = run_async(both(), timeout=None)
    spans = [_app_span(m) for m in (small, large)]
    if None in spans:
        return failed(name, "a Linux run of syscall_bench did not exit normally: ask your "
                            "teacher")
    per_n = (spans[1] - spans[0]) / (ITERATION_SIZES[1] - ITERATION_SIZES[0])  # type: ignore[operator]
    values = name_values(large.console.text)
    getpid, write = values.get("getpid_ticks_per_call"), values.get("write_ticks_per_call")
    if abs(value - per_n) <= tolerance * per_n:
        return passed(name, f"yes: {per_n:,.0f} instructions per step of N on Linux: the empty "
                            f"loop, getpid() ({getpid}) and write() ({write}), each with its "
                            "loop around it")
    hint = ""
    if any(v and abs(value - v) <= tolerance * v for v in (getpid, write)):
        hint = (" (that is one call: what else does one step of N run? Read main in "
                "kernel/apps/syscall_bench.c)")
    return failed(name, f"{value:,.0f} is not within {tolerance:.0%} of what the guest's stamps "
                        f"show here{hint}")


@exercise("lesson05", 2, "what Linux does while it boots", ("answer_share",), boots=False)
def check_crypto_share(answer: float, tolerance: float = 0.03) -> CheckResult:
    """Exercise 2: the share (0..1) of Linux's instructions from reset to ``app_exec`` that
    the boot option ``cryptomgr.notests`` (no crypto self-tests) saves, booting hello."""
    from .. import linux

    name = current().label
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


@exercise("lesson05", 3, "compute-bound code", ("work/spin.c",), boots=True, points=2)
def check_compute_parity(source: str | os.PathLike[str], tolerance: float = 0.05,
                         least: int = 100_000) -> CheckResult:
    """Exercise 3: a compute-bound C program that prints ``ticks N`` (the TSC around its
    loop) runs the same number of instructions on both guests. Booted on both under icount:
    1 point if it prints ``ticks`` at least ``least`` on both, 1 if the two agree within
    ``tolerance``.

    The printed figure is not taken on trust: the guests' own stamps (the app's start to its
    exit) must show at least as many instructions as the app claims its loop took."""
    from .. import linux
    from ..build import compile_app
    from ..errors import LabkitError
    from ..machine import run

    name = current().label
    skip = _no_linux(name)
    if skip is not None:
        return skip
    try:
        app = compile_app(source)
        with tempfile.TemporaryDirectory(prefix="labkit-check-") as tmp:   # packed, then gone
            binary = linux.compile_linux_app(source, name=app.name, out_dir=tmp)
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
    ran = {"the unikernel": _app_span(uni), "Linux": _app_span(lin)}
    short = [f"on {guest} the whole app ran " + ("no counted" if n is None else f"{n:,}")
             + " instructions" for (guest, n), claim in zip(ran.items(), (u, x), strict=True)
             if n is None or n < claim]
    if short:
        return failed(name, "the kernel's stamps say the app did less than it reports: "
                            + "; ".join(short) + f" (it prints ticks {u:,.0f} and {x:,.0f}). "
                            "Time the loop with rdtsc, do not print a number", 2)
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


#: Instructions a call into the kernel may cost (the kernel's own budget, kernel/README.md).
GETPID_BUDGET = 20

#: The app :func:`check_counted_getpid` boots: 1000 calls, and the kernel's counter around them.
COUNT_PROBE = """\
#include <stdio.h>
#include <unistd.h>

extern unsigned long getpid_calls;        /* the kernel's new statistic */

int main(void)
{
    unsigned long before = getpid_calls;
    int pid = 0;
    for (int i = 0; i < 1000; i++)
        pid = getpid();
    printf("getpid_calls_delta %lu\\npid %d\\n", getpid_calls - before, pid);
    return 0;
}
"""


def _getpid_cost(**options: object) -> tuple[float | None, str]:
    """Instructions per getpid() from syscall_bench under icount, and the console."""
    from ..errors import LabkitError
    from ..machine import run_sync

    try:
        m = run_sync("syscall_bench", "20000", icount=0, timeout=60, **options)
    except LabkitError as exc:
        return None, str(exc)
    return name_values(m.console.text).get("getpid_ticks_per_call"), m.console.text


@exercise("lesson05", 4, "a counted getpid (kernel)", ("my_change",), boots=True, points=2)
def check_counted_getpid(change: object) -> CheckResult:
    """Exercise 4 (kernel code): ``getpid()`` counts its calls in a global
    ``unsigned long getpid_calls`` (a kernel statistic an app can read, since the build
    exports every global of ``libc/``), changed with an :class:`~labkit.variant.Edit` of
    ``libc/unistd.c``.

    The kernel is built once and booted twice: 1 point when :data:`COUNT_PROBE` sees the
    counter grow by exactly 1000 over 1000 calls and getpid() still returns 1; 1 point when
    syscall_bench, under icount, still measures a call within :data:`GETPID_BUDGET`
    instructions. The message compares with the stock kernel, measured in the same run."""
    import tempfile
    from pathlib import Path

    from ._run import variant_or_verdict

    name = current().label
    variant = variant_or_verdict(change, name, 2)
    if isinstance(variant, CheckResult):
        return variant
    with variant, tempfile.TemporaryDirectory(prefix="labkit-check-") as tmp:
        probe = Path(tmp) / "count_probe.c"
        probe.write_text(COUNT_PROBE)
        trial = try_app(probe, kernel=variant.kernel)
        cost, console = _getpid_cost(kernel=variant.kernel)
    stock, _ = _getpid_cost()
    if trial.error:
        return failed(name, trial.error, 2)
    if getattr(trial.outcome, "app_status", None) != 0:
        return failed(name, f"the probe app did not run on your kernel: "
                            f"{trial.outcome.describe()} (is getpid_calls a global "  # type: ignore[union-attr]
                            "unsigned long, defined in libc/unistd.c?)", 2)
    values = name_values(trial.console)
    points, notes = 0, []
    if values.get("getpid_calls_delta") == 1000 and values.get("pid") == 1:
        points += 1
    else:
        notes.append(f"over 1000 calls the counter grew by {values.get('getpid_calls_delta')} "
                     f"and getpid() returned {values.get('pid')} (want 1000 and 1)")
    if cost is None:
        tail = "\n".join(console.splitlines()[-5:])
        notes.append(f"syscall_bench did not measure getpid on your kernel: {tail}")
    elif cost <= GETPID_BUDGET:
        points += 1
    else:
        notes.append(f"a call now costs {cost:g} instructions, over the budget of "
                     f"{GETPID_BUDGET}: count with one increment, nothing more")
    if points == 2:
        return passed(name, f"counted, and a call costs {stock:g} -> {cost:g} instructions "
                            "(stock -> yours, under icount, this run)", 2)
    return failed(name, "; ".join(notes), 2, points)


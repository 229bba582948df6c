# SPDX-License-Identifier: MIT
"""Checks of lesson 05-unikernel-vs-linux, under their lesson's name.

They are written in :mod:`labkit.exercises.linux`, next to the Linux guest they need; this
module gives them the name every lesson's checks have, so that ``labkit grade``, hidden
grading tests and :data:`labkit.exercises.CHECKS` reach them as ``lesson05.check_<name>``
like any other lesson's. Both names are the same functions.
"""

from __future__ import annotations

from . import CheckResult, failed, passed
from . import linux as _linux
from ._run import name_values, try_app
from .linux import *  # noqa: F403 - the checks, under this lesson's name

__all__ = [*_linux.__all__, "check_counted_getpid", "COUNT_PROBE", "GETPID_BUDGET"]

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

    name = "05.4 a counted getpid"
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


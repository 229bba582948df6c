# SPDX-License-Identifier: MIT
"""Checks of lesson 00-welcome."""

from __future__ import annotations

import os
import re

from ._check import CheckResult, current, exercise, failed, passed
from ._run import try_app, try_variant

__all__ = ["check_first_app", "check_longest_phase", "check_firmware_share", "check_split_phase",
           "STOCK_MILESTONES"]

#: The milestones the unmodified kernel sends, in order.
STOCK_MILESTONES = ("entry", "paging", "heap", "devices", "app_loaded", "app_main")


@exercise("lesson00", 1, "your first app", ("work/greet.c",), boots=True, points=2)
def check_first_app(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 1: ``greet.c`` prints ``Hello, NAME!`` and exits with its number of arguments.

    Booted twice, with three arguments and with none: 1 point for the greeting, 1 for the
    status both times."""
    name = current().label
    runs = {}
    for args in (("a", "b", "c"), ()):
        trial = try_app(source, *args)
        if trial.error:
            return failed(name, trial.error, 2)
        runs[args] = trial
    points, notes = 0, []
    text = runs[("a", "b", "c")].console
    if re.search(r"^Hello, \S.*!\s*$", text, re.M):
        points += 1
    else:
        notes.append("no line 'Hello, NAME!' on the console")
    statuses = {}
    for args, trial in runs.items():
        out = trial.outcome
        statuses[len(args)] = getattr(out, "app_status", None)
    if statuses == {3: 3, 0: 0}:
        points += 1
    else:
        got = ", ".join(f"{n} arguments -> {s}" for n, s in statuses.items())
        notes.append(f"exit status should be the number of arguments; got {got}")
    if points == 2:
        return passed(name, "it greets and counts its arguments, booted twice", 2)
    return failed(name, "; ".join(notes), 2, points)


@exercise("lesson00", 2, "the longest boot phase", ("answer_longest",), boots=False)
def check_longest_phase(answer: str) -> CheckResult:
    """Exercise 2: the longest phase of the kernel's own boot (firmware and app excluded),
    by phase name or milestone name; measured here under icount."""
    from ..lessons.timeline import longest_phase, profile_boot

    name = current().label
    if not isinstance(answer, str) or not answer.strip():
        return failed(name, f"give a phase name, a string from the table's 'phase' column "
                            f"(such as 'heap'), not {answer!r}")
    longest = longest_phase(profile_boot("hello", "pc", icount=True))
    given = answer.strip().lower()
    if given in (longest.name.lower(), longest.milestone.lower()):
        return passed(name, f"yes: '{longest.name}' ({longest.length:,} instructions), "
                            f"{longest.what}")
    return failed(name, f"measured here, the longest phase is not {answer!r}; look at the "
                        f"lengths of the phases between 'entry' and 'app_main' again")


@exercise("lesson00", 3, "how much of the boot is firmware", ("answer_share",), boots=False)
def check_firmware_share(answer: float, tolerance: float = 0.02) -> CheckResult:
    """Exercise 3: the share (0..1) of the instructions up to the app's main() that run before
    the kernel's first instruction, on the ``pc`` machine."""
    from ..lessons.timeline import profile_boot

    name = current().label
    prof = profile_boot("hello", "pc", icount=True)
    share = prof.phase("firmware").length / prof.phase("app_main").end
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return failed(name, f"give a number between 0 and 1, not {answer!r}")
    if value > 1.5:
        return failed(name, "a share is between 0 and 1 (did you give a percentage?)")
    if abs(value - share) <= tolerance:
        return passed(name, f"yes: {share:.3f} of the instructions before main() are firmware")
    return failed(name, f"{value:.3f} is more than {tolerance} away from the measured share")


@exercise("lesson00", 4, "split the longest phase (kernel)", ("my_edit",), boots=True, points=2)
def check_split_phase(change: object) -> CheckResult:
    """Exercise 4 (kernel code): a milestone of the student's own that splits the longest
    phase, ``heap`` -> ``devices``. The kernel is built with the change (a
    :class:`labkit.variant.Edit` of ``core/main.c``) and boots ``hello`` under icount: 1 point
    for a kernel that boots, exits 0 and sends a new milestone, 1 for that milestone lying
    strictly inside the phase. The message gives the two halves in instructions."""
    from ..events import Milestone

    name = current().label
    trial = try_variant(change, "hello", icount=True)
    if trial.error:
        return failed(name, trial.error, 2)
    status = getattr(trial.outcome, "app_status", None)
    if status != 0:
        return failed(name, f"the kernel with your change did not run hello to its end "
                            f"(outcome: {trial.outcome})", 2)
    marks = trial.machine.events.of_type(Milestone)  # type: ignore[attr-defined]
    tsc = {m.name: m.tsc for m in marks}
    new = [m for m in marks if m.name not in STOCK_MILESTONES]
    if not new:
        return failed(name, "it boots, but sends no milestone of its own: call "
                            "event_milestone(\"NAME\", 0) at the point you want to see", 2)
    start, end = tsc["heap"], tsc["devices"]
    inside = [m for m in new if start < m.tsc < end]
    if not inside:
        where = ", ".join(f"{m.name} at {m.tsc:,}" for m in new)
        return failed(name, f"your milestone ({where}) is not between 'heap' ({start:,}) and "
                            f"'devices' ({end:,}): put it among the calls between them", 2, 1)
    total = end - start
    parts = [("heap", start)] + [(m.name, m.tsc) for m in inside] + [("devices", end)]
    split = "; ".join(f"{a} -> {b}: {tb - ta:,} instructions ({(tb - ta) / total:.0%})"
                      for (a, ta), (b, tb) in zip(parts, parts[1:], strict=False))
    return passed(name, f"the phase splits: {split}", 2)

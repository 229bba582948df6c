# SPDX-License-Identifier: MIT
"""The automatic checks of the lessons' exercises.

Every check is a plain function ``check_<name>(...) -> CheckResult``: it takes what the student
produced (an answer, or the path of a C source they wrote), measures what it needs itself
(compiling and booting the student's code where the exercise changes code) and says how many
points it gives and why. ``labkit grade`` and nbgrader-style hidden tests call the same
functions; a notebook cell calls them directly::

    from labkit.exercises import lesson00
    lesson00.check_longest_phase("devices")      # CheckResult(points=1, max_points=1, ...)

Checks never raise for a wrong or broken answer (a compiler error, a panic, a typo): the
message says what went wrong. :data:`CHECKS` lists every check by lesson and
:data:`EXERCISES` says what each one takes, for ``labkit grade`` (:mod:`labkit.grade`). Every
lesson's checks live in ``labkit.exercises.lessonNN``, under that one name.

A check that cannot be checked on this machine (lesson 05 without a Linux guest) returns 0 of
0 points: :attr:`CheckResult.skipped`, neither passed nor failed in a grade.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace

__all__ = ["CheckResult", "Exercise", "EXERCISES", "CHECKS", "passed", "failed"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: ``points`` out of ``max_points`` and a message for the student."""

    name: str
    points: float
    max_points: float
    message: str
    #: COM1 text of the machines the check booted, when the grader recorded it (``labkit
    #: grade`` saves it for a failing check); empty otherwise.
    console: str = field(default="", repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points and not self.skipped

    @property
    def skipped(self) -> bool:
        """Nothing to check here (0 of 0 points): e.g. no Linux guest on this machine."""
        return self.max_points == 0

    def with_console(self, console: str) -> CheckResult:
        """The same verdict, carrying the console of the machines behind it."""
        return replace(self, console=console)

    def __str__(self) -> str:
        mark = "SKIP" if self.skipped else "PASS" if self.passed else "FAIL"
        return f"[{mark}] {self.name}: {self.points:g}/{self.max_points:g} - {self.message}"

    __repr__ = __str__   # the notebook test looks for "[FAIL]" in cell outputs

    def _repr_html_(self) -> str:
        colour = "#6e7781" if self.skipped else "#1a7f37" if self.passed else "#cf222e"
        mark = "not checked here" if self.skipped else "passed" if self.passed else "not yet"
        return (f"<div style='border-left:4px solid {colour};padding:2px 8px'>"
                f"<b>{html.escape(self.name)}</b>: {mark} "
                f"({self.points:g}/{self.max_points:g})<br>"
                f"<span style='white-space:pre-wrap'>{html.escape(self.message)}</span></div>")


def passed(name: str, message: str, max_points: float = 1.0) -> CheckResult:
    return CheckResult(name, max_points, max_points, message)


def failed(name: str, message: str, max_points: float = 1.0, points: float = 0.0) -> CheckResult:
    return CheckResult(name, points, max_points, message)


@dataclass(frozen=True)
class Exercise:
    """One exercise: where it is, what it asks, and what its check takes.

    ``inputs`` name what the student produces, in the order the check takes them: a path
    (``work/greet.c``, relative to the notebook's folder), a quoted literal (``'printf'``) or
    a notebook variable. ``points`` is the most the check gives (what ``labkit grade`` counts
    when the check could not even run)."""

    lesson: str            # labkit.exercises module, e.g. "lesson00"
    notebook: str          # e.g. "00-welcome.ipynb"
    name: str              # the check is check_<name>
    title: str
    inputs: tuple[str, ...]
    boots: bool            # the check compiles and boots the student's code
    points: float = 1.0

    @property
    def key(self) -> str:
        """``lesson00.first_app``: how ``labkit grade`` and its report name the exercise."""
        return f"{self.lesson}.{self.name}"

    def check(self):  # -> Callable[..., CheckResult]
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{self.lesson}"), f"check_{self.name}")


EXERCISES: tuple[Exercise, ...] = (
    Exercise("lesson00", "00-welcome.ipynb", "first_app", "your first app",
             ("work/greet.c",), True, 2),
    Exercise("lesson00", "00-welcome.ipynb", "longest_phase", "the longest boot phase",
             ("answer_longest",), False),
    Exercise("lesson00", "00-welcome.ipynb", "firmware_share", "how much of the boot is firmware",
             ("answer_share",), False),
    Exercise("lesson00", "00-welcome.ipynb", "split_phase", "split the longest phase (kernel)",
             ("my_edit",), True, 2),
    Exercise("lesson01", "01-single-address-space.ipynb", "binding", "where printf lands",
             ("'printf'", "answer_printf"), False),
    Exercise("lesson01", "01-single-address-space.ipynb", "refusal", "the loader's refusal",
             ("work/needs_more.c",), True),
    Exercise("lesson01", "01-single-address-space.ipynb", "call_cost", "measure a call yourself",
             ("work/ppid.c",), True),
    Exercise("lesson01", "01-single-address-space.ipynb", "kernel_export",
             "a new kernel export (kernel)", ("work/switches.c",), True, 2),
    Exercise("lesson02", "02-ring-zero.ipynb", "cr4", "read CR4 from the app",
             ("work/cr4.c",), True, 2),
    Exercise("lesson02", "02-ring-zero.ipynb", "panic_reading", "read the panic",
             ("answer_function", "answer_address"), False, 2),
    Exercise("lesson02", "02-ring-zero.ipynb", "strided_gc", "a strided mutator",
             ("work/gc_stride.c",), True),
    Exercise("lesson02", "02-ring-zero.ipynb", "pte_report", "the entry behind the fault (kernel)",
             ("my_edit",), True, 2),
    Exercise("lesson03", "03-net-channels.ipynb", "busiest_stage", "the busiest stage",
             ("answer_stage",), False),
    Exercise("lesson03", "03-net-channels.ipynb", "channel_count",
             "which frames take a channel", ("answer_frames",), False),
    Exercise("lesson03", "03-net-channels.ipynb", "fragment", "build a fragment",
             ("my_fragment",), False),
    Exercise("lesson03", "03-net-channels.ipynb", "upper", "a server of your own",
             ("work/upper.c",), True),
    Exercise("lesson03", "03-net-channels.ipynb", "early_drop",
             "a classifier rule (kernel)", ("my_edit",), True, 2),
    Exercise("lesson04", "04-ballooning.ipynb", "untouched_fraction", "memory nobody touched",
             ("answer_fraction",), False),
    Exercise("lesson04", "04-ballooning.ipynb", "oom_actual",
             "how far the guest grows back", ("answer_mib",), False),
    Exercise("lesson04", "04-ballooning.ipynb", "cache_app", "a cache that lends",
             ("work/cache.c",), True, 3),
    Exercise("lesson04", "04-ballooning.ipynb", "lendable_stats",
             "what the heap could lend (kernel)", ("my_edit",), True, 2),
    Exercise("lesson05", "05-unikernel-vs-linux.ipynb", "syscall_ratio",
             "the price of a system call", ("answer_ratio",), False),
    Exercise("lesson05", "05-unikernel-vs-linux.ipynb", "crypto_share",
             "what Linux does while it boots", ("answer_share",), False),
    Exercise("lesson05", "05-unikernel-vs-linux.ipynb", "compute_parity", "compute-bound code",
             ("work/spin.c",), True, 2),
    Exercise("lesson05", "05-unikernel-vs-linux.ipynb", "counted_getpid",
             "a counted getpid (kernel)", ("my_change",), True, 2),
)

#: lesson -> names of its checks (module labkit.exercises.<lesson>, function check_<name>).
CHECKS: dict[str, tuple[str, ...]] = {
    "lesson00": ("first_app", "longest_phase", "firmware_share", "split_phase"),
    "lesson01": ("binding", "refusal", "call_cost", "kernel_export"),
    "lesson02": ("cr4", "panic_reading", "strided_gc", "pte_report"),
    "lesson03": ("busiest_stage", "channel_count", "fragment", "upper", "early_drop"),
    "lesson04": ("untouched_fraction", "oom_actual", "cache_app", "lendable_stats"),
    "lesson05": ("syscall_ratio", "crypto_share", "compute_parity", "counted_getpid"),
}

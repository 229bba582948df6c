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
message says what went wrong. :data:`CHECKS` lists every check by lesson, for the grader.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["CheckResult", "CHECKS", "passed", "failed"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: ``points`` out of ``max_points`` and a message for the student."""

    name: str
    points: float
    max_points: float
    message: str

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points

    def __str__(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return f"[{mark}] {self.name}: {self.points:g}/{self.max_points:g} - {self.message}"

    __repr__ = __str__   # the notebook test looks for "[FAIL]" in cell outputs

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        mark = "passed" if self.passed else "not yet"
        return (f"<div style='border-left:4px solid {colour};padding:2px 8px'>"
                f"<b>{html.escape(self.name)}</b>: {mark} "
                f"({self.points:g}/{self.max_points:g})<br>"
                f"<span style='white-space:pre-wrap'>{html.escape(self.message)}</span></div>")


def passed(name: str, message: str, max_points: float = 1.0) -> CheckResult:
    return CheckResult(name, max_points, max_points, message)


def failed(name: str, message: str, max_points: float = 1.0, points: float = 0.0) -> CheckResult:
    return CheckResult(name, points, max_points, message)


#: lesson -> names of its checks (module labkit.exercises.<lesson>, function check_<name>).
CHECKS: dict[str, tuple[str, ...]] = {
    "lesson00": ("first_app", "longest_phase", "firmware_share"),
    "lesson01": ("binding", "refusal", "call_cost"),
    "lesson02": ("cr4", "panic_reading", "strided_gc"),
}

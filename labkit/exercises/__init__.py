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

from . import lesson00, lesson01, lesson02, lesson03, lesson04, lesson05  # noqa: F401 - declares
from ._check import REGISTRY, CheckResult, Exercise, current, exercise, failed, passed

__all__ = ["CheckResult", "Exercise", "EXERCISES", "CHECKS", "exercise", "current", "passed",
           "failed"]

#: Every exercise, lesson by lesson in order: made from the checks' declarations.
EXERCISES: tuple[Exercise, ...] = tuple(sorted(REGISTRY, key=lambda e: (e.lesson, e.number)))

#: lesson -> names of its checks (module labkit.exercises.<lesson>, function check_<name>).
CHECKS: dict[str, tuple[str, ...]] = {
    lesson: tuple(e.name for e in EXERCISES if e.lesson == lesson)
    for lesson in dict.fromkeys(e.lesson for e in EXERCISES)}

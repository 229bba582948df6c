# SPDX-License-Identifier: MIT
"""What a check is: its verdict (:class:`CheckResult`), its declaration (:func:`exercise`, which
records an :class:`Exercise`) and the helpers that build verdicts.

Each check is declared once, where it is written::

    @exercise("lesson03", 4, "a server of your own", ("work/upper.c",), boots=True)
    def check_upper(source): ...

The declaration gives the lesson, the exercise's number and title, what the check takes and
how many points it is worth; :data:`labkit.exercises.EXERCISES` and
:data:`labkit.exercises.CHECKS` are made from these declarations. While a check runs,
:func:`current` is its :class:`Exercise`, and its verdict carries the exercise's label and
points (a verdict of 0 of 0 points, "not checked here", stays so).
"""

from __future__ import annotations

import contextvars
import functools
import html
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ParamSpec

__all__ = ["CheckResult", "Exercise", "exercise", "current", "passed", "failed", "REGISTRY",
           "NOTEBOOKS"]

#: lesson -> its notebook.
NOTEBOOKS = {
    "lesson00": "00-welcome.ipynb",
    "lesson01": "01-single-address-space.ipynb",
    "lesson02": "02-ring-zero.ipynb",
    "lesson03": "03-net-channels.ipynb",
    "lesson04": "04-ballooning.ipynb",
    "lesson05": "05-unikernel-vs-linux.ipynb",
}

#: Every declared exercise, in the order the modules declared them.
REGISTRY: list[Exercise] = []

_RUNNING: contextvars.ContextVar[Exercise | None] = contextvars.ContextVar("exercise",
                                                                          default=None)
P = ParamSpec("P")


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


def passed(name: str, message: str, max_points: float | None = None) -> CheckResult:
    """Full marks (the declared points of the check that runs, unless given)."""
    most = _most(max_points)
    return CheckResult(name, most, most, message)


def failed(name: str, message: str, max_points: float | None = None,
           points: float = 0.0) -> CheckResult:
    """``points`` (none by default) of the declared points of the check that runs."""
    return CheckResult(name, points, _most(max_points), message)


def _most(given: float | None) -> float:
    if given is not None:
        return given
    running = _RUNNING.get()
    return running.points if running is not None else 1.0


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
    number: int = 0        # its place in the lesson: exercise 1, 2, ...

    @property
    def key(self) -> str:
        """``lesson00.first_app``: how ``labkit grade`` and its report name the exercise."""
        return f"{self.lesson}.{self.name}"

    @property
    def label(self) -> str:
        """``03.4 a server of your own``: how the check's verdict names the exercise."""
        return f"{self.lesson.removeprefix('lesson')}.{self.number} {self.title}"

    def check(self) -> Callable[..., CheckResult]:
        return getattr(importlib.import_module(f"labkit.exercises.{self.lesson}"),
                       f"check_{self.name}")




def current() -> Exercise:
    """The exercise whose check is running (for its label: ``name = current().label``)."""
    running = _RUNNING.get()
    if running is None:
        raise RuntimeError("current() is for the body of a check declared with @exercise")
    return running


def exercise(lesson: str, number: int, title: str, inputs: tuple[str, ...], *, boots: bool,
             points: float = 1.0) -> Callable[[Callable[P, CheckResult]],
                                              Callable[P, CheckResult]]:
    """Declare the check below as exercise ``number`` of ``lesson`` (see the module's text)."""
    def declare(check: Callable[P, CheckResult]) -> Callable[P, CheckResult]:
        name = check.__name__.removeprefix("check_")
        ex = Exercise(lesson, NOTEBOOKS[lesson], name, title, tuple(inputs), boots, points,
                      number)
        if any(e.key == ex.key or (e.lesson, e.number) == (lesson, number) for e in REGISTRY):
            raise ValueError(f"exercise {ex.key} ({lesson} number {number}) declared twice")
        REGISTRY.append(ex)

        @functools.wraps(check)
        def run(*args: P.args, **kwargs: P.kwargs) -> CheckResult:
            token = _RUNNING.set(ex)
            try:
                result = check(*args, **kwargs)
            finally:
                _RUNNING.reset(token)
            if result.skipped:
                return replace(result, name=ex.label)
            return replace(result, name=ex.label, max_points=ex.points,
                           points=min(result.points, ex.points))

        run.exercise = ex  # type: ignore[attr-defined]
        return run

    return declare

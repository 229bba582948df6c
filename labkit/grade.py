# SPDX-License-Identifier: MIT
"""``labkit grade``: the exercises' checks run on a student's notebooks, as xv6's ``make grade``.

For every notebook that holds a selected exercise (:data:`labkit.exercises.EXERCISES`):

1. the notebook runs from top to bottom in a fresh kernel (nbclient), in its own folder, with a
   timeout per cell; a cell that fails does not stop the run. A first cell, added for the run
   and never saved, turns the notebook's own check calls into no-ops, so that each check runs
   once, at the end, on the answer the notebook holds then;
2. after the last cell, one grading cell per exercise calls
   ``labkit.exercises.<lesson>.check_<name>`` with the inputs :data:`EXERCISES` names (files
   relative to the notebook's folder, variables from the notebook's namespace) and records the
   :class:`~labkit.exercises.CheckResult`, with the COM1 text of every machine the check booted.

The report (:class:`GradeReport`) has per-exercise points, a total score, a JSON form, and a
console log for each check that did not pass (``REPORT/logs/<lesson>.<name>.txt``); the
executed notebooks (and each kernel's own log) are kept in ``REPORT/notebooks/`` for the
instructor to read. A check
that has nothing to check on this machine (0 of 0 points) counts neither way.

The same checks serve nbgrader-style hidden tests: a test cell that calls
``lesson00.check_first_app("work/greet.c")`` and asserts ``.passed`` (docs/instructors.md).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, paths
from .errors import LabkitError
from .exercises import CHECKS, EXERCISES, CheckResult, Exercise

__all__ = ["GradeReport", "Graded", "NotebookRun", "select", "grade", "format_report",
           "record_machines", "CELL_TIMEOUT", "CHECK_TIMEOUT"]

#: Seconds a notebook cell may run during grading (the lessons' own budget is 30 s on two
#: cores; a shared server with one CPU per student is slower).
CELL_TIMEOUT = 120
#: Seconds one check may run (lesson 05's checks boot a Linux guest twice under icount).
CHECK_TIMEOUT = 300

_MARK = "labkit_grade"           # metadata key of the cells the grader adds
_ORIGINALS: dict[str, Callable[..., CheckResult]] = {}   # in the grading kernel


# ------------------------------------------------------------------------------ the report
@dataclass
class Graded:
    """One exercise's grade. ``status``: pass, fail, skip (nothing to check here) or not-run
    (the check could not run: its input is missing, the notebook is, or the kernel died)."""

    key: str
    title: str
    notebook: str
    points: float
    max_points: float
    status: str
    message: str
    seconds: float = 0.0
    console_log: str | None = None      # relative to the report folder

    @property
    def counted(self) -> bool:
        return self.status != "skip"


@dataclass
class NotebookRun:
    """How a notebook's run went: its time and the cells that raised."""

    notebook: str
    seconds: float = 0.0
    cells: int = 0
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None            # the run itself failed (no notebook, dead kernel)
    executed: str | None = None         # the executed copy, relative to the report folder


@dataclass
class GradeReport:
    """Everything ``labkit grade`` found; :meth:`to_json` is the saved form."""

    results: list[Graded]
    notebooks: list[NotebookRun]
    notebooks_dir: str
    report_dir: str
    seconds: float = 0.0
    started: str = ""

    @property
    def score(self) -> float:
        return sum(g.points for g in self.results if g.counted)

    @property
    def max_score(self) -> float:
        return sum(g.max_points for g in self.results if g.counted)

    @property
    def all_passed(self) -> bool:
        return all(g.status in ("pass", "skip") for g in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"labkit": __version__, "started": self.started, "seconds": round(self.seconds, 1),
                "notebooks_dir": self.notebooks_dir, "score": self.score,
                "max_score": self.max_score,
                "exercises": [asdict(g) for g in self.results],
                "notebooks": [asdict(n) for n in self.notebooks]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


# ------------------------------------------------------------------------------ selection
def select(names: Sequence[str] = ()) -> list[Exercise]:
    """The exercises named: ``lesson00`` or ``00`` (all of a lesson), ``lesson00.first_app``
    or ``first_app`` (one); none named means all. Raises :class:`LabkitError` for an unknown
    name, listing the known ones."""
    if not names:
        return list(EXERCISES)
    chosen: list[Exercise] = []
    for raw in names:
        name = raw.strip()
        lesson, _, check = name.partition(".")
        if lesson.isdigit():
            lesson = f"lesson{int(lesson):02d}"
        if lesson in CHECKS:
            found = [e for e in EXERCISES if e.lesson == lesson and (not check or e.name == check)]
        else:
            found = [e for e in EXERCISES if e.name == name]
        if not found:
            known = ", ".join(sorted(CHECKS)) + "; " + ", ".join(e.key for e in EXERCISES)
            raise LabkitError(f"no exercise {raw!r}: name a lesson or an exercise ({known})")
        chosen += [e for e in found if e not in chosen]
    return chosen


# ------------------------------------------------------------------------------ consoles
@contextlib.contextmanager
def record_machines() -> Iterator[list[Any]]:
    """Collect every :class:`~labkit.machine.Machine` made while the block runs (in any
    thread), so that the grader can save the console of the runs behind a check. The checks
    boot machines in many ways (``try_app``, ``run``, ``Machine``, the Linux guest); this is
    the one place they all pass through. Not reentrant: the grader runs one check at a time."""
    from .machine import Machine

    seen: list[Any] = []
    original = Machine.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        seen.append(self)

    Machine.__init__ = init  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Machine.__init__ = original  # type: ignore[method-assign]


def consoles_text(machines: Sequence[Any]) -> str:
    """The COM1 text of ``machines``, each under a line naming the run and how it ended."""
    parts = []
    for m in machines:
        what = " ".join([str(m.config.app or "(no app)"), *m.config.args])
        ended = m.outcome.describe() if m.outcome is not None else m.state.value
        parts.append(f"===== {what}: {ended}\n{m.console.text.rstrip()}\n")
    return "\n".join(parts)


# ------------------------------------------------------------------------------ in the kernel
def _enter_grading() -> None:
    """First cell of a graded run: the notebook's own check calls become no-ops (the grader
    calls every check once, after the last cell)."""
    import importlib

    for lesson, names in CHECKS.items():
        module = importlib.import_module(f"labkit.exercises.{lesson}")
        for name in names:
            fn = getattr(module, f"check_{name}")
            key = f"{lesson}.{name}"
            _ORIGINALS.setdefault(key, fn)

            def stub(*args: Any, _key: str = key, **kwargs: Any) -> CheckResult:
                return CheckResult(_key, 0, 0, "checked by labkit grade after the last cell")

            stub.__name__ = fn.__name__
            stub.__doc__ = fn.__doc__
            # every module that holds this function (one imported it from another)
            for mod in list(sys.modules.values()):
                if getattr(mod, "__name__", "").startswith("labkit.exercises.") and \
                        getattr(mod, f"check_{name}", None) is fn:
                    setattr(mod, f"check_{name}", stub)


class _Missing(Exception):
    pass


def _resolve(spec: str, namespace: dict[str, Any]) -> Any:
    if spec[:1] in ("'", '"'):
        return ast.literal_eval(spec)
    if "/" in spec:
        return spec                       # a path, relative to the notebook's folder
    if spec not in namespace:
        raise _Missing(spec)
    return namespace[spec]


def _check_in_kernel(key: str, namespace: dict[str, Any], journal: str) -> CheckResult:
    """A grading cell: run one check on the notebook's answer and record the verdict."""
    exercise = next(e for e in EXERCISES if e.key == key)
    check = _ORIGINALS.get(key) or exercise.check()
    started = time.perf_counter()
    record: dict[str, Any] = {"key": key}
    try:
        args = [_resolve(spec, namespace) for spec in exercise.inputs]
    except _Missing as missing:
        result = CheckResult(key, 0, exercise.points,
                             f"the notebook has no variable {missing}: did its cell run?")
        record["status"] = "not-run"
    else:
        with record_machines() as machines:
            try:
                result = check(*args)
            except Exception as exc:  # noqa: BLE001 - a check must not take the grade down
                result = CheckResult(key, 0, exercise.points,
                                     f"the check raised {type(exc).__name__}: {exc}")
                record["traceback"] = traceback.format_exc()
        result = result.with_console(consoles_text(machines))
    record.update(points=result.points, max_points=result.max_points, message=result.message,
                  console=result.console, seconds=time.perf_counter() - started)
    with open(journal, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    return result


# ------------------------------------------------------------------------------ running
def _grading_cells(exercises: Sequence[Exercise], journal: Path) -> tuple[Any, list[Any]]:
    import nbformat

    first = nbformat.v4.new_code_cell(
        "import labkit.grade as _labkit_grade\n_labkit_grade._enter_grading()")
    first.metadata[_MARK] = "setup"
    checks = []
    for e in exercises:
        cell = nbformat.v4.new_code_cell(
            f"_labkit_grade._check_in_kernel({e.key!r}, globals(), {str(journal)!r})")
        cell.metadata[_MARK] = e.key
        checks.append(cell)
    return first, checks


def _error_summary(cell: Any) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip()
    return None


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return (lines[0] if lines else "")[:70]


def _run_notebook(path: Path, exercises: Sequence[Exercise], report_dir: Path, journal: Path,
                  cell_timeout: int, check_timeout: int, skip_solutions: bool,
                  progress: Callable[[str], None] | None) -> NotebookRun:
    import nbformat
    from nbclient import NotebookClient

    run = NotebookRun(path.name)
    nb = nbformat.read(path, as_version=4)
    if skip_solutions:
        nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    own = len(nb.cells)
    first, checks = _grading_cells(exercises, journal)
    nb.cells = [first, *nb.cells, *checks]
    run.cells = own

    def timeout_for(cell: Any) -> int:
        return check_timeout if cell.metadata.get(_MARK, "setup") != "setup" else cell_timeout

    def on_start(cell: Any, cell_index: int) -> None:
        if progress is None:
            return
        mark = cell.metadata.get(_MARK)
        if mark is None:
            progress(f"cell {cell_index}/{own}: {_first_line(cell.source)}")
        elif mark != "setup":
            progress(f"checking {mark}")

    client = NotebookClient(nb, timeout=cell_timeout, timeout_func=timeout_for,
                            kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                            record_timing=True, on_cell_start=on_start,
                            resources={"metadata": {"path": str(path.parent)}})
    out = report_dir / "notebooks" / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    kernel_log = out.with_suffix(".kernel.log")        # the kernel's own stderr, not the terminal
    started = time.perf_counter()
    with open(kernel_log, "w", encoding="utf-8") as log:
        try:
            client.execute(stdout=log, stderr=log)
        except Exception as exc:  # noqa: BLE001 - a dead kernel ends this notebook, not the grade
            run.error = f"the run stopped: {type(exc).__name__}: {str(exc).strip()[:300]}"
    run.seconds = round(time.perf_counter() - started, 1)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.metadata.get(_MARK):
            continue
        error = _error_summary(cell)
        if error:
            run.cell_errors.append({"cell": index, "first_line": _first_line(cell.source),
                                    "error": error[:300]})
    nb.cells = [c for c in nb.cells if c.metadata.get(_MARK) != "setup"]
    nbformat.write(nb, out)
    run.executed = str(out.relative_to(report_dir))
    return run


def _read_journal(journal: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    if journal.is_file():
        for line in journal.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                records[record["key"]] = record
    return records


def _graded(e: Exercise, record: dict[str, Any] | None, run: NotebookRun,
            report_dir: Path) -> Graded:
    if record is None:
        why = run.error or "its grading cell did not run or timed out"
        return Graded(e.key, e.title, e.notebook, 0, e.points, "not-run", why)
    points, most = float(record["points"]), float(record["max_points"])
    status = record.get("status") or ("skip" if most == 0 else
                                      "pass" if points >= most else "fail")
    graded = Graded(e.key, e.title, e.notebook, points, most, status, record["message"],
                    round(float(record.get("seconds", 0.0)), 2))
    if status in ("fail", "not-run"):
        log = report_dir / "logs" / f"{e.key}.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        console = record.get("console") or "(the check booted no machine)\n"
        extra = f"\n----- the check raised -----\n{record['traceback']}" \
            if record.get("traceback") else ""
        log.write_text(f"{e.key} ({e.title}): {points:g}/{most:g}\n{record['message']}\n\n"
                       f"----- console (COM1) of the runs behind the check -----\n"
                       f"{console}{extra}", encoding="utf-8")
        graded.console_log = str(log.relative_to(report_dir))
    return graded


def grade(exercises: Sequence[Exercise] | None = None, notebooks_dir: str | os.PathLike[str]
          | None = None, report_dir: str | os.PathLike[str] = "grade-report",
          cell_timeout: int = CELL_TIMEOUT, check_timeout: int = CHECK_TIMEOUT,
          skip_solutions: bool = False, progress: Callable[[str], None] | None = None,
          ) -> GradeReport:
    """Grade ``exercises`` (default: all) on the notebooks in ``notebooks_dir`` (default: the
    repository's ``notebooks/``). Writes the console logs and executed notebooks under
    ``report_dir``; returns the report (write it with :meth:`GradeReport.to_json`).

    ``skip_solutions`` leaves out the cells tagged ``solution`` (a student working in the
    full notebooks is graded on their own answers, not on the folded solutions)."""
    exercises = list(exercises or EXERCISES)
    folder = Path(notebooks_dir) if notebooks_dir else paths.repo_root() / "notebooks"
    if not folder.is_dir():
        raise LabkitError(f"{folder}: no such folder of notebooks (give --notebooks DIR)")
    if not paths.kernel_image().is_file():
        raise LabkitError(f"{paths.kernel_image()} is not built: run `make build` (or "
                          "`labkit build`) first, the checks boot it")
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = GradeReport([], [], str(folder), str(out),
                         started=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    started = time.perf_counter()
    by_notebook: dict[str, list[Exercise]] = {}
    for e in exercises:
        by_notebook.setdefault(e.notebook, []).append(e)
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as tmp:
        for notebook, chosen in by_notebook.items():
            path = folder / notebook
            if not path.is_file():
                run = NotebookRun(notebook, error=f"{path} not found")
            else:
                if progress is not None:
                    progress(f"running {notebook} in a fresh kernel")
                journal = Path(tmp) / f"{path.stem}.jsonl"
                run = _run_notebook(path, chosen, out, journal, cell_timeout, check_timeout,
                                    skip_solutions, progress)
            report.notebooks.append(run)
            records = _read_journal(Path(tmp) / f"{path.stem}.jsonl")
            report.results += [_graded(e, records.get(e.key), run, out) for e in chosen]
    report.seconds = round(time.perf_counter() - started, 1)
    return report


# ------------------------------------------------------------------------------ presentation
_WORDS = {"pass": "OK", "fail": "FAIL", "skip": "SKIP", "not-run": "NOT RUN"}


def format_report(report: GradeReport) -> str:
    """The report as xv6's ``make grade`` prints it: one line per exercise, then the score."""
    lines = []
    for run in report.notebooks:
        errors = run.cell_errors
        note = (f"{len(errors)} cell(s) raised an error, first: cell {errors[0]['cell']} "
                f"{errors[0]['error']}" if errors else "no cell raised an error")
        lines.append(f"== {run.notebook}: " + (run.error or f"ran in {run.seconds:.1f} s, "
                                                             f"{note}"))
    width = max((len(g.key) for g in report.results), default=10)
    for g in report.results:
        left = f"{g.key:<{width}}  {g.title}: "
        lines.append(f"{left:<{width + 40}} {_WORDS[g.status]:<7} {g.points:g}/{g.max_points:g}"
                     + (f"  ({g.seconds:.1f} s)" if g.seconds else ""))
        if g.status != "pass":
            lines += [f"    {line}" for line in g.message.splitlines()[:6]]
        if g.console_log:
            lines.append(f"    console: {Path(report.report_dir) / g.console_log}")
    lines.append(f"Score: {report.score:g}/{report.max_score:g}")
    return "\n".join(lines)

# SPDX-License-Identifier: MIT
"""labkit grade: choosing exercises, grading a student's notebook (a wrong answer, a missing
one, a broken cell, a right one), the report and its console logs, the command line; and the
same checks as nbgrader-style hidden tests in a notebook kernel."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from labkit.errors import LabkitError
from labkit.exercises import EXERCISES, CheckResult
from labkit.grade import Graded, GradeReport, NotebookRun, format_report, select

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
GREET_WRONG = """\
%%writefile work/greet.c
#include <stdio.h>
int main(int argc, char **argv) { puts("hi there"); return 0; }
"""
GREET_RIGHT = """\
%%writefile work/greet.c
#include <stdio.h>
int main(int argc, char **argv) { printf("Hello, %s!\\n", argc > 1 ? argv[1] : "you");
                                  return argc - 1; }
"""


# ------------------------------------------------------------------------ choosing
def test_select_takes_lessons_numbers_and_exercises():
    assert select() == list(EXERCISES)
    assert [e.key for e in select(["lesson00"])] == [
        "lesson00.first_app", "lesson00.longest_phase", "lesson00.firmware_share",
        "lesson00.split_phase"]
    assert select(["00"]) == select(["lesson00"])
    assert [e.key for e in select(["02.cr4", "strided_gc", "lesson02.cr4"])] == [
        "lesson02.cr4", "lesson02.strided_gc"]
    with pytest.raises(LabkitError, match="no exercise 'lesson09'.*lesson00.first_app"):
        select(["lesson09"])


def test_every_lesson_has_exercises_and_points():
    lessons = {e.lesson for e in EXERCISES}
    assert lessons == {f"lesson0{i}" for i in range(6)}
    assert all(e.points >= 1 for e in EXERCISES)


def test_checks_say_their_own_maximum_without_booting(tmp_path):
    """A missing file is refused before anything boots, with the points the registry says."""
    for e in EXERCISES:
        if e.inputs and "/" in e.inputs[0] and e.lesson != "lesson05":
            result = e.check()(str(tmp_path / "missing.c"))
            assert (result.points, result.max_points) == (0, e.points), e.key


# ------------------------------------------------------------------------ the report
def test_report_text_and_json():
    report = GradeReport(
        [Graded("lesson00.first_app", "your first app", "00-welcome.ipynb", 1, 2, "fail",
                "no greeting", 1.5, "logs/lesson00.first_app.txt"),
         Graded("lesson00.longest_phase", "the longest boot phase", "00-welcome.ipynb", 1, 1,
                "pass", "yes"),
         Graded("lesson05.syscall_ratio", "the price", "05.ipynb", 0, 0, "skip", "no Linux")],
        [NotebookRun("00-welcome.ipynb", 12.0, 39,
                     [{"cell": 25, "first_line": "x", "error": "NameError: y"}])],
        "notebooks", "out")
    assert (report.score, report.max_score, report.all_passed) == (2, 3, False)
    text = format_report(report)
    assert "FAIL    1/2" in text and "OK      1/1" in text and "SKIP" in text
    assert "console: out/logs/lesson00.first_app.txt" in text
    assert "cell 25 NameError: y" in text and text.endswith("Score: 2/3")
    data = json.loads(report.to_json())
    assert data["score"] == 2 and data["max_score"] == 3
    assert data["exercises"][0]["console_log"] == "logs/lesson00.first_app.txt"


def test_check_result_stays_compatible():
    r = CheckResult("x", 0, 0, "nothing to check here")
    assert r.skipped and not r.passed and str(r).startswith("[SKIP]")
    assert CheckResult("x", 1, 1, "ok") == CheckResult("x", 1, 1, "ok").with_console("text")
    assert "text" not in repr(CheckResult("x", 1, 1, "ok").with_console("text"))


# ------------------------------------------------------------------------ grading a notebook
def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.mark.boot
def test_grade_a_student_notebook(tmp_path):
    """A student's lesson 00: a greeting that is wrong, a right answer, a missing one, a cell
    that raises, and a check call of their own (which must not run twice)."""
    from labkit.grade import grade

    student = tmp_path / "student"
    (student / "work").mkdir(parents=True)
    _notebook(student / "00-welcome.ipynb", [
        GREET_WRONG,
        "from labkit.exercises import lesson00\nmine = lesson00.check_first_app('work/greet.c')\n"
        "assert mine.skipped, mine   # the grader checks at the end, once",
        "answer_longest = 'devices'",
        "1 / 0",
    ])
    report = grade(select(["lesson00"]), student, tmp_path / "report")
    got = {g.key: g for g in report.results}
    first = got["lesson00.first_app"]
    assert (first.status, first.points, first.max_points) == ("fail", 0, 2)
    assert "Hello, NAME!" in first.message
    log = (tmp_path / "report" / first.console_log).read_text()
    assert "===== greet a b c: the app exited with status 0" in log and "hi there" in log
    assert got["lesson00.longest_phase"].status in ("pass", "fail")   # measured, not guessed
    share = got["lesson00.firmware_share"]
    assert share.status == "not-run" and "no variable answer_share" in share.message
    split = got["lesson00.split_phase"]                      # a kernel change nobody made
    assert split.status == "not-run" and "no variable my_edit" in split.message
    run = report.notebooks[0]
    assert run.cell_errors and run.cell_errors[0]["error"].startswith("ZeroDivisionError")
    executed = nbformat.read(tmp_path / "report" / run.executed, as_version=4)
    assert len(executed.cells) == 4 + 4       # the student's cells and the four checks
    assert report.max_score == 6


@pytest.mark.boot
@pytest.mark.slow
def test_labkit_grade_gives_the_solutions_full_marks(tmp_path, capsys):
    """The command line on the real lesson 00, solutions in: every check passes, exit 0,
    the JSON report where --json says."""
    from labkit.cli import main

    out = tmp_path / "g.json"
    status = main(["grade", "lesson00", "--report", str(tmp_path / "r"), "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] == 6
    assert "Score: 6/6" in text
    assert not (tmp_path / "r" / "logs").exists()     # no failing check, no log


def test_grade_refuses_a_missing_folder(tmp_path):
    from labkit.cli import main

    assert main(["grade", "--notebooks", str(tmp_path / "nope")]) == 125


# ------------------------------------------------------------------------ nbgrader hidden tests
def _nbgrader_cell(source: str, grade_id: str, points: float, **flags) -> object:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "points": points, "schema_version": 3,
                                 "grade": flags.get("grade", False),
                                 "solution": flags.get("solution", False),
                                 "locked": flags.get("locked", False)}
    return cell


def _nbgrader_score(cell) -> float:
    """nbgrader's rule for an autograder test cell: an error gives 0, a number as the cell's
    result gives partial credit, anything else all the points."""
    points = float(cell.metadata["nbgrader"]["points"])
    for out in cell.outputs:
        if out.output_type == "error":
            return 0.0
        if out.output_type == "execute_result":
            try:
                value = float(out.data["text/plain"])
            except ValueError:
                return points
            return value if value > 0 else points
    return points


HIDDEN_BINDING = textwrap.dedent("""\
    ### BEGIN HIDDEN TESTS
    from labkit.exercises import lesson01
    result = lesson01.check_binding("printf", answer_printf)
    assert result.passed, result
    ### END HIDDEN TESTS
    """)
HIDDEN_GREET = textwrap.dedent("""\
    ### BEGIN HIDDEN TESTS
    from labkit.exercises import lesson00
    result = lesson00.check_first_app("work/greet.c")
    print(result)
    assert result.points > 0, result
    result.points       # nbgrader's partial credit: the cell's value
    ### END HIDDEN TESTS
    """)


@pytest.mark.boot
@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
def test_checks_as_nbgrader_hidden_tests(tmp_path, right):
    """The autograded notebook nbgrader would run: the student's answer cells, then test cells
    whose hidden part calls the lesson's check and asserts. Executed as nbgrader autograde
    executes it (nbclient, errors allowed), scored by nbgrader's rule."""
    from labkit.lessons.linking import got_slot

    printf = got_slot("hello", "printf")     # where the linker writes printf's address
    (tmp_path / "work").mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        _nbgrader_cell(f"answer_printf = {printf if right else 0x1234:#x}", "binding_answer", 0,
                       solution=True),
        _nbgrader_cell(HIDDEN_BINDING, "binding_test", 1, grade=True, locked=True),
        _nbgrader_cell(GREET_RIGHT if right else GREET_RIGHT.replace("argc - 1", "0"),
                       "greet_answer", 0, solution=True),
        _nbgrader_cell(HIDDEN_GREET, "greet_test", 2, grade=True, locked=True),
    ])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    scores = [_nbgrader_score(c) for c in nb.cells if c.metadata["nbgrader"]["grade"]]
    if right:
        assert scores == [1, 2]
    else:
        # the address is wrong: the assertion fails, 0; greet greets but always exits 0:
        # the check's 1 of 2 becomes nbgrader's partial credit
        assert scores == [0, 1]
        assert "AssertionError" in json.dumps(nb.cells[1].outputs)

# SPDX-License-Identifier: MIT
"""scripts/student_copy.py: the student copy keeps no solution (no cell tagged or folded, no
solution text, no folded discussion of an answer), keeps every exercise's check, and runs
from top to bottom, where every check fails politely on the starting code."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from labkit.exercises import EXERCISES

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def _script():
    spec = importlib.util.spec_from_file_location("student_copy",
                                                  ROOT / "scripts" / "student_copy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def copy_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    assert _script().main([str(out)]) == 0
    return out


def _text(nb: dict) -> str:
    return "\n".join("".join(c["source"]) for c in nb["cells"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_copy_has_no_solution_left(copy_dir, path):
    original = json.loads(path.read_text())
    copy = json.loads((copy_dir / path.name).read_text())
    assert _script().leftovers(original, copy) == []
    for cell in copy["cells"]:
        assert "solution" not in cell["metadata"].get("tags", [])
        assert not cell["metadata"].get("jupyter", {}).get("source_hidden")
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
    text = _text(copy)
    for cell in original["cells"]:
        if "solution" in cell["metadata"].get("tags", []):
            assert "".join(cell["source"]).strip() not in text
    assert "unfold after answering" not in text and "folded cells" not in text
    for e in EXERCISES:                      # every check is still there to run
        if e.notebook == path.name:
            assert f"{e.lesson}.check_{e.name}(" in text
    assert len(copy["cells"]) < len(original["cells"])


def test_placeholders_and_what_stays():
    m = _script()
    nb = {"metadata": {}, "nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source":
            "Try first.\n<details><summary>Solution</summary>\n\nx = 42\n</details>\n\n"
            "<details><summary>Going further</summary>\nmore\n</details>\n"},
        {"cell_type": "code", "metadata": {"tags": ["solution"],
                                           "jupyter": {"source_hidden": True}},
         "source": "%%writefile work/a.c\nint main(void) { return 42; }\n",
         "outputs": [], "execution_count": 3},
        {"cell_type": "markdown", "metadata": {}, "source": "Next"},
        {"cell_type": "code", "metadata": {"tags": ["solution", "keep"]},
         "source": "answer = 42", "outputs": [], "execution_count": None},
    ]}
    copy = m.student_notebook(nb)
    sources = ["".join(c["source"]) for c in copy["cells"]]
    assert sources[0].startswith("Try first.") and "Going further" in sources[0]
    assert "x = 42" not in sources[0]
    assert sources[1] == "%%writefile work/a.c\n// YOUR ANSWER HERE\n"
    assert sources[3] == "# YOUR ANSWER HERE\n"
    assert copy["cells"][3]["metadata"] == {"tags": ["keep"]}
    assert copy["cells"][1]["execution_count"] is None
    assert m.leftovers(nb, copy) == []
    assert nb["cells"][1]["metadata"]["tags"] == ["solution"]   # the original is untouched


@pytest.mark.boot
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_copy_runs_and_its_checks_fail_politely(copy_dir, path):
    """Top to bottom with the starting code in: no cell raises (the exercise cells and the
    checks included), and no check passes an answer nobody gave."""
    from tests.test_notebooks import execute

    run = execute(copy_dir / path.name)
    verdicts = [o for o in run.outputs if "[PASS]" in o or "[FAIL]" in o or "[SKIP]" in o]
    assert verdicts, f"{path.name}: no check ran"
    assert not [o for o in verdicts if "[PASS]" in o], verdicts


def test_the_command_line_writes_the_same_copy(tmp_path, copy_dir):
    from labkit.cli import main

    assert main(["student-copy", str(tmp_path / "cli")]) == 0
    for path in NOTEBOOKS:
        assert (tmp_path / "cli" / path.name).read_text() == (copy_dir / path.name).read_text()
    assert (tmp_path / "cli" / "work").is_dir()

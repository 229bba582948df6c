# SPDX-License-Identifier: MIT
"""Every lesson notebook runs from top to bottom, as a student would run it.

Each notebook is executed with nbclient in a fresh ``python3`` kernel (the venv's own Python)
with the cell timeout of nbgrader (30 s), inside the lessons' 90 s budget. A failure names the
failing cell (number, first line, the error). The notebooks run with their solution cells, so
every exercise check must pass: a ``[FAIL]`` in any output fails the test. The committed
notebooks must carry no outputs (``scripts/strip_notebooks.py --check``).

A cell that boots the Linux guest (:data:`BOOTS_LINUX`) gets :data:`LINUX_CELL_TIMEOUT`
instead, and its time does not count against the 90 s budget, which is the unikernel's: it
boots a general-purpose kernel under TCG, often under ``-icount``, once or twice, which is the
comparison the lesson makes, and its time follows the host's load much more than a unikernel
boot's. labkit boots the same pinned Debian 12 kernel on every machine, so the limit does not
hide a slower kernel on some distribution.

Run ``python tests/test_notebooks.py`` to print each notebook's time and its slowest cells.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CELL_TIMEOUT = 30       # seconds, nbgrader's default
NOTEBOOK_BUDGET = 90    # seconds, top to bottom under TCG on 2 cores
LINUX_CELL_TIMEOUT = 60  # seconds, for a cell that boots the Linux guest
#: What a cell that boots the Linux guest calls (labkit.linux, labkit.lessons.linux_guest).
BOOTS_LINUX = re.compile(r"\b(linux_boot_profile|linux_wall_time|linux_call_costs|run_linux|"
                         r"linux_machine|tuned_linux_boot|check_iteration_cost|check_crypto_share|"
                         r"check_compute_parity)\b|squeeze\(\"linux\"|linux=HAVE_LINUX|"
                         r"\blin\.start\(")


def cell_timeout(source: str, timeout: int = CELL_TIMEOUT) -> int:
    """The limit for one cell: ``timeout``, or :data:`LINUX_CELL_TIMEOUT` (when larger) for
    a cell that boots the Linux guest."""
    return max(timeout, LINUX_CELL_TIMEOUT) if BOOTS_LINUX.search(source) else timeout


@dataclass
class NotebookRun:
    path: Path
    seconds: float = 0.0
    cells: list[tuple[int, float, str]] = field(default_factory=list)   # (index, s, first line)
    outputs: list[str] = field(default_factory=list)
    limits: dict[int, int] = field(default_factory=dict)                 # index -> s allowed

    def slowest(self, n: int = 3) -> list[tuple[int, float, str]]:
        return sorted(self.cells, key=lambda c: -c[1])[:n]


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return (lines[0] if lines else "")[:70]


def _seconds(cell) -> float:
    from datetime import datetime

    ex = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def _texts(cell) -> list[str]:
    out = []
    for o in cell.get("outputs", []):
        if "text" in o:
            out.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
        for mime in ("text/plain", "text/html"):
            data = o.get("data", {}).get(mime)
            if data:
                out.append(data if isinstance(data, str) else "".join(data))
        if o.get("output_type") == "error":
            out.append("\n".join(o.get("traceback", [])))
    return out


def execute(path: Path, timeout: int = CELL_TIMEOUT) -> NotebookRun:
    """Run one notebook in a fresh kernel; raises AssertionError naming the failing cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            timeout_func=lambda cell: cell_timeout(cell.source, timeout),
                            record_timing=True, allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    run = NotebookRun(path)
    started = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as exc:
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        errors = [i for i in code if any(o.get("output_type") == "error"
                                         for o in nb.cells[i].get("outputs", []))]
        started = [i for i in code if nb.cells[i].get("execution_count") is not None]
        failing = errors[0] if errors else (started[-1] if started else None)
        where = (f"cell {failing} ({_first_line(nb.cells[failing].source)!r})"
                 if failing is not None else "a cell")
        limit = cell_timeout(nb.cells[failing].source, timeout) if failing is not None \
            else timeout
        kind = (f"took longer than {limit} s" if isinstance(exc, CellTimeoutError)
                else "failed")
        raise AssertionError(f"{path.name}: {where} {kind}:\n{str(exc)[-2500:]}") from None
    run.seconds = time.perf_counter() - started
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            run.cells.append((i, _seconds(cell), _first_line(cell.source)))
            run.limits[i] = cell_timeout(cell.source, timeout)
            run.outputs += [f"cell {i}: {t}" for t in _texts(cell)]
    return run


@pytest.mark.boot
@pytest.mark.slow
@pytest.mark.parametrize("linux", ["as-is", "no-linux"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, linux: str, monkeypatch, tmp_path):
    """Run as this machine is (with the Linux guest where one is at hand), and once more with
    no Linux kernel to be had: a lesson must then skip its Linux side and say so."""
    if linux == "no-linux":
        monkeypatch.setenv("LABKIT_LINUX_KERNEL", str(tmp_path / "no-such-bzImage"))
    run = execute(path)
    failures = [o for o in run.outputs if "[FAIL]" in o]
    assert not failures, f"{path.name}: an exercise check failed with the solutions in:\n" + \
        "\n".join(f[:600] for f in failures)
    slow = [(*c, run.limits[c[0]]) for c in run.cells if c[1] > run.limits[c[0]]]
    assert not slow, f"{path.name}: cells over their limit (index, s, line, limit): {slow}"
    linux_s = sum(s for i, s, _ in run.cells if run.limits[i] > CELL_TIMEOUT)
    assert run.seconds - linux_s <= NOTEBOOK_BUDGET, (
        f"{path.name} took {run.seconds:.0f} s, {linux_s:.0f} s of it in cells that boot the "
        f"Linux guest (budget {NOTEBOOK_BUDGET} s without those); slowest cells: "
        f"{run.slowest()}")


def test_a_failure_names_the_cell(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("text"), nbformat.v4.new_code_cell("assert x == 2"),
        nbformat.v4.new_code_cell("import time; time.sleep(30)")])
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError, match=r"cell 3 \('assert x == 2'\) failed"):
        execute(path)
    nb.cells[3].source = "x = 2"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError, match=r"cell 4 .* took longer than 2 s"):
        execute(path, timeout=2)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_stripped(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs: run scripts/strip_notebooks.py"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: widget state saved"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_shape(path: Path):
    """About 20-40 cells (docs/design.md), a license line, solutions tagged and folded, no
    machine-specific paths."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    assert 20 <= len(cells) <= 45, f"{path.name}: {len(cells)} cells, STYLE asks for about 20-40"
    text = "\n".join("".join(c["source"]) for c in cells)
    assert "SPDX-License-Identifier: MIT" in text
    assert "/work/" not in text and "/home/" not in text and "/root/" not in text
    solutions = [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])]
    assert len(solutions) >= 2, f"{path.name}: fewer than 2 solution cells"
    for c in solutions:
        assert c["metadata"].get("jupyter", {}).get("source_hidden"), \
            f"{path.name}: a solution cell is not folded"


if __name__ == "__main__":
    total = 0.0
    for nb_path in (Path(a) for a in sys.argv[1:]) if sys.argv[1:] else NOTEBOOKS:
        result = execute(nb_path)
        total += result.seconds
        print(f"{nb_path.name}: {result.seconds:.1f} s; slowest cells: "
              + ", ".join(f"#{i} {s:.1f} s {line!r}" for i, s, line in result.slowest()))
    print(f"total {total:.1f} s")

# SPDX-License-Identifier: MIT
"""What a person sees when something is missing or broken: one message that says what to do,
on the command line and in a notebook cell, never a traceback through labkit's internals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABKIT = [sys.executable, "-m", "labkit"]


def _labkit(*args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path if path is not None else os.environ["PATH"]}
    return subprocess.run([*LABKIT, *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


@pytest.mark.boot
def test_run_without_qemu_says_what_to_install(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = _labkit("run", "hello", path=str(empty))
    assert result.returncode == 125
    assert result.stderr.strip().splitlines() == [
        "labkit: qemu-system-x86_64 not found: install the Debian/Ubuntu package "
        "qemu-system-x86 (apt-get install qemu-system-x86)"]


def test_build_without_make_says_what_to_install(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = _labkit("build", path=str(empty))
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert "make not found: install the Debian/Ubuntu package make" in result.stderr


def test_a_failed_build_points_at_make_s_messages():
    result = _labkit("build", "no-such-target")
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert "No rule to make target" in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(
        "make's own messages are above; fix the first error they name, then run "
        "`labkit build` again")


@pytest.mark.boot
def test_a_compile_error_and_a_panic_read_as_one_message(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return x; }\n")
    result = _labkit("run", str(bad))
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert "compiling" in result.stderr and "'x' undeclared" in result.stderr.replace("‘", "'") \
        .replace("’", "'")
    crash = _labkit("run", "crash")
    assert crash.returncode == 255 and "Traceback" not in crash.stderr
    assert crash.stderr.strip().splitlines()[-1].startswith("labkit: kernel panic in scribble")


@pytest.mark.boot
def test_a_notebook_cell_without_qemu_shows_the_fix_not_a_traceback(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    empty = tmp_path / "bin"
    empty.mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"import os\nos.environ['PATH'] = {str(empty)!r}"),
        nbformat.v4.new_code_cell("import labkit\nm = labkit.Machine('hello')\n"
                                  "await m.start()"),
    ])
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    [error] = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert error.ename == "ToolMissingError"
    shown = "\n".join(error.traceback)
    assert "apt-get install qemu-system-x86" in shown
    assert "`await m.start()` (line 3 of the cell)" in shown
    assert "machine.py" not in shown and len(error.traceback) == 2


def test_the_full_traceback_on_request(monkeypatch):
    from labkit.errors import ToolMissingError

    try:
        raise ToolMissingError("qemu-system-x86_64", "install it")
    except ToolMissingError as exc:
        short = exc._render_traceback_()
        monkeypatch.setenv("LABKIT_TRACEBACK", "1")
        full = exc._render_traceback_()
    assert "install it" in short[0] and len(short) <= 2
    assert full[0].startswith("Traceback") and "test_messages.py" in "".join(full)

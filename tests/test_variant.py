# SPDX-License-Identifier: MIT
"""Kernel variants (labkit.variant): a student's change applied to a copy of kernel/, built on
the side and booted, with the real kernel/ and images/ left as they were."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from labkit import BuildError, paths, run_sync
from labkit.events import Milestone
from labkit.exercises._run import as_changes
from labkit.variant import Edit, NewFile, apply_changes, build_variant


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "main.c").write_text("a();\nb();\nb();\n")
    (tmp_path / "libc").mkdir()
    return tmp_path


def test_an_edit_replaces_text_found_exactly_once(kdir):
    apply_changes(kdir, [Edit("core/main.c", "a();\n", "x();\na();\n")])
    assert (kdir / "core" / "main.c").read_text() == "x();\na();\nb();\nb();\n"


@pytest.mark.parametrize("before, says", [("zz();", "does not occur"), ("b();", "occurs 2 times"),
                                          ("", "does not occur")])
def test_an_edit_refuses_to_guess(kdir, before, says):
    with pytest.raises(BuildError, match=says):
        apply_changes(kdir, [Edit("core/main.c", before, "y")])
    assert (kdir / "core" / "main.c").read_text() == "a();\nb();\nb();\n"


@pytest.mark.parametrize("path", ["../outside.c", "/etc/passwd", "core/../../x.c", ""])
def test_changes_stay_inside_the_kernel(kdir, tmp_path, path):
    src = tmp_path / "mine.c"
    src.write_text("int x;\n")
    for change in (Edit(path, "a", "b"), NewFile(path, src)):
        with pytest.raises(BuildError, match="inside kernel/"):
            apply_changes(kdir, [change])


def test_a_new_file_is_added_but_never_overwrites(kdir, tmp_path):
    src = tmp_path / "mine.c"
    src.write_text("int mine;\n")
    apply_changes(kdir, [NewFile("libc/mine.c", src)])
    assert (kdir / "libc" / "mine.c").read_text() == "int mine;\n"
    with pytest.raises(BuildError, match="exists already"):
        apply_changes(kdir, [NewFile("core/main.c", src)])
    with pytest.raises(BuildError, match="no such file"):
        apply_changes(kdir, [NewFile("libc/other.c", tmp_path / "missing.c")])
    with pytest.raises(BuildError, match="no such folder"):
        apply_changes(kdir, [NewFile("nowhere/x.c", src)])


def test_what_a_check_accepts_as_changes(tmp_path):
    edit = Edit("core/main.c", "a", "b")
    assert as_changes(edit) == (edit,) and as_changes([edit, edit]) == (edit, edit)
    for wrong in (None, [], "core/main.c", [edit, "x"], 3):
        assert isinstance(as_changes(wrong), str)
    with pytest.raises(BuildError, match="not a kernel change"):
        apply_changes(tmp_path, ["core/main.c"])  # type: ignore[list-item]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.boot
def test_a_variant_boots_with_the_change_and_leaves_the_real_kernel_alone():
    real = paths.kernel_image()
    before = _digest(real), _digest(paths.kernel_dir() / "core" / "main.c")
    steps = []
    change = Edit("core/main.c", "    sched_init();",
                  '    event_milestone("variant", 0);\n    sched_init();')
    with build_variant([change], on_step=lambda step, done, planned: steps.append(step)) as v:
        assert v.kernel.is_file() and v.kernel != real
        assert any(s.target == "core/main.c" for s in steps)        # progress, step by step
        m = run_sync("hello", kernel=v.kernel, timeout=30)
        folder = v.folder
    assert not folder.exists()
    names = [e.name for e in m.events.of_type(Milestone)]
    assert m.outcome.app_status == 0
    assert names.index("heap") < names.index("variant") < names.index("devices")
    assert (_digest(real), _digest(paths.kernel_dir() / "core" / "main.c")) == before


@pytest.mark.boot
def test_a_change_that_does_not_compile_says_where():
    broken = Edit("core/main.c", "    sched_init();", "    sched_init()")
    with pytest.raises(BuildError, match=r"core/main\.c.*error"):
        build_variant([broken])

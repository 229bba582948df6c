# SPDX-License-Identifier: MIT
"""What a check sees of a student's app besides its output: which kernel functions it imports,
and how many instructions it really ran. A program that only prints the expected figures
imports nothing it should call and runs a few thousand instructions; these two facts give it
away, whatever it prints."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import LabkitError

__all__ = ["app_imports", "app_instructions"]


def app_imports(source: str | os.PathLike[str]) -> set[str] | str:
    """The undefined dynamic symbols of the app compiled from ``source`` (what the kernel's
    dynamic linker must bind: the functions it calls in the kernel), or the reason there are
    none (it does not compile)."""
    from ..build import compile_app
    from ..elf import load_elf

    out = Path(tempfile.mkdtemp(prefix="labkit-imports-"))
    try:
        app = compile_app(source, out_dir=out)
        return {s.name for s in load_elf(app.object).undefined}
    except LabkitError as exc:
        return f"it does not compile: {exc}"
    finally:
        shutil.rmtree(out, ignore_errors=True)


def app_instructions(machine: object) -> int | None:
    """Instructions from the app's ``main`` to its exit, read from the kernel's own COM2 stamps
    (``app_main`` milestone and ``exit`` event) of a run under ``-icount shift=0``, where one
    TSC tick is one instruction; None if either stamp is missing."""
    events = machine.events  # type: ignore[attr-defined]
    start, end = events.milestones.get("app_main"), events.exit
    if start is None or end is None or end.tsc is None:
        return None
    return end.tsc - start.tsc

# SPDX-License-Identifier: MIT
"""What the checks share: compile a student's C file as an app and boot it, never raising."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabkitError

__all__ = ["Trial", "try_app", "name_values"]


@dataclass
class Trial:
    """A student's app, compiled and booted (or the reason why not: ``error``)."""

    error: str | None
    machine: object | None = None   # the stopped labkit.Machine

    @property
    def console(self) -> str:
        return self.machine.console.text if self.machine is not None else ""  # type: ignore[attr-defined]

    @property
    def outcome(self) -> object | None:
        return self.machine.outcome if self.machine is not None else None  # type: ignore[attr-defined]


def try_app(source: str | os.PathLike[str], *args: str, timeout: float = 20.0,
            icount: bool = False, name: str | None = None) -> Trial:
    """Compile ``source`` and boot it with ``args``; a compiler error or a missing file is
    returned as ``Trial.error``, never raised."""
    from ..build import compile_app
    from ..machine import run_sync

    src = Path(source)
    if not src.is_file():
        return Trial(f"{source}: no such file (did the %%writefile cell run?)")
    out = Path(tempfile.mkdtemp(prefix="labkit-check-"))
    try:
        try:
            app = compile_app(src, name=name, out_dir=out)
        except LabkitError as exc:
            detail = getattr(exc, "output", "") or ""
            return Trial(f"it does not compile: {exc}\n{detail}".strip())
        options: dict = {"initrd": app.archive}
        if icount:
            options["icount"] = 0
        try:
            machine = run_sync(app.name, *args, timeout=timeout, **options)
        except LabkitError as exc:
            return Trial(f"it does not boot: {exc}")
        return Trial(None, machine)
    finally:
        shutil.rmtree(out, ignore_errors=True)   # the machine has ended: its files are done


_NAME_VALUE = re.compile(r"^([A-Za-z_][\w.]*)[ \t]+(-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?))[ \t]*$",
                         re.M)


def name_values(text: str) -> dict[str, int | float]:
    """The ``name value`` lines of a console (the lab apps' output format for scripts):
    hex and whole numbers become ints, the rest floats."""
    out: dict[str, int | float] = {}
    for name, value in _NAME_VALUE.findall(text):
        if value.lower().startswith(("0x", "-0x")):
            out[name] = int(value, 16)
        elif "." in value:
            out[name] = float(value)
        else:
            out[name] = int(value)
    return out

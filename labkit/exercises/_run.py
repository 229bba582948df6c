# SPDX-License-Identifier: MIT
"""What the checks share: compile a student's C file as an app and boot it, never raising."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..asyncrun import run_coroutine
from ..errors import LabkitError

__all__ = ["Trial", "try_app", "try_variant", "as_changes", "variant_or_verdict", "run_async",
           "name_values"]

T = TypeVar("T")


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
            icount: bool = False, name: str | None = None,
            kernel: os.PathLike[str] | None = None) -> Trial:
    """Compile ``source`` and boot it with ``args`` (on ``kernel``, a kernel variant, when
    given); a compiler error or a missing file is returned as ``Trial.error``, never raised."""
    from ..build import compile_app
    from ..machine import run_sync

    src = Path(source)
    if not src.is_file():
        return Trial(f"{source}: no such file (did the %%writefile cell run?)")
    out = Path(tempfile.mkdtemp(prefix="labkit-check-"))
    try:
        try:
            app = compile_app(src, name=name, out_dir=out)
        except LabkitError as exc:                # a BuildError's text ends with the compiler's
            return Trial(f"it does not compile: {exc}")
        options: dict = {"initrd": app.archive}
        if kernel is not None:
            options["kernel"] = Path(kernel)
        if icount:
            options["icount"] = 0
        try:
            machine = run_sync(app.name, *args, timeout=timeout, **options)
        except LabkitError as exc:
            return Trial(f"it does not boot: {exc}")
        return Trial(None, machine)
    finally:
        shutil.rmtree(out, ignore_errors=True)   # the machine has ended: its files are done


def run_async(coro: Awaitable[T], timeout: float | None = 120.0) -> T:
    """Run a coroutine from a check and return its result: on labkit's loop thread, so it
    works from a script and inside a notebook's running event loop alike."""
    return run_coroutine(coro, timeout=timeout)


def as_changes(given: object) -> tuple | str:
    """A student's kernel change(s) as a tuple of :mod:`labkit.variant` changes, or a message
    saying what was given instead."""
    from ..variant import Edit, NewFile

    items = (given,) if isinstance(given, Edit | NewFile) else given
    if given is None or not isinstance(items, list | tuple) or not items or \
            not all(isinstance(c, Edit | NewFile) for c in items):
        return (f"give an Edit or a NewFile (or a list of them) from labkit.variant, "
                f"not {given!r}")
    return tuple(items)


def variant_or_verdict(change: object, name: str, points: float):
    """The kernel built with a student's ``change`` (a :class:`~labkit.variant.KernelVariant`
    to use in a ``with``), or the failing :class:`~labkit.exercises.CheckResult` that says why
    there is none: not a change, a change that does not apply, or one that does not compile."""
    from ..variant import build_variant
    from ._check import failed

    changes = as_changes(change)
    if isinstance(changes, str):
        return failed(name, changes, points)
    try:
        return build_variant(changes)
    except LabkitError as exc:
        return failed(name, f"the kernel with your change does not build: {exc}", points)


def try_variant(changes: object, app: str = "hello", *args: str, timeout: float = 20.0,
                icount: bool = False, source: str | os.PathLike[str] | None = None) -> Trial:
    """Build the kernel with a student's ``changes`` and boot ``app`` on it (or the app
    compiled from ``source``). A change that does not apply, a kernel that does not compile or
    does not boot is returned as ``Trial.error``, never raised. The variant is deleted after
    the boot (the machine keeps its console and events)."""
    from ..machine import run_sync
    from ._check import CheckResult

    variant = variant_or_verdict(changes, "", 0)
    if isinstance(variant, CheckResult):
        return Trial(variant.message)
    with variant:
        if source is not None:
            return try_app(source, *args, timeout=timeout, icount=icount, kernel=variant.kernel)
        options: dict = {"kernel": variant.kernel}
        if icount:
            options["icount"] = 0
        try:
            machine = run_sync(app, *args, timeout=timeout, **options)
        except LabkitError as exc:
            return Trial(f"the kernel with your change does not boot: {exc}")
        return Trial(None, machine)


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

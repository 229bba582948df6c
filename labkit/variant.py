# SPDX-License-Identifier: MIT
"""Kernel variants: the kernel with a student's changes, built on the side.

An exercise that changes kernel code never touches ``kernel/`` or ``images/``: the sources are
copied into a scratch folder, the changes are applied there, and only ``kernel.elf`` is built
(about 75 compiler steps, a few seconds on two cores). The variant boots like the real kernel
(``Machine(app, kernel=variant.kernel)``), so a check can compare it with the stock one.

Two kinds of change, both plain data a notebook cell can hold::

    Edit("core/main.c", before="    net_init();",
         after='    event_milestone("net", 0);\\n    net_init();')
    NewFile("libc/lab_switches.c", "work/switches.c")

An :class:`Edit` replaces text that must occur exactly once in the file (as an editor's
search and replace would, but refusing to guess); a :class:`NewFile` adds a file the Makefile
picks up by its wildcards (``core/*.c``, ``drivers/*.c``, ``net/*.c``, ``libc/*.c``). Both
take paths relative to ``kernel/`` and refuse any that would leave it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import BuildError

__all__ = ["Edit", "NewFile", "KernelVariant", "apply_changes", "build_variant"]


def _inside(kdir: Path, rel: str) -> Path:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise BuildError(f"{rel!r}: give a path inside kernel/, such as 'core/main.c'")
    return kdir / p


@dataclass(frozen=True)
class Edit:
    """Replace ``before`` (which must occur exactly once) by ``after`` in ``kernel/path``."""

    path: str
    before: str
    after: str

    def apply(self, kdir: Path) -> None:
        target = _inside(kdir, self.path)
        if not target.is_file():
            raise BuildError(f"kernel/{self.path}: no such file to edit")
        text = target.read_text()
        found = text.count(self.before) if self.before else 0
        if found != 1:
            where = "does not occur" if found == 0 else f"occurs {found} times"
            raise BuildError(f"kernel/{self.path}: the text to replace {where} in the file "
                             f"(it must occur exactly once, spaces included): {self.before!r}")
        target.write_text(text.replace(self.before, self.after))


@dataclass(frozen=True)
class NewFile:
    """Add ``kernel/path`` with the contents of the file ``source`` (one a student wrote)."""

    path: str
    source: str | os.PathLike[str]

    def apply(self, kdir: Path) -> None:
        target = _inside(kdir, self.path)
        src = Path(self.source)
        if not src.is_file():
            raise BuildError(f"{self.source}: no such file (did the %%writefile cell run?)")
        if target.exists():
            raise BuildError(f"kernel/{self.path} exists already: change it with an Edit")
        if not target.parent.is_dir():
            raise BuildError(f"kernel/{PurePosixPath(self.path).parent}: no such folder")
        shutil.copyfile(src, target)


Change = Edit | NewFile


def apply_changes(kdir: str | os.PathLike[str], changes: Sequence[Change]) -> None:
    """Apply ``changes`` in order to the kernel sources in ``kdir`` (a copy, never the real
    ``kernel/``); raises :class:`BuildError` naming the change that does not fit."""
    kdir = Path(kdir)
    for change in changes:
        if not isinstance(change, Edit | NewFile):
            raise BuildError(f"{change!r} is not a kernel change: use labkit.variant.Edit or "
                             "labkit.variant.NewFile")
        change.apply(kdir)


@dataclass
class KernelVariant:
    """A kernel built with changes; ``kernel`` boots it. :meth:`remove` deletes the folder."""

    folder: Path
    kernel: Path
    seconds: float
    changes: tuple[Change, ...]

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> KernelVariant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def build_variant(changes: Sequence[Change], folder: str | os.PathLike[str] | None = None,
                  on_step: Callable[..., None] | None = None,
                  timeout: float = 300.0) -> KernelVariant:
    """Copy ``kernel/``, apply ``changes`` and build ``kernel.elf`` in ``folder`` (a new
    temporary folder by default). ``on_step(step, done, planned)`` follows the build, as in
    :func:`labkit.lessons.building.scratch_build`. Raises :class:`BuildError` (with the
    compiler's last lines) when a change does not apply or the result does not compile."""
    from .lessons.building import scratch_build

    made = folder is None
    dest = Path(tempfile.mkdtemp(prefix="labkit-variant-")) if folder is None else Path(folder)
    changes = tuple(changes)
    try:
        report = scratch_build(dest, on_step=on_step, timeout=timeout, images=["kernel.elf"],
                               prepare=lambda kdir: apply_changes(kdir, changes))
    except BaseException:
        if made:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    return KernelVariant(dest, report.kernel, report.seconds, changes)

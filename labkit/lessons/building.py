# SPDX-License-Identifier: MIT
"""Building the kernel where a student can watch it: a scratch copy, one step per line.

The lesson builds a private copy of ``kernel/`` (so the shared ``images/`` other cells boot is
never half-written) and reports every step the Makefile announces (``  CC      core/main.c``)
through a callback, so a progress bar can follow it. The result boots like the real images.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..errors import BuildError

__all__ = ["BuildStep", "BuildReport", "parse_step", "planned_steps", "scratch_build"]

_STEP = re.compile(r"^\s+([A-Z]{2,6})\s+(\S+)(.*)$")


@dataclass(frozen=True)
class BuildStep:
    """One step the kernel Makefile announced: ``CC core/main.c``, ``LD .../kernel.elf``."""

    tool: str       # CC, AS, LD, GEN, CPIO
    target: str
    note: str = ""


@dataclass
class BuildReport:
    """What a build did: its steps in order, how long it took, where the images are."""

    steps: list[BuildStep]
    seconds: float
    images: Path
    output: str = field(repr=False, default="")

    def count(self, tool: str) -> int:
        return sum(1 for s in self.steps if s.tool == tool)

    @property
    def kernel(self) -> Path:
        return self.images / "kernel.elf"

    def archive(self, app: str) -> Path:
        return self.images / f"{app}.cpio"


def parse_step(line: str) -> BuildStep | None:
    """A Makefile progress line as a :class:`BuildStep` (None for any other line)."""
    m = _STEP.match(line.rstrip("\n"))
    if not m or m.group(1) not in ("CC", "AS", "LD", "GEN", "CPIO"):
        return None
    return BuildStep(m.group(1), m.group(2), m.group(3).strip())


def _copy_sources(dest: Path) -> Path:
    src = paths.kernel_dir()
    if not (src / "Makefile").is_file():
        raise BuildError(f"{src}/Makefile not found: the kernel is missing from this checkout")
    target = dest / "kernel"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("build", "*.o", "*.d"))
    return target


def planned_steps(kernel_dir: Path, targets: Sequence[str] = ()) -> int:
    """How many steps ``make`` would announce (``make -n``), for a progress bar's total."""
    proc = subprocess.run([paths.find_tool("make"), "-n", "-C", str(kernel_dir), *targets],
                          capture_output=True, text=True, timeout=120)
    count = 0
    for line in proc.stdout.splitlines():
        m = re.match(r'^echo "(.*)"', line.strip())
        if m and parse_step(m.group(1)):
            count += 1
    return count


def scratch_build(dest: str | os.PathLike[str], on_step: Callable[[BuildStep, int, int], None]
                  | None = None, jobs: int = 2, timeout: float = 600.0,
                  images: Sequence[str] = (),
                  prepare: Callable[[Path], None] | None = None) -> BuildReport:
    """Copy ``kernel/`` into ``dest/kernel`` and build it there (images land in
    ``dest/images``). ``images`` names the files to build (``kernel.elf``, ``hello.cpio``
    ...; default: everything ``make`` builds). ``prepare(kernel_copy)`` runs before the build
    (:mod:`labkit.variant` applies a student's changes there). ``on_step(step, done, planned)``
    is called for every step as it starts. Raises :class:`BuildError` with make's last lines
    when the build fails."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    kdir = _copy_sources(dest)
    if prepare is not None:
        prepare(kdir)
    targets = [f"../images/{name}" for name in images]   # IMAGES is ../images in the Makefile
    planned = planned_steps(kdir, targets)
    # this Python writes the boot archives (tools/mkcpio.py uses labkit.cpio): a copy of the
    # kernel tree has no labkit beside it
    cmd = [paths.find_tool("make"), "-C", str(kdir), f"-j{jobs}", f"PYTHON={sys.executable}",
           *targets]
    started = time.perf_counter()
    steps: list[BuildStep] = []
    lines: list[str] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "LC_ALL": "C"})
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line)
            step = parse_step(line)
            if step is not None:
                steps.append(step)
                if on_step is not None:
                    on_step(step, len(steps), planned)
            if time.perf_counter() - started > timeout:
                proc.kill()
                raise BuildError(f"the build did not finish within {timeout:g} s")
        status = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines)
    if status != 0:
        raise BuildError(f"make -C {kdir} failed with status {status}",
                         "\n".join(output.splitlines()[-30:]))
    return BuildReport(steps, time.perf_counter() - started, dest / "images", output)

# SPDX-License-Identifier: MIT
"""Building: the kernel and its apps through ``make``, and a student's own C file as an app.

``build()`` runs ``make -C kernel`` (which writes ``images/``). ``compile_app("my.c")`` turns
one C source into an app the way the kernel's Makefile builds its own apps (the flags come
from ``make -s -C kernel print-app-cflags`` / ``print-app-ldflags``), and packs it into a
boot archive: source in, bootable image out. Compiler errors raise :class:`BuildError` whose
``output`` is the compiler's own message.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import cpio, paths
from .errors import BuildError

__all__ = ["build", "app_flags", "compile_app", "CompiledApp", "FALLBACK_CFLAGS"]

#: Used when the kernel Makefile has no ``print-app-cflags`` target (paths relative to kernel/).
FALLBACK_CFLAGS = ("-std=gnu11 -O2 -g -fPIC -fno-omit-frame-pointer -fno-stack-protector "
                   "-nostdinc -isystem {gcc_include} -Ilibc/include -D__unikernel__")
FALLBACK_LDFLAGS = "-shared -nostdlib"


def build(targets: Sequence[str] = (), jobs: int | None = None, timeout: float = 600.0,
          echo: bool = False) -> str:
    """Run ``make -C kernel [targets]``; returns make's output, raises :class:`BuildError`."""
    make = paths.find_tool("make")
    cmd = [make, "-C", str(paths.kernel_dir())]
    if jobs:
        cmd.append(f"-j{jobs}")
    cmd += list(targets)
    try:
        proc = subprocess.run(cmd, capture_output=not echo, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"`{shlex.join(cmd)}` did not finish within {timeout:g} s") from exc
    output = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        tail = "\n".join(output.rstrip().splitlines()[-40:])
        raise BuildError(f"`{shlex.join(cmd)}` failed with status {proc.returncode}", tail)
    return output


def _make_print(target: str) -> str | None:
    """Output of ``make -s -C kernel TARGET`` or None when the target does not exist."""
    try:
        proc = subprocess.run([paths.find_tool("make"), "-s", "-C", str(paths.kernel_dir()),
                               target], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip()


def app_flags() -> tuple[list[str], list[str]]:
    """(CFLAGS, LDFLAGS) for apps, as the kernel Makefile builds them (paths relative to
    ``kernel/``); falls back to :data:`FALLBACK_CFLAGS` when the Makefile cannot say."""
    cflags = _make_print("print-app-cflags")
    ldflags = _make_print("print-app-ldflags")
    if cflags is None:
        gcc = paths.find_tool("gcc")
        include = subprocess.run([gcc, "-print-file-name=include"], capture_output=True,
                                 text=True).stdout.strip()
        cflags = FALLBACK_CFLAGS.format(gcc_include=include)
    if ldflags is None:
        ldflags = FALLBACK_LDFLAGS
    return shlex.split(cflags), shlex.split(ldflags)


@dataclass(frozen=True)
class CompiledApp:
    """An app built from a user's source: its shared object and its boot archive."""

    name: str
    source: Path
    object: Path
    archive: Path
    warnings: str = ""


def _output_dir() -> Path:
    preferred = paths.images_dir() / "user"
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="labkit-app-"))


def compile_app(source: str | os.PathLike[str], name: str | None = None,
                out_dir: str | os.PathLike[str] | None = None,
                data_files: Iterable[str | os.PathLike[str]] = (),
                extra_cflags: Sequence[str] = (), werror: bool = False) -> CompiledApp:
    """Compile one C file into an app ``NAME.so`` and pack ``NAME.cpio`` (with
    ``data_files``). Raises :class:`BuildError` carrying the compiler's messages.

    The flags are the kernel's own for apps, less ``-Werror`` unless ``werror``: warnings
    stay visible in :attr:`CompiledApp.warnings`."""
    src = Path(source).resolve()
    if not src.is_file():
        raise BuildError(f"{source}: no such file")
    name = name or src.stem
    out = Path(out_dir).resolve() if out_dir else _output_dir()
    out.mkdir(parents=True, exist_ok=True)
    so = out / f"{name}.so"
    cflags, ldflags = app_flags()
    if not werror:  # a student's first program should not fail on an unused argv
        cflags = [f for f in cflags if f != "-Werror"]
    cmd = [paths.find_tool("gcc"), *cflags, *extra_cflags, *ldflags, "-o", str(so), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=paths.kernel_dir())
    if proc.returncode != 0:
        raise BuildError(f"compiling {source} failed (the compiler's messages follow)",
                         proc.stderr or proc.stdout)
    archive = cpio.write_archive(out / f"{name}.cpio", [so, *data_files])
    return CompiledApp(name, src, so, archive, proc.stderr)

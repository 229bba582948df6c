# SPDX-License-Identifier: MIT
"""Building: the kernel and its apps through ``make``, and a student's own C file as an app.

``build()`` runs ``make -C kernel`` (which writes ``images/``). ``compile_app("my.c")`` turns
one C source into an app the way the kernel's Makefile builds its own apps (the flags come
from ``make -s -C kernel print-app-cflags`` / ``print-app-ldflags``), and packs it into a
boot archive: source in, bootable image out. Compiler errors raise :class:`BuildError` whose
``output`` is the compiler's own message.

Without ``out_dir``, each compiled app gets its own folder ``images/user/KEY/``, where KEY is
a hash of what went into it (the source's bytes, the app's name, the flags, the data files):
two different files called ``prog.c`` compiled and booted at the same time never overwrite
each other, and the same file compiled twice lands in the same place. Files appear under
their final names only when complete (written aside, then renamed), so a reader never sees
half an archive. ``pack_object()`` does the same for a ready-made ``.so``.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import cpio, paths
from .errors import BuildError

__all__ = ["build", "app_flags", "compile_app", "pack_object", "CompiledApp",
           "FALLBACK_CFLAGS"]

#: Used when the kernel Makefile has no ``print-app-cflags`` target (paths relative to kernel/).
FALLBACK_CFLAGS = ("-std=gnu11 -O2 -g -fPIC -fno-omit-frame-pointer -fno-stack-protector "
                   "-nostdinc -isystem {gcc_include} -Ilibc/include -D__unikernel__")
FALLBACK_LDFLAGS = "-shared -nostdlib"


def build(targets: Sequence[str] = (), jobs: int | None = None, timeout: float = 600.0,
          echo: bool = False) -> str:
    """Run ``make -C kernel [targets]``; returns make's output, raises :class:`BuildError`."""
    make = paths.find_tool("make")
    cmd = [make, "-C", str(paths.require_kernel_dir())]
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
        proc = subprocess.run([paths.find_tool("make"), "-s", "-C",
                               str(paths.require_kernel_dir()), target],
                              capture_output=True, text=True, timeout=60)
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


def _app_key(name: str, flags: Sequence[str], parts: Sequence[tuple[str, bytes]]) -> str:
    """The folder name for one app: a hash of its name, its flags and its files' bytes."""
    digest = hashlib.sha256()
    for word in (name, *flags):
        digest.update(word.encode() + b"\0")
    for file_name, data in parts:
        digest.update(file_name.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()[:16]


def _aside(path: Path) -> Path:
    """A name next to ``path`` that no other writer uses (this process and thread)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = _aside(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_data_files(data_files: Iterable[str | os.PathLike[str]]) -> list[tuple[str, bytes]]:
    parts = []
    for item in data_files:
        path = Path(item)
        if not path.is_file():
            raise BuildError(f"data file {item}: no such file")
        parts.append((path.name, path.read_bytes()))
    return parts


def _pack(archive: Path, so_name: str, so_bytes: bytes, data: Sequence[tuple[str, bytes]]) -> Path:
    _write_atomically(archive, cpio.pack([(so_name, so_bytes), *data]))
    return archive


def compile_app(source: str | os.PathLike[str], name: str | None = None,
                out_dir: str | os.PathLike[str] | None = None,
                data_files: Iterable[str | os.PathLike[str]] = (),
                extra_cflags: Sequence[str] = (), werror: bool = False,
                timeout: float = 120.0) -> CompiledApp:
    """Compile one C file into an app ``NAME.so`` and pack ``NAME.cpio`` (with
    ``data_files``), in ``out_dir`` or in a folder of its own under ``images/user/``.
    Raises :class:`BuildError` carrying the compiler's messages.

    The flags are the kernel's own for apps, less ``-Werror`` unless ``werror``: warnings
    stay visible in :attr:`CompiledApp.warnings`."""
    src = Path(source).resolve()
    if not src.is_file():
        raise BuildError(f"{source}: no such file")
    name = name or src.stem
    kernel = paths.require_kernel_dir()
    data = _read_data_files(data_files)
    cflags, ldflags = app_flags()
    if not werror:  # a student's first program should not fail on an unused argv
        cflags = [f for f in cflags if f != "-Werror"]
    flags = [*cflags, *extra_cflags, *ldflags]
    if out_dir:
        out = Path(out_dir).resolve()
    else:
        out = paths.user_apps_dir() / _app_key(name, flags, [(src.name, src.read_bytes()), *data])
    out.mkdir(parents=True, exist_ok=True)
    so = out / f"{name}.so"
    tmp = _aside(so)
    cmd = [paths.find_tool("gcc"), *flags, "-o", str(tmp), str(src)]
    try:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=kernel,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BuildError(f"compiling {source} took more than {timeout:g} s") from None
        if proc.returncode != 0:
            raise BuildError(f"compiling {source} failed (the compiler's messages follow)",
                             proc.stderr or proc.stdout)
        so_bytes = tmp.read_bytes()
        os.replace(tmp, so)
    finally:
        tmp.unlink(missing_ok=True)
    archive = _pack(out / f"{name}.cpio", so.name, so_bytes, data)
    return CompiledApp(name, src, so, archive, proc.stderr)


def pack_object(so: str | os.PathLike[str],
                data_files: Iterable[str | os.PathLike[str]] = ()) -> CompiledApp:
    """Pack a ready-made app ``NAME.so`` (and ``data_files``) into ``NAME.cpio``, in a folder
    of its own under ``images/user/`` (by content, as :func:`compile_app`). Nothing goes to
    the temporary folder, so nothing is left behind there."""
    path = Path(so)
    if not path.is_file():
        raise BuildError(f"{so}: no such file" if not path.exists() else f"{so}: not a file")
    so_bytes = path.read_bytes()
    data = _read_data_files(data_files)
    name = path.stem
    out = paths.user_apps_dir() / _app_key(name, ("packed",), [(path.name, so_bytes), *data])
    out.mkdir(parents=True, exist_ok=True)
    archive = _pack(out / f"{name}.cpio", f"{name}.so", so_bytes, data)
    return CompiledApp(name, path.resolve(), path.resolve(), archive)

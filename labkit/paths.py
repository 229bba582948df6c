# SPDX-License-Identifier: MIT
"""Where things are: the repository, its images, and the host tools labkit runs.

labkit lives at the root of the repository, next to ``kernel/`` and ``images/``; every path is
found from the package's own location (or from ``$LABKIT_ROOT`` when set), never from the
current directory.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import BootError, RepositoryError, ToolMissingError

__all__ = [
    "repo_root",
    "images_dir",
    "kernel_dir",
    "require_kernel_dir",
    "user_apps_dir",
    "kernel_image",
    "app_archive",
    "app_object",
    "find_tool",
    "TOOL_FIXES",
]

QEMU = "qemu-system-x86_64"

#: What to install when a tool is missing (Debian/Ubuntu package names).
TOOL_FIXES = {
    QEMU: "install the Debian/Ubuntu package qemu-system-x86 (apt-get install qemu-system-x86)",
    "gcc": "install the Debian/Ubuntu package gcc (apt-get install build-essential)",
    "make": "install the Debian/Ubuntu package make (apt-get install build-essential)",
    "dot": "install the Debian/Ubuntu package graphviz (apt-get install graphviz)",
    "gdb": "install the Debian/Ubuntu package gdb (apt-get install gdb)",
    "readelf": "install the Debian/Ubuntu package binutils",
    "nm": "install the Debian/Ubuntu package binutils",
}


def repo_root() -> Path:
    """The repository root: ``$LABKIT_ROOT`` or the folder that holds the labkit package.

    Raises :class:`RepositoryError` when ``$LABKIT_ROOT`` names no folder."""
    env = os.environ.get("LABKIT_ROOT")
    if env:
        root = Path(env).expanduser().resolve()
        if not root.is_dir():
            raise RepositoryError(f"LABKIT_ROOT={env} is not a folder: set it to the lab's "
                                  "repository (the folder holding kernel/ and labkit/) or "
                                  "unset it")
        return root
    return Path(__file__).resolve().parent.parent


def images_dir() -> Path:
    """``images/``: the build outputs (kernel ELF, app objects, boot archives)."""
    return repo_root() / "images"


def kernel_dir() -> Path:
    """``kernel/``: the kernel sources and its Makefile."""
    return repo_root() / "kernel"


def require_kernel_dir() -> Path:
    """``kernel/``, which must exist (building needs it); raises :class:`RepositoryError`
    saying where labkit looked and how to point it elsewhere."""
    path = kernel_dir()
    if not path.is_dir():
        how = ("LABKIT_ROOT points elsewhere: set it to the lab's repository (the folder "
               "holding kernel/ and labkit/) or unset it" if os.environ.get("LABKIT_ROOT") else
               "labkit is installed away from the lab's repository: set LABKIT_ROOT to it")
        raise RepositoryError(f"no kernel sources at {path}: {how}")
    return path


def user_apps_dir() -> Path:
    """Where apps compiled from a user's C file go: ``images/user/``, or a per-user cache
    folder when ``images/`` cannot be written (a read-only checkout)."""
    preferred = images_dir() / "user"
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labkit" / "apps"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def kernel_image() -> Path:
    """The kernel ELF to boot; raises :class:`BootError` saying how to build it if missing."""
    path = images_dir() / "kernel.elf"
    if not path.is_file():
        raise BootError(f"{path} does not exist: build it with `labkit build` (or `make build`)")
    return path


def app_archive(app: str) -> Path:
    """The boot archive ``images/APP.cpio`` of a built app."""
    path = images_dir() / f"{app}.cpio"
    if not path.is_file():
        known = sorted(p.stem for p in images_dir().glob("*.cpio")) if images_dir().is_dir() else []
        hint = f" (built apps: {', '.join(known)})" if known else ""
        raise BootError(
            f"no boot archive for app {app!r} at {path}: build it with `labkit build`{hint}"
        )
    return path


def app_object(app: str) -> Path:
    """The shared object ``images/apps/APP.so`` of a built app (None-safe: may not exist)."""
    return images_dir() / "apps" / f"{app}.so"


def find_tool(name: str) -> str:
    """Absolute path of host program ``name``; raises :class:`ToolMissingError` with the fix."""
    found = shutil.which(name)
    if found is None:
        raise ToolMissingError(name, TOOL_FIXES.get(name, f"install {name}"))
    return found

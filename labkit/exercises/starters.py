# SPDX-License-Identifier: MIT
"""The starter programs of the exercises, kept as C files of the package
(``labkit/data/starters/``): a lesson's first cell copies them into its ``work/`` folder, so
that an exercise's cell (and its folded solution) holds only the function the student writes.

=========  ==========================  ===================================================
lesson     file                        the student writes
=========  ==========================  ===================================================
lesson04   ``cache.c``                 ``cache_inflate.c``: the cache's ``inflate()``
=========  ==========================  ===================================================
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["STARTERS", "install_starters"]

#: lesson -> the starter files its exercises build on.
STARTERS: dict[str, tuple[str, ...]] = {"lesson04": ("cache.c",)}


def install_starters(lesson: str, folder: str | os.PathLike[str] = "work") -> list[Path]:
    """Copy ``lesson``'s starter files into ``folder`` (made if missing); returns their paths.
    A file is rewritten only when it differs, and the student's own files are never touched."""
    if lesson not in STARTERS:
        raise ValueError(f"no starter files for {lesson!r}; lessons with some: "
                         f"{', '.join(STARTERS)}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in STARTERS[lesson]:
        text = (resources.files("labkit") / "data" / "starters" / name).read_text()
        target = out / name
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
        written.append(target)
    return written

# SPDX-License-Identifier: MIT
"""One piece of a QEMU command line with its reason (:class:`Flag`). A module of its own so that
the parts that contribute flags (:mod:`labkit.net.config`) and the part that assembles the
command (:mod:`labkit.qemuargs`, which re-exports it) need not import each other."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Flag"]


@dataclass(frozen=True)
class Flag:
    """Some argv words of the QEMU command and why they are there."""

    words: tuple[str, ...]
    why: str

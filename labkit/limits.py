# SPDX-License-Identifier: MIT
"""The kernel's limits, mirrored so labkit refuses what the kernel would refuse, before booting.

Each constant names where the kernel defines it; ``kernel/README.md`` ("Bad input") lists
what the kernel answers when the limit is crossed anyway. :func:`check_cmdline` and
:func:`check_memory` raise :class:`LimitError`, a :class:`~labkit.errors.BootError`, with a
message that names the limit and what to do instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import BootError

__all__ = [
    "LimitError",
    "CMDLINE_MAX_BYTES",
    "CMDLINE_MAX_ARGS",
    "CMDLINE_MAX_OPTS",
    "MIN_MEMORY_KIB",
    "check_cmdline",
    "check_memory",
    "memory_kib",
]

#: ``BOOT_CMDLINE_MAX`` (kernel/include/boot.h): bytes of ``-append``, without the NUL. QEMU
#: copies the command line 4127 bytes below the PVH start info, so a longer one overwrites it.
CMDLINE_MAX_BYTES = 4096
#: ``CMDLINE_MAX_ARGS`` (kernel/include/cmdline.h): the app's name and its arguments.
CMDLINE_MAX_ARGS = 32
#: ``CMDLINE_MAX_OPTS`` (kernel/include/cmdline.h): kernel options, and separately
#: environment variables.
CMDLINE_MAX_OPTS = 16
#: The smallest ``-m`` labkit boots the kernel with, in KiB: ``KERNEL_MIN_RAM``
#: (kernel/include/memlayout.h). Below about 1.1 MiB QEMU has no RAM where the kernel is
#: loaded and nothing runs at all (the guest hangs silently); from this size up the kernel
#: itself checks the RAM map and says "not enough memory: N KiB, need M KiB" (status 141)
#: when the RAM holding it ends below 2 MiB plus the boot archive (QEMU's pc machine keeps
#: the top 128 KiB of ``-m`` for itself: ``hello`` boots from -m 2304K).
MIN_MEMORY_KIB = 2048

_UNITS = {"": 1024, "B": 1 / 1024, "K": 1, "M": 1024, "G": 1024 ** 2, "T": 1024 ** 3}


class LimitError(BootError):
    """A value is beyond what the kernel takes; the message names the limit."""


def memory_kib(memory: str) -> float:
    """QEMU's ``-m`` value (``128M``, ``2304K``, ``1G``, a bare number of MiB) in KiB."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([bBkKmMgGtT]?)(?:i?[bB])?\s*", memory)
    if not m:
        raise LimitError(f"memory size {memory!r} is not understood: use a number with K, M "
                         "or G, e.g. 128M")
    return float(m.group(1)) * _UNITS[m.group(2).upper()]


def check_memory(memory: str) -> None:
    """Raises :class:`LimitError` when ``-m memory`` is below the kernel's minimum."""
    kib = memory_kib(memory)
    if kib < MIN_MEMORY_KIB:
        raise LimitError(f"memory {memory} ({kib:g} KiB) is below the kernel's minimum of "
                         f"{MIN_MEMORY_KIB} KiB (-m {MIN_MEMORY_KIB}K): with less, the "
                         "kernel cannot boot (kernel/README.md, 'Bad input')")


def check_cmdline(cmdline: str, args: Sequence[str] = ()) -> None:
    """Raises :class:`LimitError` when the kernel command line is longer than the kernel takes
    or ``args`` (the app's name and arguments) has more words than it keeps."""
    size = len(cmdline.encode())
    if size > CMDLINE_MAX_BYTES:
        raise LimitError(f"command line too long ({size} > {CMDLINE_MAX_BYTES} bytes): put "
                         "long arguments in a file in the boot archive and pass @FILE "
                         "(kernel/README.md)")
    if len(args) > CMDLINE_MAX_ARGS:
        raise LimitError(f"too many arguments ({len(args)} > {CMDLINE_MAX_ARGS}, the app's "
                         "name included): put them in a file in the boot archive and pass "
                         "@FILE (kernel/README.md)")

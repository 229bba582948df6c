# SPDX-License-Identifier: MIT
"""Is a Linux guest at hand? And, where not, the figures the lessons cite instead.

The Linux guest baseline (a Linux kernel plus a busybox initramfs booted by the same
``Machine``) arrives with a later part of the lab. Until a kernel image is found, the lessons
print what they skipped and show the cited figures below, each marked *cited* with its
source, never mixed up with a number measured on the student's machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import paths

__all__ = ["Cited", "LinuxGuest", "find_linux_guest", "CITED", "skip_note"]


@dataclass(frozen=True)
class Cited:
    """A figure measured elsewhere, with where it comes from."""

    value: float
    unit: str
    what: str
    source: str


#: The figures the lessons cite while no Linux guest is at hand.
CITED: dict[str, Cited] = {
    "getppid_instructions": Cited(
        338, "instructions", "one getppid() round trip on a Linux 6.1 guest under -icount",
        "measured by the lab's authors on a Debian 12 cloud kernel (QEMU-NOTES.md)"),
    "call_instructions": Cited(
        8, "instructions", "one loop iteration with a plain function call, same guest",
        "QEMU-NOTES.md"),
    "linux_boot_wall_s": Cited(
        2.2, "s", "a Linux 6.1 guest booting to /init, wall time under TCG", "QEMU-NOTES.md"),
    "vmlinuz_bytes": Cited(
        14_186_432, "bytes", "vmlinuz of Debian 12's cloud kernel 6.1.0-56 (6.1.192-2)",
        "measured by the lab's authors from the package linux-image-6.1.0-56-cloud-amd64"),
    "modules_bytes": Cited(
        92_507_374, "bytes", "its loadable modules (1121 files under /lib/modules)",
        "same package, unpacked"),
}

_KERNEL_NAMES = ("vmlinuz", "bzImage", "linux.bzImage")
_INITRD_NAMES = ("initramfs.cpio.gz", "initramfs.cpio", "initrd.img", "initramfs.img")


@dataclass(frozen=True)
class LinuxGuest:
    """A Linux kernel image (and an initramfs, if one was found) for a side-by-side run."""

    kernel: Path
    initramfs: Path | None


def _candidates() -> list[Path]:
    env = os.environ.get("LABKIT_LINUX_KERNEL")
    found = [Path(env)] if env else []
    for folder in (paths.images_dir() / "linux", paths.images_dir() / "linux-guest"):
        found += [folder / name for name in _KERNEL_NAMES]
        if folder.is_dir():
            found += sorted(folder.glob("vmlinuz-*"))
    return found


def find_linux_guest() -> LinuxGuest | None:
    """The Linux guest images if they are built (``images/linux/vmlinuz`` and an
    initramfs beside it, or ``$LABKIT_LINUX_KERNEL``); None when there is none."""
    for kernel in _candidates():
        if kernel.is_file() and os.access(kernel, os.R_OK):
            initrd = next((kernel.parent / n for n in _INITRD_NAMES
                           if (kernel.parent / n).is_file()), None)
            return LinuxGuest(kernel, initrd)
    return None


def skip_note(what: str, cited: str) -> str:
    """The sentence a lesson prints when it skips the Linux side of a comparison."""
    c = CITED[cited]
    value = f"{c.value:g}" if isinstance(c.value, float) else f"{c.value:,}"
    return (f"no Linux guest image: {what} skipped. The figure cited instead: {value} {c.unit}"
            f" for {c.what} ({c.source}).")

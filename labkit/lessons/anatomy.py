# SPDX-License-Identifier: MIT
"""What is in the image: the unikernel's parts and their sizes, next to a Linux kernel's.

Every row says whether its number was *measured* here (a file on this machine) or is *cited*
(:data:`labkit.lessons.linux_guest.CITED`), so a plot can never pass one off as the other.

"How much smaller" has one definition in the lab, :data:`BOOTABLE_IMAGE`: what a hypervisor is
handed to boot the app, with nothing the boot does not read. :func:`bootable_images` measures
it here and ``labkit bench`` reports it (both through :func:`stripped_size`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import paths
from ..elf import load_elf
from .linux_guest import CITED

if TYPE_CHECKING:
    from ..linux import LinuxGuest

__all__ = ["SizeRow", "unikernel_sizes", "linux_sizes", "image_anatomy", "BOOTABLE_IMAGE",
           "stripped_size", "bootable_images"]

#: The one definition of an image's size that the lab compares (lesson 00, ``labkit bench``).
BOOTABLE_IMAGE = ("bootable image: the stripped kernel ELF + the boot archive, against "
                  "Linux's bzImage + initramfs")


@dataclass(frozen=True)
class SizeRow:
    """One part of an image: how many bytes, and whether measured or cited."""

    system: str     # "unikernel" or "Linux"
    part: str
    bytes: int
    how: str        # "measured" or "cited"
    source: str

    @property
    def kib(self) -> float:
        return self.bytes / 1024


def _loaded_bytes(elf_path: Path) -> tuple[int, int]:
    """(code and read-only bytes, all loaded bytes incl. .bss) of an ELF's PT_LOAD segments."""
    image = load_elf(elf_path)
    loads = [s for s in image.segments if s.type == "PT_LOAD"]
    code = sum(s.memsz for s in loads if "w" not in s.flags)
    return code, sum(s.memsz for s in loads)


def unikernel_sizes(app: str = "hello", images: str | Path | None = None) -> list[SizeRow]:
    """The unikernel's parts for ``app``, measured from the files in ``images``."""
    images = Path(images) if images else paths.images_dir()
    kernel = images / "kernel.elf"
    so = images / "apps" / f"{app}.so"
    archive = images / f"{app}.cpio"
    code, loaded = _loaded_bytes(kernel)
    where = "measured from " + images.name + "/"
    return [
        SizeRow("unikernel", "kernel.elf file (with symbols and DWARF)", kernel.stat().st_size,
                "measured", where + "kernel.elf"),
        SizeRow("unikernel", "kernel in memory (PT_LOAD: code, data, bss)", loaded, "measured",
                where + "kernel.elf program headers"),
        SizeRow("unikernel", "kernel code and read-only data", code, "measured",
                where + "kernel.elf program headers"),
        SizeRow("unikernel", f"app {app}.so", so.stat().st_size, "measured",
                where + f"apps/{app}.so"),
        SizeRow("unikernel", f"boot archive {app}.cpio", archive.stat().st_size, "measured",
                where + f"{app}.cpio"),
    ]


def linux_sizes(guest: LinuxGuest | None = None) -> list[SizeRow]:
    """A Linux kernel and the initramfs holding ``hello`` (busybox, /init, the static app),
    measured when ``guest`` (a :class:`labkit.linux.LinuxGuest`) is given, else cited."""
    if guest is not None:
        kernel, initramfs = guest.kernel.path, guest.initramfs
        return [SizeRow("Linux", f"kernel {kernel.name}", kernel.stat().st_size, "measured",
                        f"{guest.kernel.source}"),
                SizeRow("Linux", "initramfs: busybox, /init, the static app (gzip)",
                        initramfs.stat().st_size, "measured", initramfs.name)]
    k, mods = CITED["vmlinuz_bytes"], CITED["modules_bytes"]
    return [SizeRow("Linux", "kernel vmlinuz (Debian 12 cloud)", int(k.value), "cited", k.source),
            SizeRow("Linux", "its modules (an initramfs packs some of them)", int(mods.value),
                    "cited", mods.source)]


def image_anatomy(app: str = "hello", images: str | Path | None = None,
                  guest: LinuxGuest | None = None) -> list[SizeRow]:
    """:func:`unikernel_sizes` followed by :func:`linux_sizes`."""
    return unikernel_sizes(app, images) + linux_sizes(guest)


def stripped_size(path: str | Path) -> int:
    """The size of an ELF file without its symbols and debug sections (``strip --strip-all``),
    which a boot never reads; the file's own size where no ``strip`` is at hand."""
    path = Path(path)
    strip = shutil.which("strip")
    if strip is not None:
        with tempfile.TemporaryDirectory(prefix="labkit-strip-") as tmp:
            out = Path(tmp) / "stripped"
            proc = subprocess.run([strip, "--strip-all", "-o", str(out), str(path)],
                                  capture_output=True)
            if proc.returncode == 0:
                return out.stat().st_size
    return path.stat().st_size


def bootable_images(app: str = "hello", images: str | Path | None = None,
                    guest: LinuxGuest | None = None) -> tuple[SizeRow, SizeRow]:
    """(unikernel, Linux) :data:`BOOTABLE_IMAGE` sizes for ``app``. Without ``guest`` the Linux
    row is the cited kernel alone (no initramfs figure is cited), and says so."""
    images = Path(images) if images else paths.images_dir()
    kernel, archive = images / "kernel.elf", images / f"{app}.cpio"
    uni = SizeRow("unikernel", f"bootable image ({app}): stripped kernel.elf + {app}.cpio",
                  stripped_size(kernel) + archive.stat().st_size, "measured",
                  f"strip --strip-all {images.name}/kernel.elf; {images.name}/{app}.cpio")
    if guest is not None:
        bz, initrd = guest.kernel.path, guest.initramfs
        linux = SizeRow("Linux", f"bootable image ({app}): bzImage + initramfs",
                        bz.stat().st_size + initrd.stat().st_size, "measured",
                        f"{bz.name} + {initrd.name}")
    else:
        k = CITED["vmlinuz_bytes"]
        linux = SizeRow("Linux", "bzImage alone (no initramfs figure cited)", int(k.value),
                        "cited", k.source)
    return uni, linux

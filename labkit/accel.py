# SPDX-License-Identifier: MIT
"""Choosing the accelerator: TCG always works; KVM only where a probe boot proves it.

``/dev/kvm`` existing proves little (on the lab's reference machines KVM guests hang), so
:func:`probe_kvm` boots the real kernel with ``hello`` under ``-accel kvm`` for a few seconds
and accepts KVM only if the app exits with status 0. Without built images it boots the tiny
PVH kernel of :mod:`labkit.tinykernel` instead and says so.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .errors import LabkitError
from .outcome import Exited

__all__ = ["ProbeResult", "probe_kvm", "choose_accel", "choose_accel_async"]


@dataclass(frozen=True)
class ProbeResult:
    """Whether KVM works here, and how that was decided."""

    usable: bool
    detail: str

    def __str__(self) -> str:
        return f"KVM {'usable' if self.usable else 'not usable'}: {self.detail}"


async def probe_kvm(timeout: float = 5.0) -> ProbeResult:
    """Boot a guest under ``-accel kvm`` and report whether it ran to a clean exit."""
    from .machine import Machine

    if not os.path.exists("/dev/kvm"):
        return ProbeResult(False, "/dev/kvm does not exist (no hardware virtualisation here)")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return ProbeResult(False, "/dev/kvm is not readable and writable by this user "
                                  "(add the user to the kvm group)")
    with tempfile.TemporaryDirectory(prefix="labkit-kvm-") as tmp:
        kernel_elf = paths.images_dir() / "kernel.elf"
        if kernel_elf.is_file() and (paths.images_dir() / "hello.cpio").is_file():
            machine = Machine("hello", accel="kvm")
            what = "the kernel with hello"
        else:
            from .tinykernel import write_tiny_kernel

            tiny = write_tiny_kernel(Path(tmp) / "tiny.elf", exit_value=0)
            machine = Machine(None, kernel=tiny, accel="kvm")
            what = "the tiny PVH kernel (images not built)"
        try:
            await machine.start()
            outcome = await machine.wait(timeout)
        except LabkitError as exc:
            return ProbeResult(False, f"QEMU refused -accel kvm: {str(exc).splitlines()[0]}")
        finally:
            await machine.close()
    if isinstance(outcome, Exited) and outcome.app_status == 0:
        return ProbeResult(True, f"{what} booted and exited cleanly in "
                                 f"{machine.wall_time or 0:.2f} s")
    return ProbeResult(False, f"{what} did not exit cleanly under KVM: {outcome.describe()}")


async def choose_accel_async(requested: str = "tcg", timeout: float = 5.0) -> tuple[str, str]:
    """Resolve ``tcg``/``kvm``/``auto`` to an accelerator; returns ``(accel, why)``.

    ``auto`` runs :func:`probe_kvm` (a few seconds) and falls back to TCG.
    """
    if requested == "tcg":
        return "tcg", "TCG requested (the default: always works)"
    if requested == "kvm":
        return "kvm", "KVM requested (not probed)"
    if requested != "auto":
        raise LabkitError(f"unknown accelerator {requested!r}: use tcg, kvm or auto")
    result = await probe_kvm(timeout)
    return ("kvm" if result.usable else "tcg"), str(result)


def choose_accel(requested: str = "tcg", timeout: float = 5.0) -> tuple[str, str]:
    """Synchronous :func:`choose_accel_async` (for scripts; not inside a running loop)."""
    return asyncio.run(choose_accel_async(requested, timeout))

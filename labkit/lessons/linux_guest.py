# SPDX-License-Identifier: MIT
"""Is a Linux guest at hand? And, where not, the figures the lessons cite instead.

The Linux guest baseline (:mod:`labkit.linux`: a Linux kernel and a busybox initramfs holding
the same apps, booted by the same ``Machine``) needs a Linux kernel image on this machine.
Where one is at hand the lessons measure Linux side by side; where not, they print what they
skipped and show the cited figures below, each marked *cited* with its source, never mixed up
with a number measured on the student's machine.

The helpers that boot the guest wait up to 50 s per boot, within the 60 s the tests give a
cell that boots Linux (``tests/test_notebooks.py``): a few seconds on an idle machine, about
30 on a loaded 2-core one. A boot that ends otherwise than with status 0 raises, naming the
outcome (a run killed at its timeout has printed nothing, which is not the app's doing).
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import BootError, LabkitError

if TYPE_CHECKING:
    from ..linux import LinuxGuest
    from ..machine import Machine

__all__ = ["Cited", "find_linux_guest", "linux_note", "linux_name", "CITED", "skip_note",
           "linux_boot_profile", "linux_wall_time", "linux_call_costs", "TUNED_LINUX",
           "tuned_linux_boot"]


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
        14_190_528, "bytes", "vmlinuz of Debian 12's cloud kernel 6.1.0-57 (6.1.192-3)",
        "the package labkit.linux.PINNED_KERNEL names, unpacked with dpkg-deb -x"),
    "modules_bytes": Cited(
        91_509_289, "bytes", "its loadable modules (1121 .ko files under /lib/modules)",
        "same package, unpacked"),
}

def find_linux_guest(apps: Sequence[str] = ("hello",)) -> Any | None:
    """A :class:`labkit.linux.LinuxGuest` whose initramfs holds ``apps``, if a Linux kernel
    and busybox are already on this machine (``images/linux-guest/``, ``/boot``, or
    ``$LABKIT_LINUX_KERNEL``); None otherwise. Never downloads anything: a lesson must not
    wait for a 27 MB package (``labkit.linux.prepare()`` or ``make bench`` fetch it)."""
    try:
        from .. import linux
    except ImportError:
        return None
    try:
        return linux.prepare(apps=list(apps), fetch=False)
    except (BootError, OSError, subprocess.SubprocessError):
        return None


def linux_note(guest: LinuxGuest | None) -> str:
    """One line saying which Linux the comparison uses, or that it is skipped."""
    if guest is None:
        return ("no Linux guest image on this machine: the Linux side is skipped and cited "
                "figures are shown instead (labkit.linux.prepare() fetches one)")
    return f"Linux guest: {guest.describe()}"


def linux_name(guest: LinuxGuest) -> str:
    """``"Linux 6.1"``: the series of the kernel the guest boots, read from its image (labkit
    fetches Debian 12's 6.1 on every machine, but a kernel named by ``$LABKIT_LINUX_KERNEL``
    or taken from ``/boot`` may be another)."""
    found = re.search(r"\d+\.\d+", guest.kernel.version)
    return f"Linux {found.group(0) if found else guest.kernel.version}"


def skip_note(what: str, cited: str) -> str:
    """The sentence a lesson prints when it skips the Linux side of a comparison."""
    c = CITED[cited]
    value = f"{c.value:g}" if isinstance(c.value, float) else f"{c.value:,}"
    return (f"no Linux guest image: {what} skipped. The figure cited instead: {value} {c.unit}"
            f" for {c.what} ({c.source}).")


async def linux_boot_profile(guest: LinuxGuest, app: str = "hello", timeout: float = 50.0) -> Any:
    """Boot ``app`` on the Linux guest under ``-icount shift=0`` and return its
    :class:`~labkit.lessons.timeline.BootProfile` (milestones ``init``, ``app_exec``)."""
    from .. import linux
    from .timeline import BootProfile, boot_phases

    m = await linux.run_linux(app, guest=guest, icount=0, timeout=timeout)
    _check_exit(m, app)
    return BootProfile(f"{m.config.machine}, Linux", True, tuple(boot_phases(m.events.events)),
                       m.wall_time)


async def linux_wall_time(guest: LinuxGuest, app: str = "hello", timeout: float = 50.0) -> float:
    """Seconds from QEMU's start to its exit for ``app`` on the Linux guest, under TCG."""
    from .. import linux

    m = await linux.run_linux(app, guest=guest, timeout=timeout)
    _check_exit(m, app)
    return float(m.wall_time or 0.0)


async def linux_call_costs(guest: LinuxGuest, iterations: int = 10000,
                           timeout: float = 50.0) -> Any:
    """syscall_bench on the Linux guest under icount, as a
    :class:`~labkit.lessons.syscalls.CallCosts`."""
    from .. import linux
    from .syscalls import parse_syscall_bench

    m = await linux.run_linux("syscall_bench", str(iterations), guest=guest, icount=0,
                              timeout=timeout)
    _check_exit(m, "syscall_bench")
    return parse_syscall_bench(m.console.text)


def _check_exit(m: Machine, app: str) -> None:
    """Raise, naming the outcome, unless ``app`` exited with status 0: a run killed at its
    timeout has printed nothing yet, which must not read as an app that printed nothing."""
    if m.outcome is None or not m.outcome.ok:
        what = m.outcome.describe() if m.outcome is not None else "no outcome"
        raise RuntimeError(f"{app} on Linux did not exit cleanly: {what}; console tail:\n"
                           + m.console.tail(5))


#: The same Linux kernel as a tuned deployment would boot it: on QEMU's minimal ``microvm``
#: machine (no PCI bus to probe, no ACPI tables, a small firmware) and without the crypto
#: self-tests. (Further options a lean VM uses, such as skipping the i8042 keyboard probe,
#: changed the count by well under 1 % in our runs, so they are left out.)
TUNED_LINUX: dict[str, Any] = {"machine": "microvm", "kernel_args": ["cryptomgr.notests"]}


async def tuned_linux_boot(app: str = "hello", timeout: float = 60.0, attempts: int = 3) -> int:
    """Instructions from reset to the execve of ``app`` on the Linux guest booted as
    :data:`TUNED_LINUX` says, under ``-icount shift=0``. On ``microvm`` the Debian kernel
    sometimes stops before it reaches /init (:mod:`labkit.linux`): such a boot is ended after
    ``timeout`` s and tried again, up to ``attempts`` boots in all. Deterministic as it is
    (icount), a boot that gets there counts the same instructions every time."""
    from .. import linux
    from ..events import Milestone

    tried: list[str] = []
    for _ in range(attempts):
        m = linux.linux_machine(app, icount=0, **TUNED_LINUX)
        await m.start()
        try:
            with contextlib.suppress(LabkitError):
                start = await m.events.wait_milestone("app_exec", timeout)
                assert isinstance(start, Milestone)
                return int(start.tsc)
        finally:
            await m.close()
        tried.append(m.console.tail(1).strip() or "no console output")
    raise BootError(f"the tuned Linux guest did not start {app} in {attempts} boots on microvm "
                    f"(each stopped after {timeout:.0f} s; last console lines: {tried})")

# SPDX-License-Identifier: MIT
"""How a machine ended: one small dataclass per kind of ending.

QEMU's exit status carries the app's status through ``isa-debug-exit`` (kernel README):

=============  ========================================================
QEMU status    meaning
=============  ========================================================
1 .. 127 odd   the app exited with status s, QEMU shows ``((s & 63) << 1) | 1``;
               the exact s is in the COM2 ``exit`` event (authoritative)
129 .. 141     the kernel refused the app or the boot (load error: dynamic linker,
               boot archive, command line, memory)
255            kernel panic (the COM2 ``panic`` event has the details)
0              QEMU was stopped from outside (QMP ``quit``) or the guest reset
=============  ========================================================

:func:`decode` turns a status plus the COM2 events into an :class:`Outcome`. Every outcome has
``status``: the exit status ``labkit run`` gives back to the shell.
"""

from __future__ import annotations

import signal as _signal
from dataclasses import dataclass

from .events import ExitEvent, LoadErrorEvent, PanicEvent

__all__ = [
    "Outcome",
    "Exited",
    "Panicked",
    "LoadFailed",
    "TimedOut",
    "Killed",
    "decode",
    "LOAD_ERRORS",
    "PANIC_STATUS",
]

#: QEMU status -> load error kind (kernel README, "Exit status").
LOAD_ERRORS = {
    129: "not_found",
    131: "unresolved_symbol",
    133: "bad_elf",
    135: "truncated",
    137: "no_memory",
    139: "cmdline_too_long",
    141: "low_memory",
}
LOAD_ERROR_TEXT = {
    "not_found": "the app was not found in the boot archive, or no app was named",
    "unresolved_symbol": "the app uses a symbol the kernel does not export",
    "bad_elf": "the app is not an x86-64 ELF shared object",
    "truncated": "the app file is truncated",
    "no_memory": "out of memory while loading the app",
    "bad_archive": "the boot archive (cpio) is damaged",
    "cmdline_too_long": "the kernel command line is too long or has too many words",
    "low_memory": "not enough memory for the kernel to boot",
}
PANIC_STATUS = 255


class Outcome:
    """Base of all outcomes."""

    @property
    def status(self) -> int:
        """The exit status a shell sees for this outcome."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line for humans."""
        raise NotImplementedError

    @property
    def ok(self) -> bool:
        """True when the app exited with status 0."""
        return False


@dataclass(frozen=True)
class Exited(Outcome):
    """The app exited with ``app_status`` (exact when ``exact``: taken from COM2)."""

    app_status: int
    qemu_status: int
    exact: bool = True

    @property
    def status(self) -> int:
        return self.app_status & 0xFF

    @property
    def ok(self) -> bool:
        return self.app_status == 0

    def describe(self) -> str:
        note = "" if self.exact else " (low 6 bits only: no COM2 exit event)"
        return f"the app exited with status {self.app_status}{note}"


@dataclass(frozen=True)
class Panicked(Outcome):
    """The kernel panicked (``panic`` parsed from COM2) or the guest reset itself."""

    panic: PanicEvent | None
    qemu_status: int
    reason: str = "kernel panic"

    @property
    def status(self) -> int:
        return PANIC_STATUS

    @property
    def function(self) -> str | None:
        return self.panic.function if self.panic else None

    def describe(self) -> str:
        if self.panic is None:
            return self.reason
        return f"{self.reason}: {self.panic.describe()}"


@dataclass(frozen=True)
class LoadFailed(Outcome):
    """The kernel could not load the app (kind as in the kernel README)."""

    error: str
    qemu_status: int
    event: LoadErrorEvent | None = None

    @property
    def status(self) -> int:
        return self.qemu_status

    def describe(self) -> str:
        text = LOAD_ERROR_TEXT.get(self.error, self.error)
        if self.event is not None and (self.event.file or self.event.detail):
            text += f" ({': '.join(x for x in (self.event.file, self.event.detail) if x)})"
        return f"load error {self.error}: {text}"


@dataclass(frozen=True)
class TimedOut(Outcome):
    """The machine did not finish within ``after`` seconds and was killed."""

    after: float

    @property
    def status(self) -> int:
        return 124  # as timeout(1)

    def describe(self) -> str:
        return f"timed out after {self.after:g} s (the machine was killed)"


@dataclass(frozen=True)
class Killed(Outcome):
    """QEMU was ended from outside the guest: ``reason`` says by whom."""

    reason: str
    signal: int | None = None

    @property
    def status(self) -> int:
        return 128 + (self.signal or _signal.SIGTERM)

    def describe(self) -> str:
        sig = f" ({_signal.Signals(self.signal).name})" if self.signal else ""
        return f"killed: {self.reason}{sig}"


def decode(qemu_status: int, exit_event: ExitEvent | None = None,
           panic: PanicEvent | None = None, load_error: LoadErrorEvent | None = None,
           shutdown_reason: str | None = None, quit_requested: bool = False) -> Outcome:
    """The outcome of a QEMU that ended with ``qemu_status`` (negative: killed by a signal).

    COM2 events win over the status when both are there, since they are exact.
    """
    if qemu_status < 0:
        return Killed("QEMU was killed by a signal", -qemu_status)
    if panic is not None or qemu_status == PANIC_STATUS:
        return Panicked(panic, qemu_status)
    if load_error is not None:
        return LoadFailed(load_error.error, qemu_status, load_error)
    if qemu_status in LOAD_ERRORS:
        return LoadFailed(LOAD_ERRORS[qemu_status], qemu_status)
    if exit_event is not None and qemu_status & 1:
        return Exited(exit_event.status, qemu_status, exact=True)
    if qemu_status & 1 and qemu_status < 128:
        return Exited(qemu_status >> 1, qemu_status, exact=False)
    if qemu_status == 0:
        if quit_requested:
            return Killed("quit through QMP")
        if shutdown_reason == "guest-reset":
            return Panicked(None, 0, "the guest reset itself (triple fault?) without a panic "
                                     "report")
        return Killed(f"QEMU stopped from outside ({shutdown_reason or 'no reason given'})")
    return Killed(f"QEMU exited with status {qemu_status}, which the kernel never produces")

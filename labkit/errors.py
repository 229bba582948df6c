# SPDX-License-Identifier: MIT
"""The one error tree of labkit.

Every error labkit raises on purpose is a :class:`LabkitError`; its message says what happened
and what to do about it::

    LabkitError
     +-- ToolMissingError      a program labkit needs is not installed (qemu, gcc, make, dot)
     +-- BuildError            make or the C compiler failed (carries the compiler output)
     +-- BootError             QEMU refused to start, or the images to boot are missing
     +-- MachineStateError     the machine's state forbids the request (step on a stopped one)
     +-- WaitTimeout           a wait ran out of time (also a TimeoutError)
     +-- QMPError              a QMP command failed or the monitor went away
     +-- DebuggerError         the GDB stub said no, or the protocol broke
     +-- ElfError              a file is not a well-formed x86-64 ELF (names file and problem)
     +-- ArchiveError          a boot archive (cpio newc) could not be written or read
     +-- UsageError            a value given on the command line cannot be used (bad size, name)
     +-- RepositoryError       no lab repository where labkit looks (LABKIT_ROOT without kernel/)

Errors from outside labkit's control (``OSError`` on a full disk, ``KeyboardInterrupt``) pass
through unchanged.

In a notebook a :class:`LabkitError` reads as its message and the line of the cell that raised
it, not as a traceback through labkit's internals (IPython asks an exception for
``_render_traceback_``); ``%env LABKIT_TRACEBACK=1`` brings the full traceback back. On the
command line, ``labkit`` prints the message alone (:mod:`labkit.cli`).
"""

from __future__ import annotations

import linecache
import os
from pathlib import Path
from types import TracebackType

__all__ = [
    "LabkitError",
    "ToolMissingError",
    "BuildError",
    "BootError",
    "MachineStateError",
    "WaitTimeout",
    "QMPError",
    "DebuggerError",
    "ElfError",
    "ArchiveError",
    "UsageError",
    "RepositoryError",
]


_PACKAGE = str(Path(__file__).resolve().parent)


def _cell_line(tb: TracebackType | None) -> str | None:
    """The user's line that called into labkit: the last frame before the first labkit frame."""
    caller = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(_PACKAGE):
            break
        if "IPython" not in filename and "asyncio" not in filename:
            caller = (filename, tb.tb_lineno)
        tb = tb.tb_next
    if caller is None:
        return None
    text = linecache.getline(*caller).strip()
    return f"`{text}` (line {caller[1]} of the cell)" if text else f"line {caller[1]} of the cell"


class LabkitError(Exception):
    """Base of every error labkit raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        """What a notebook shows for this error: the message, with its fix, and the cell's
        line that raised it; the full traceback when ``LABKIT_TRACEBACK=1``."""
        if os.environ.get("LABKIT_TRACEBACK") == "1":
            import traceback

            return traceback.format_exception(type(self), self, self.__traceback__)
        lines = [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]
        where = _cell_line(self.__traceback__)
        if where:
            lines.append(f"(raised by {where}; %env LABKIT_TRACEBACK=1 and a re-run show "
                         "labkit's full traceback)")
        return lines


class ToolMissingError(LabkitError):
    """A program labkit needs is not installed; the message names the package to install."""

    def __init__(self, tool: str, fix: str):
        self.tool = tool
        self.fix = fix
        super().__init__(f"{tool} not found: {fix}")


class BuildError(LabkitError):
    """``make`` or the compiler failed. ``output`` holds what the tool printed."""

    def __init__(self, message: str, output: str = ""):
        self.output = output
        super().__init__(message + (f"\n{output.rstrip()}" if output else ""))


class BootError(LabkitError):
    """QEMU could not be started, or exited before the machine was up."""


class MachineStateError(LabkitError):
    """The machine is in a state that forbids the request."""


class WaitTimeout(LabkitError, TimeoutError):
    """A wait with a timeout ran out of time; the machine is left as it was."""


class QMPError(LabkitError):
    """A QMP command failed, or the QMP connection broke."""


class DebuggerError(LabkitError):
    """The GDB stub refused a request, or the remote protocol broke."""


class ElfError(LabkitError):
    """A file is not a well-formed ELF of the kind expected."""

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ArchiveError(LabkitError):
    """A cpio (newc) boot archive could not be written or parsed."""


class UsageError(LabkitError):
    """A value given on the command line (or to a function) cannot be used: a size that is not
    one, an option without its ``=``. ``labkit`` exits with status 2 for it, as for any other
    command line it cannot parse."""


class RepositoryError(LabkitError):
    """labkit cannot find the lab's repository: ``$LABKIT_ROOT`` (or the folder holding the
    labkit package) has no ``kernel/`` folder."""

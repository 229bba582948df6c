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

Errors from outside labkit's control (``OSError`` on a full disk, ``KeyboardInterrupt``) pass
through unchanged.
"""

from __future__ import annotations

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
]


class LabkitError(Exception):
    """Base of every error labkit raises on purpose."""


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

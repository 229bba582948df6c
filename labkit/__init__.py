# SPDX-License-Identifier: MIT
"""labkit: the bench of the unikernel lab.

Build the kernel, boot it under QEMU, read its consoles and events, inspect its ELF images
and single-step it through QEMU's GDB stub. The names below are the public face, most
important first; everything else lives in the submodules.

In a notebook (top-level ``await``)::

    import labkit
    m = await labkit.Machine("hello", "3").start()
    outcome = await m.wait(timeout=10)
    assert outcome == labkit.Exited(3, 7) and "Hello" in m.console.text
    print(m.events.milestones["app_main"])

In a script (the synchronous facade runs its own event loop in a helper thread)::

    import labkit
    m = labkit.run_sync("hello", "3")
    assert m.outcome.status == 3

These two examples run in the tests (tests/test_notebook.py).

Module map, lowest layer first (docs/design.md draws the layers; none imports upward)::

    errors, outcome, paths         the error tree, how a run ended, where files are
    events, console                COM2 events (typed, one registry), COM1 text and its waits
    qemuargs, elf, gdbremote, ...  QEMU's command line, ELF images, the GDB remote protocol
    machine, asyncrun              a QEMU with explicit state; run a coroutine from plain code
    build, variant, cpio, linux    the kernel and apps built; kernel variants; boot archives
    net/, balloon, bench           the wire and net measurements, the balloon's QMP client
    lessons/, exercises/           what each lesson measures, and its exercises' checks
    widgets/, render               views: live figures, tables, diagrams, the debugger panel

Errors (one tree, see :mod:`labkit.errors`)::

    LabkitError
     +-- ToolMissingError, BuildError, BootError, MachineStateError, WaitTimeout,
         QMPError, DebuggerError, ElfError, ArchiveError
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    # Machines
    "Machine",
    "MachineState",
    "SyncMachine",
    "run",
    "run_sync",
    # Outcomes
    "Outcome",
    "Exited",
    "Panicked",
    "LoadFailed",
    "TimedOut",
    "Killed",
    # Debugging and inspection
    "Debugger",
    "load_elf",
    "bind_imports",
    "AddressSpace",
    # Building
    "build",
    "compile_app",
    # Errors, most generic first
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

from .errors import (
    ArchiveError,
    BootError,
    BuildError,
    DebuggerError,
    ElfError,
    LabkitError,
    MachineStateError,
    QMPError,
    ToolMissingError,
    WaitTimeout,
)
from .outcome import Exited, Killed, LoadFailed, Outcome, Panicked, TimedOut

# Heavier modules load on first use, so `import labkit` stays quick and side-effect free.
_LAZY = {
    "Machine": ("machine", "Machine"),
    "MachineState": ("machine", "MachineState"),
    "SyncMachine": ("machine", "SyncMachine"),
    "run": ("machine", "run"),
    "run_sync": ("machine", "run_sync"),
    "Debugger": ("debugger", "Debugger"),
    "load_elf": ("elf", "load_elf"),
    "bind_imports": ("elf", "bind_imports"),
    "AddressSpace": ("layout", "AddressSpace"),
    "build": ("build", "build"),
    "compile_app": ("build", "compile_app"),
}

if TYPE_CHECKING:
    from .build import build, compile_app
    from .debugger import Debugger
    from .elf import bind_imports, load_elf
    from .layout import AddressSpace
    from .machine import Machine, MachineState, SyncMachine, run, run_sync


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

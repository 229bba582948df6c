# SPDX-License-Identifier: MIT
"""No orphan QEMU: every QEMU dies with the Python process that started it.

Four guards, because each one alone has a gap:

1. QEMU runs in its own session and process group (``start_new_session``), so a Ctrl-C or a
   Jupyter "interrupt" aimed at Python does not hit it, and labkit can kill the whole group.
2. ``PR_SET_PDEATHSIG`` (set through ``prctl`` between fork and exec): the kernel sends
   SIGKILL to QEMU when the thread that started it dies, SIGKILL of the owner included.
3. A watchdog pipe: one small helper process per owner reads a pipe whose only writer is the
   owner; when the owner dies, however it dies, the pipe reports end-of-file and the helper
   kills every process group still registered with it and removes their runtime folders.
4. ``atexit`` and ``weakref.finalize`` kill what is still alive on a normal interpreter exit or
   when a forgotten :class:`~labkit.machine.Machine` is collected.

Set ``LABKIT_WATCHDOG=0`` to do without the helper process (guards 1, 2 and 4 remain).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

__all__ = ["preexec_guard", "register", "unregister", "kill_group", "watchdog_pid"]

PR_SET_PDEATHSIG = 1

_WATCHDOG_SOURCE = r"""
import os, shutil, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
groups = {}
for line in sys.stdin:
    op, _, rest = line.rstrip("\n").partition(" ")
    pid, _, path = rest.partition(" ")
    if op == "+" and pid.isdigit():
        groups[int(pid)] = path
    elif op == "-" and pid.isdigit():
        groups.pop(int(pid), None)
for pgid, path in groups.items():
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    if os.path.basename(path).startswith("labkit-"):
        shutil.rmtree(path, ignore_errors=True)
"""

_lock = threading.Lock()
_watchdog: subprocess.Popen | None = None
_live: dict[int, str] = {}
_libc: ctypes.CDLL | None = None


def _load_libc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError:
            _libc = None
    return _libc


def preexec_guard() -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent thread dies.

    Everything it needs is prepared before the fork; in the child it only calls ``prctl``
    and checks that the parent did not die in between.
    """
    libc = _load_libc()
    parent = os.getpid()
    prctl = libc.prctl if libc is not None else None

    def guard() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(111)

    return guard


def _ensure_watchdog() -> subprocess.Popen | None:
    global _watchdog
    if os.environ.get("LABKIT_WATCHDOG", "1") == "0":
        return None
    if _watchdog is not None and _watchdog.poll() is None:
        return _watchdog
    try:
        _watchdog = subprocess.Popen(
            [sys.executable, "-S", "-c", _WATCHDOG_SOURCE],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, text=True)
    except OSError:
        _watchdog = None
    return _watchdog


def _tell(line: str) -> None:
    dog = _ensure_watchdog()
    if dog is None or dog.stdin is None:
        return
    try:
        dog.stdin.write(line + "\n")
        dog.stdin.flush()
    except OSError:
        pass


def register(pgid: int, rundir: str = "") -> None:
    """Track a QEMU process group: it is killed (and its private runtime folder ``rundir``
    removed) when this process exits or dies."""
    with _lock:
        _live[pgid] = rundir
        _tell(f"+ {pgid} {rundir}")


def unregister(pgid: int) -> None:
    """Forget a process group whose QEMU has been reaped."""
    with _lock:
        _live.pop(pgid, None)
        if _watchdog is not None:
            _tell(f"- {pgid}")


def watchdog_pid() -> int | None:
    """The helper process's pid, if it runs (for tests)."""
    return _watchdog.pid if _watchdog is not None and _watchdog.poll() is None else None


def kill_group(pgid: int) -> None:
    """SIGKILL a process group; a group that is already gone is fine."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@atexit.register
def _kill_all_at_exit() -> None:
    with _lock:
        groups = list(_live.items())
        _live.clear()
    for pgid, rundir in groups:
        kill_group(pgid)
        if os.path.basename(rundir).startswith("labkit-"):
            shutil.rmtree(rundir, ignore_errors=True)
        try:
            os.waitpid(pgid, 0)
        except ChildProcessError:
            pass
        except OSError:
            pass

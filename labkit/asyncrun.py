# SPDX-License-Identifier: MIT
"""Run a labkit coroutine from synchronous code: a script, the command line, an exercise check.

Every synchronous entry point shares one event loop in a daemon thread (the one the
synchronous :class:`labkit.SyncMachine` uses), so machines started by one call can be awaited
by the next. Calling it from that loop's own thread is refused rather than deadlocking.

>>> import asyncio
>>> run_coroutine(asyncio.sleep(0, result=7))
7
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from .machine import _LoopThread

__all__ = ["run_coroutine"]

T = TypeVar("T")


def run_coroutine(coro: Awaitable[T], timeout: float | None = None) -> T:
    """Run ``coro`` to its end on labkit's loop thread and return its result.

    Raises :class:`labkit.WaitTimeout` (and cancels the coroutine) when ``timeout`` seconds
    pass first; ``None`` waits as long as it takes."""
    return _LoopThread.get().call(coro, timeout=timeout)

# SPDX-License-Identifier: MIT
"""The small experiments of lesson 03 (net channels), as plain functions over labkit.net: a
UDP burst, a flood of malformed frames, the kernel's drop counters, and HTTP through hostfwd.
The views are in :mod:`labkit.widgets.net_views`; the measurements of both receive paths in
:mod:`labkit.net.bench`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from typing import TYPE_CHECKING

from ..events import NetDrops
from ..net.malformed import malformed_frames
from ..net.wire import Wire

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["udp_burst", "flood", "drop_reasons", "curl"]


def udp_burst(wire: Wire, seconds: float, port: int = 7, size: int = 64) -> tuple[int, float]:
    """UDP echoes one after another for ``seconds``; returns (echoes, median round trip in s)."""
    rtts = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        wire.udp(port, bytes([len(rtts) % 256]) * size, sport=42000)
        rtts.append(time.perf_counter() - t0)
    rtts.sort()
    return len(rtts), rtts[len(rtts) // 2]


def flood(wire: Wire, count: int, seed: int = 0) -> dict[str, int]:
    """Send ``count`` malformed frames; returns how many of each kind went out."""
    kinds: dict[str, int] = {}
    for kind, frame in malformed_frames(count, seed=seed):
        wire.send(frame)
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def drop_reasons(machine: Machine) -> dict[str, int]:
    """The latest ``net_drops`` event: drops by reason (non-zero ones)."""
    drops = machine.events.of_type(NetDrops)
    return drops[-1].nonzero() if drops else {}


def curl(url: str, timeout: float = 10.0) -> str:
    """``curl -si URL`` when curl is installed, else the same request with Python."""
    if shutil.which("curl"):
        return subprocess.run(["curl", "-si", "--max-time", str(timeout), url],
                              capture_output=True, text=True, timeout=timeout + 5).stdout
    with urllib.request.urlopen(url, timeout=timeout) as r:
        head = f"HTTP/1.1 {r.status} {r.reason}\n" + "".join(f"{k}: {v}\n" for k, v in
                                                           r.headers.items())
        return head + "\n" + r.read().decode(errors="replace")

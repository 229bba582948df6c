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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..events import NetDrops
from ..net.malformed import malformed_frames
from ..net.wire import Wire

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["Burst", "udp_burst", "compare_bursts", "flood", "drop_reasons", "curl"]


@dataclass(frozen=True)
class Burst:
    """Round trips of one UDP burst: how many, and the middle 95 % of them (in seconds)."""

    count: int
    low: float        # 2.5th percentile
    median: float
    high: float       # 97.5th percentile

    def describe(self) -> str:
        return (f"{self.count} echoes, round trip {self.low * 1e6:.0f}-{self.median * 1e6:.0f}-"
                f"{self.high * 1e6:.0f} us (2.5 %-median-97.5 %)")


def udp_burst(wire: Wire, seconds: float, port: int = 7, size: int = 64) -> Burst:
    """UDP echoes one after another for ``seconds``; their round trips' spread."""
    rtts = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        wire.udp(port, bytes([len(rtts) % 256]) * size, sport=42000)
        rtts.append(time.perf_counter() - t0)
    rtts.sort()
    n = len(rtts)
    return Burst(n, rtts[int(0.025 * (n - 1))], rtts[n // 2], rtts[int(0.975 * (n - 1))])


def compare_bursts(a: Burst, b: Burst, names: tuple[str, str] = ("classic", "channels")) -> str:
    """Which burst was faster, said only where the middle 95 % of the two do not overlap."""
    if a.high < b.low or b.high < a.low:
        fast, slow = (names[0], names[1]) if a.median < b.median else (names[1], names[0])
        return f"{fast} was faster: the middle 95 % of its round trips lie below {slow}'s"
    return ("no clear difference: the middle 95 % of the two bursts' round trips overlap "
            f"({a.median * 1e6:.0f} against {b.median * 1e6:.0f} us at the median)")


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

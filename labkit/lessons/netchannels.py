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

__all__ = ["Burst", "udp_burst", "compare_bursts", "flood", "KindDrops", "flood_by_kind",
           "Expected", "EXPECTED", "matches", "drop_reasons", "curl"]


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


@dataclass(frozen=True)
class KindDrops:
    """What the kernel counted for ``sent`` frames of one broken ``kind``, sent on their own:
    the drop counters that grew, and by how much."""

    kind: str
    sent: int
    grew: dict[str, int]

    @property
    def counted(self) -> int:
        return sum(self.grew.values())


@dataclass(frozen=True)
class Expected:
    """What the stack should do with one kind of broken frame: the drop counters it may land
    in, whether every frame must be counted (``all``), and why not where it need not be."""

    counters: frozenset[str]
    all: bool = True
    why: str = ""


def _e(*counters: str, why: str = "") -> Expected:
    return Expected(frozenset(counters), not why, why)


#: Per kind of :mod:`labkit.net.malformed` frame, what lesson 03 expects of the kernel.
EXPECTED: dict[str, Expected] = {
    "truncated": _e("short", "arp", "ip_hdr", "ip_len", "udp_hdr", "tcp_hdr", "icmp",
                    why="a cut that leaves the headers whole may still be handled"),
    "ip_bad_length": _e("ip_len", "ip_hdr"),
    "ip_bad_ihl": _e("ip_hdr", "ip_csum"),
    "ip_bad_version": _e("ip_hdr"),
    "ip_bad_checksum": _e("ip_csum"),
    "ip_options": _e(why="valid pings with IP options: answered, not dropped"),
    "fragment": _e("frag"),
    "other_protocol": _e("proto"),
    "not_for_us": _e("ether", "not_us"),
    "other_ethertype": _e("ether"),
    "icmp_bad": _e("icmp"),
    "udp_bad_length": _e("udp_hdr"),
    "udp_bad_checksum": _e("udp_csum"),
    "tcp_bad_checksum": _e("tcp_csum"),
    "tcp_bad_offset": _e("tcp_hdr"),
    "tcp_bad_options": _e("tcp_hdr", "tcp_noconn"),
    "tcp_odd_flags": _e("tcp_noconn", why="TCP's rules handle the rest: a RST is never "
                                          "answered, port 7 has a listener"),
    "arp_bad": _e("ether", "arp"),
    "garbage": _e("short", "ether", "arp", "ip_hdr", "ip_len", "ip_csum"),
    "oversized": _e(why="never reaches the guest: its receive buffers hold one Ethernet frame"),
    "syn_flood": _e("tcp_backlog", why="the first SYNs take free half-open slots and get a "
                                       "SYN-ACK; each later one evicts the oldest"),
    "udp_flood": _e("udp_full", why="valid datagrams for port 9, queued on netecho's unread "
                                    "socket until its queue is full"),
}


def matches(row: KindDrops) -> bool:
    """Only the expected counters grew, and by every frame sent where all must be counted."""
    want = EXPECTED.get(row.kind)
    if want is None:
        return False
    if not set(row.grew) <= want.counters:
        return False
    return row.counted == row.sent if want.all else row.counted <= row.sent


def _latest_drops(machine: Machine) -> tuple[int, dict[str, int]]:
    drops = machine.events.of_type(NetDrops)
    return len(drops), dict(drops[-1].reasons) if drops else {}


def _settled_drops(machine: Machine, after: int, timeout: float = 5.0) -> dict[str, int]:
    """The drop counters once they have settled: two ``net_drops`` events in a row, after the
    ``after``-th one, that agree (frames for a flow wait in its channel for the app's thread,
    so the counters may still move after the echo came back)."""
    end = time.monotonic() + timeout
    last: dict[str, int] | None = None
    while time.monotonic() < end:
        seen, reasons = _latest_drops(machine)
        if seen > after:
            if reasons == last:
                return reasons
            last, after = reasons, seen
        time.sleep(0.05)
    raise TimeoutError(f"the drop counters did not settle within {timeout} s (is metrics= "
                       "set?)")


def flood_by_kind(wire: Wire, machine: Machine, per_kind: int = 100,
                  seed: int = 0) -> list[KindDrops]:
    """Each kind of broken frame on its own: ``per_kind`` frames, then an echo (so the guest
    has handled them), then the drop counters of the next ``net_drops`` event, against those
    before. Needs a machine booted with ``metrics=``."""
    from ..net.malformed import KINDS

    rows = []
    for kind in KINDS:
        seen, before = _latest_drops(machine)
        for _, frame in malformed_frames(per_kind, seed=seed, kinds=(kind,)):
            wire.send(frame)
        wire.ping(1)
        after = _settled_drops(machine, seen)
        grew = {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}
        rows.append(KindDrops(kind, per_kind, grew))
    return rows


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

# SPDX-License-Identifier: MIT
"""The measurements of lesson 03, for both receive paths (``net=classic`` / ``net=channels``).

Two modes, each stated with its figures (docs/design.md, "Measurement"):

* **instructions** (``-icount shift=0``): the TSC counts guest instructions, so the kernel's
  per-stage TSC sums are exact instruction counts. :func:`udp_costs` sends UDP echoes through
  labkit's :class:`~labkit.net.Wire`; :func:`http_costs` sends keep-alive HTTP requests through
  user networking. Idle time never falls inside a stage, so ``sleep=on`` (virtual time follows
  the host while the guest idles, which keeps the periodic samples at a sane rate) does not
  change the counts.
* **wall time under TCG**: UDP round trips (:func:`udp_rtt`) and HTTP requests per second
  (:func:`http_rate`), each path measured in the same run so their ratio means something.

:func:`bench` runs all of it and :func:`report` prints a table (``labkit bench`` calls them).
Every function is a coroutine (top-level ``await`` in a notebook); :func:`bench_sync` is for
scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import statistics
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import frames as fr
from .config import NetConfig
from .stats import STAGES, NetSample, StageCost, net_samples, stage_costs
from .wire import Wire

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["PathCosts", "NetBench", "udp_costs", "noport_costs", "http_costs", "udp_rtt",
           "http_rate", "bench", "bench_sync", "report", "ICOUNT_FLAGS", "PATHS"]

PATHS = ("classic", "channels")
#: Exact instruction counts in the stages, with virtual time that rests while the guest idles.
ICOUNT_FLAGS = ("-icount", "shift=0,align=off,sleep=on")


@dataclass(frozen=True)
class PathCosts:
    """Per-packet (or per-request) instructions by stage for one receive path."""

    path: str
    what: str                      # "UDP echo" or "HTTP request"
    count: int
    stages: tuple[StageCost, ...]
    rx_classic: int                # frames whose protocol work ran in the interrupt
    rx_channel: int                # ... in the reading thread

    @property
    def irq(self) -> float:
        return sum(s.irq for s in self.stages)

    @property
    def thread(self) -> float:
        return sum(s.thread for s in self.stages)

    @property
    def total(self) -> float:
        return self.irq + self.thread

    def stage(self, name: str) -> StageCost:
        return next(s for s in self.stages if s.stage == name)


@dataclass
class NetBench:
    """Everything :func:`bench` measured."""

    costs: dict[tuple[str, str], PathCosts] = field(default_factory=dict)   # (what, path)
    udp_rtt_us: dict[str, float] = field(default_factory=dict)              # median, TCG
    http_rps: dict[str, float] = field(default_factory=dict)                # TCG


async def _next_sample(machine: Machine, after_tsc: int, timeout: float = 10.0) -> NetSample:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [s for s in net_samples(machine) if s.tsc > after_tsc]
        if fresh:
            return fresh[0]
        await asyncio.sleep(0.02)
    raise TimeoutError("no 'net' sample from the kernel: was it booted with metrics=MS?")


async def _measure(machine: Machine, work: Callable[[], Any], count: int, what: str,
                   path: str) -> PathCosts:
    """Runs ``work`` (in a thread) between two fresh samples and divides by ``count``."""
    latest = net_samples(machine)
    a = await _next_sample(machine, latest[-1].tsc if latest else -1)
    await asyncio.to_thread(work)
    b = await _next_sample(machine, a.tsc)
    return PathCosts(path, what, count, tuple(stage_costs(a, b, count)),
                     b["rx_classic"] - a["rx_classic"], b["rx_channel"] - a["rx_channel"])


def _machine(app: str, path: str, net: Any, icount: bool, metrics_ms: int,
             kernel: Any = None) -> Any:
    from ..machine import Machine

    extra = ICOUNT_FLAGS if icount else ()
    return Machine(app, net=net, options={"net": path, "metrics": metrics_ms}, extra=extra,
                   **({"kernel": kernel} if kernel is not None else {}))


@contextlib.asynccontextmanager
async def _warm_netecho(path: str, kernel: Any = None) -> AsyncIterator[tuple[Any, Wire]]:
    """netecho under icount on ``path``, on ``kernel`` (a variant) or the stock one, with its
    wire; warmed up (ARP, caches, first faults) by 20 echoes."""
    m = await _machine("netecho", path, "wire", True, 100, kernel).start()
    try:
        await m.console.wait_for("netecho:", 30)
        with Wire.attach(m) as wire:
            for i in range(20):
                await asyncio.to_thread(wire.udp, 7, b"warm %d" % i)
            yield m, wire
    finally:
        await m.close()


async def udp_costs(path: str, count: int = 200) -> PathCosts:
    """Instructions per UDP echo (request in, reply out) by stage, under icount."""
    async with _warm_netecho(path) as (m, wire):
        def burst() -> None:
            for _ in range(count):
                assert wire.udp(7, b"x" * 64, sport=41000) == b"x" * 64

        return await _measure(m, burst, count, "UDP echo", path)


async def noport_costs(path: str, count: int = 100, port: int = 5555,
                       kernel: Any = None) -> tuple[PathCosts, dict[str, int]]:
    """Instructions by stage per UDP datagram to a port nobody listens on (``netecho`` binds
    7 and 9), under icount, on ``kernel`` (a kernel variant) or the stock one; and the drops
    by reason at the end. One echo on port 7 after the datagrams shows that they have all been
    handled and that the guest still serves (it is counted in, a 1/``count`` error)."""
    from ..lessons.netchannels import drop_reasons

    async with _warm_netecho(path, kernel) as (m, wire):
        def burst() -> None:
            for _ in range(count):
                wire.send(fr.udp_frame(wire.guest_mac, wire.mac, wire.ips[0], wire.guest_ip,
                                       41002, port, b"anyone there?"))
            assert wire.udp(7, b"still here", sport=41003) == b"still here"

        costs = await _measure(m, burst, count, "UDP to a closed port", path)
        return costs, drop_reasons(m)


def _http_requests(port: int, count: int, target: str = "/hello") -> float:
    """``count`` keep-alive GETs on one connection; returns the seconds they took."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        t0 = time.perf_counter()
        for _ in range(count):
            conn.request("GET", target)
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"httpd answered {resp.status}")
            resp.read()
        return time.perf_counter() - t0
    finally:
        conn.close()


async def _httpd(path: str, icount: bool) -> tuple[Any, int]:
    net = NetConfig("user", forward={80: 0})
    m = await _machine("httpd", path, net, icount, 100).start()
    await m.console.wait_for("httpd: listening", 30)
    return m, net.host_port(80)


async def http_costs(path: str, count: int = 100) -> PathCosts:
    """Instructions per keep-alive HTTP request by stage, under icount."""
    m, port = await _httpd(path, True)
    try:
        await asyncio.to_thread(_http_requests, port, 20)
        return await _measure(m, lambda: _http_requests(port, count), count, "HTTP request", path)
    finally:
        await m.close()


async def udp_rtt(path: str, count: int = 300) -> float:
    """Median UDP echo round trip in microseconds (wall clock, TCG)."""
    m = await _machine("netecho", path, "wire", False, 0).start()
    try:
        await m.console.wait_for("netecho:", 30)
        with Wire.attach(m) as wire:
            for i in range(20):
                await asyncio.to_thread(wire.udp, 7, b"warm %d" % i)
            return await median_udp_rtt(wire, count)
    finally:
        await m.close()


async def median_udp_rtt(wire: Wire, count: int) -> float:
    """Median round trip, in microseconds, of ``count`` 64-byte UDP echoes (port 7) through
    ``wire``, a warmed-up wire to any guest running an echo server (unikernel or Linux)."""

    def rtts() -> list[float]:
        out = []
        for _ in range(count):
            t0 = time.perf_counter()
            wire.udp(7, b"x" * 64, sport=41001)
            out.append(time.perf_counter() - t0)
        return out

    return statistics.median(await asyncio.to_thread(rtts)) * 1e6


async def http_rate(path: str, count: int = 500) -> float:
    """Keep-alive HTTP requests per second through hostfwd (wall clock, TCG)."""
    m, port = await _httpd(path, False)
    try:
        await asyncio.to_thread(_http_requests, port, 20)
        return count / await asyncio.to_thread(_http_requests, port, count)
    finally:
        await m.close()


async def bench(quick: bool = False) -> NetBench:
    """All measurements, both paths. ``quick`` uses fewer packets (for tests)."""
    scale = 4 if quick else 1
    out = NetBench()
    for path in PATHS:
        out.costs[("UDP echo", path)] = await udp_costs(path, 200 // scale)
        out.costs[("HTTP request", path)] = await http_costs(path, 100 // scale)
    for path in PATHS:                     # wall-clock figures side by side, same run
        out.udp_rtt_us[path] = await udp_rtt(path, 300 // scale)
        out.http_rps[path] = await http_rate(path, 500 // scale)
    return out


def bench_sync(quick: bool = False) -> NetBench:
    """:func:`bench` for scripts and the command line."""
    from ..asyncrun import run_coroutine

    return run_coroutine(bench(quick))


def report(result: NetBench) -> str:
    """The figures as a text table."""
    lines = ["Network receive paths: instructions per packet by stage (-icount shift=0, exact)"]
    head = f"{'':24}" + "".join(f"{s:>10}" for s in STAGES) + f"{'irq':>9}{'thread':>9}{'total':>9}"
    for (what, path), c in result.costs.items():
        lines.append("")
        lines.append(f"{what} ({c.count}), net={path}: protocol work in irq {c.rx_classic}, "
                     f"in thread {c.rx_channel} frames")
        lines.append(head)
        for ctx in ("irq", "thread"):
            vals = "".join(f"{getattr(s, ctx):>10.0f}" for s in c.stages)
            lines.append(f"  {ctx:<22}{vals}")
        lines.append(f"  {'sum':<22}" + "".join(f"{s.total:>10.0f}" for s in c.stages)
                     + f"{c.irq:>9.0f}{c.thread:>9.0f}{c.total:>9.0f}")
    if result.udp_rtt_us:
        lines.append("")
        lines.append("Wall time under TCG (same run; ratios are what carry over between hosts):")
        for path in result.udp_rtt_us:
            lines.append(f"  net={path:<9} UDP echo RTT median {result.udp_rtt_us[path]:8.1f} us"
                         f"   HTTP keep-alive {result.http_rps.get(path, 0):8.0f} requests/s")
        if all(p in result.udp_rtt_us for p in PATHS):
            rtt = result.udp_rtt_us["channels"] / result.udp_rtt_us["classic"]
            rps = result.http_rps["channels"] / result.http_rps["classic"]
            lines.append(f"  channels/classic: RTT x{rtt:.2f}, requests/s x{rps:.2f}")
    return "\n".join(lines)

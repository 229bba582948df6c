# SPDX-License-Identifier: MIT
"""Memory that moves: the host's virtio balloon, the guest's statistics, QEMU's resident memory
and the kernel's heap balloon, read into plain dataclasses.

Three places to look from:

- **the host** sets the guest's *target size* with QMP ``balloon`` (not the balloon's size!) and
  reads ``actual`` with ``query-balloon``; what QEMU really holds is its resident set
  (``VmRSS`` in ``/proc/PID/status``), which is what a cloud bills;
- **the guest's statistics**, which QEMU polls over the balloon's stats queue once
  ``guest-stats-polling-interval`` is set on the device (``qom-set``/``qom-get`` on
  ``/machine/peripheral/balloon0``); without a driver every value reads 2^64-1;
- **COM2**, where the kernel sends ``balloon`` events (a target arrived, was reached, ran
  short) and ``heap_balloon`` events (memory lent by the app's managed heap, or given back).

In a notebook (the machine needs ``balloon="on"`` or ``"deflate-on-oom"``)::

    m = await labkit.Machine("memhog", "64", memory="256M", balloon="on").start()
    b = Balloon(m)
    await b.take(64 << 20)                 # the host asks for 64 MiB
    info = await b.wait_settled()          # BalloonInfo(actual=..., ram=...)
    b.host_memory().rss_bytes              # QEMU's resident memory, from /proc

:class:`MemoryMonitor` samples all of it in the background for the lesson's dashboard; the
experiments of lesson 04 over these pieces are in :mod:`labkit.lessons.ballooning`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .errors import LabkitError, MachineStateError, QMPError, WaitTimeout
from .events import BalloonEvent, Event, HeapBalloonEvent, MetricSample

if TYPE_CHECKING:
    from .machine import Machine

__all__ = [
    "Balloon",
    "BalloonInfo",
    "GuestStats",
    "HostMemory",
    "BalloonEvent",
    "HeapBalloonEvent",
    "MemorySample",
    "MemoryMonitor",
    "parse_size",
    "parse_guest_stats",
    "read_host_memory",
    "wait_heap_balloon",
    "send_command",
    "wait_console",
    "read_stats",
    "UNSET",
    "MIB",
]

MIB = 1 << 20
#: What QEMU reports for a statistic the guest never sent.
UNSET = 2**64 - 1
#: Where ``MachineConfig(balloon=...)`` puts the device in QEMU's object tree.
DEVICE_PATH = "/machine/peripheral/balloon0"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[iI]?[bB]?\s*$")


def parse_size(text: str | int) -> int:
    """Bytes in a QEMU ``-m`` size: ``"256M"``, ``"1G"``, ``"512"`` (MiB, QEMU's default unit).

    >>> parse_size("256M"), parse_size("1G"), parse_size("64")
    (268435456, 1073741824, 67108864)
    """
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise LabkitError(f"cannot read {text!r} as a memory size (like 256M or 1G)")
    number, unit = float(match.group(1)), match.group(2).upper() or "M"
    return int(number * {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit])


# ------------------------------------------------------------------------------ plain data
@dataclass(frozen=True)
class BalloonInfo:
    """QEMU's view: ``actual`` is the guest's memory size now (RAM minus the balloon)."""

    actual: int
    ram: int

    @property
    def balloon_bytes(self) -> int:
        """What the guest has handed to the host."""
        return self.ram - self.actual


#: virtio-balloon statistics, QMP name -> short name (virtio spec 5.5.6.3).
STAT_NAMES = {
    "stat-swap-in": "swap_in",
    "stat-swap-out": "swap_out",
    "stat-major-faults": "major_faults",
    "stat-minor-faults": "minor_faults",
    "stat-free-memory": "free",
    "stat-total-memory": "total",
    "stat-available-memory": "available",
    "stat-disk-caches": "disk_caches",
    "stat-htlb-pgalloc": "hugetlb_allocations",
    "stat-htlb-pgfail": "hugetlb_failures",
}


@dataclass(frozen=True)
class GuestStats:
    """The guest's own statistics as QEMU last received them.

    ``values`` maps short names (``free``, ``total``, ``available`` ...) to numbers, with None
    for what the guest did not send (QEMU's 2^64-1). ``last_update`` is QEMU's timestamp of
    the last report (seconds; 0 if none came yet).
    """

    last_update: int
    values: Mapping[str, int | None]

    @property
    def real(self) -> bool:
        """True when the guest has reported at least its free and total memory."""
        return self.last_update > 0 and self.free is not None and self.total is not None

    @property
    def free(self) -> int | None:
        return self.values.get("free")

    @property
    def total(self) -> int | None:
        return self.values.get("total")

    @property
    def available(self) -> int | None:
        return self.values.get("available")


def parse_guest_stats(reply: Mapping[str, Any]) -> GuestStats:
    """A ``qom-get ... guest-stats`` reply as :class:`GuestStats`.

    >>> s = parse_guest_stats({"last-update": 7, "stats": {"stat-free-memory": 4096,
    ...                        "stat-total-memory": 8192, "stat-swap-in": 2**64 - 1}})
    >>> s.free, s.total, s.values["swap_in"], s.real
    (4096, 8192, None, True)
    """
    stats = reply.get("stats", {}) or {}
    values: dict[str, int | None] = {}
    for qmp_name, value in stats.items():
        name = STAT_NAMES.get(qmp_name, qmp_name.removeprefix("stat-").replace("-", "_"))
        values[name] = None if value is None or int(value) == UNSET else int(value)
    return GuestStats(int(reply.get("last-update", 0) or 0), values)


@dataclass(frozen=True)
class HostMemory:
    """The QEMU process's memory on the host, from ``/proc/PID/status`` (bytes)."""

    rss_bytes: int            # VmRSS: resident now
    anon_bytes: int           # RssAnon: of it, anonymous memory (guest RAM lives here)
    peak_bytes: int           # VmHWM: the highest VmRSS so far


def read_host_memory(pid: int) -> HostMemory:
    """Read ``/proc/PID/status``; raises :class:`MachineStateError` if the process is gone."""
    try:
        text = open(f"/proc/{pid}/status").read()  # noqa: SIM115 - one short read
    except OSError as exc:
        raise MachineStateError(f"cannot read the memory of process {pid}: {exc}") from None
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[name] = int(parts[0]) * 1024
    return HostMemory(fields.get("VmRSS", 0), fields.get("RssAnon", 0), fields.get("VmHWM", 0))


async def wait_heap_balloon(machine: Machine, until: Callable[[HeapBalloonEvent], bool],
                            timeout: float = 15.0, since: int | None = None) -> HeapBalloonEvent:
    """Wait for a ``heap_balloon`` event for which ``until(event)`` is true, among the events
    from index ``since`` on (default: only those still to come).

    ``await wait_heap_balloon(m, lambda e: e.balloon_bytes == 0)`` waits until the kernel has
    given everything back to the app."""
    start = len(machine.events.events) if since is None else since
    seen = 0

    def match(event: Event) -> bool:
        nonlocal seen
        seen += 1
        return seen > start and isinstance(event, HeapBalloonEvent) and until(event)

    found = await machine.events.wait_for(match, timeout)
    assert isinstance(found, HeapBalloonEvent)
    return found


# ------------------------------------------------------------------------------ the app's console
async def wait_console(machine: Machine, pattern: str, timeout: float = 30.0,
                       start: int = 0) -> re.Match[str]:
    """Wait for ``pattern`` (a regex) in the complete lines of console text from offset
    ``start``: ``Console.wait_for(..., lines=True)``, the way the lab apps' replies are read."""
    return await machine.console.wait_for(pattern, timeout, start, lines=True)


async def send_command(machine: Machine, line: str, reply: str,
                       timeout: float = 30.0) -> re.Match[str]:
    """Type ``line`` into the app's stdin (COM1) and wait for ``reply`` (a regex) in what it
    prints afterwards; returns the match. The lab apps ``memhog`` and ``managed_heap`` read
    commands this way."""
    start = machine.console.send_line(line)
    return await wait_console(machine, reply, timeout, start)


_STAT_LINE = re.compile(r"^([a-z_][a-z0-9_]*) (-?\d+)$", re.M)


async def read_stats(machine: Machine, timeout: float = 30.0) -> dict[str, int]:
    """Send ``stats`` to a lab app and parse its ``name value`` lines up to ``end``."""
    start = len(machine.console.text)
    match = await send_command(machine, "stats", r"(?m)^end$", timeout)
    return {k: int(v) for k, v in _STAT_LINE.findall(machine.console.text[start:match.start()])}


# ------------------------------------------------------------------------------ the balloon
class Balloon:
    """The virtio balloon of one running :class:`~labkit.machine.Machine`, driven over QMP.

    The machine must have been made with ``balloon="on"`` (or ``"deflate-on-oom"``).
    """

    def __init__(self, machine: Machine, path: str = DEVICE_PATH) -> None:
        if not getattr(machine.config, "balloon", None):
            raise MachineStateError("this machine has no balloon device: make it with "
                                    "balloon='on' (or 'deflate-on-oom')")
        self.machine = machine
        self.path = path
        self.ram = parse_size(machine.config.memory)
        self.target = self.ram

    async def query(self) -> BalloonInfo:
        """QMP ``query-balloon``: the guest's size now."""
        reply = await self.machine.execute("query-balloon")
        return BalloonInfo(int(reply["actual"]), self.ram)

    async def set_target(self, guest_bytes: int) -> None:
        """QMP ``balloon``: ask the guest to shrink (or grow back) to ``guest_bytes``."""
        guest_bytes = max(MIB, min(int(guest_bytes), self.ram))
        await self.machine.execute("balloon", {"value": guest_bytes})
        self.target = guest_bytes

    async def take(self, nbytes: int) -> None:
        """The host asks for ``nbytes`` of the guest's RAM (target = RAM - nbytes)."""
        await self.set_target(self.ram - int(nbytes))

    async def give_back(self) -> None:
        """The host returns everything (target = RAM)."""
        await self.set_target(self.ram)

    async def wait_settled(self, timeout: float = 30.0, stable: float = 3.0,
                           poll: float = 0.1) -> BalloonInfo:
        """Wait until ``actual`` reaches the target, or has not moved for ``stable`` seconds
        (the guest found no more to give); returns the last :class:`BalloonInfo`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        info = await self.query()
        since = loop.time()
        while info.actual != self.target and loop.time() - since < stable:
            if loop.time() > deadline:
                raise WaitTimeout(f"the balloon did not settle within {timeout:g} s: the guest "
                                  f"has {info.actual / MIB:.0f} MiB, the target is "
                                  f"{self.target / MIB:.0f} MiB")
            await asyncio.sleep(poll)
            last, info = info, await self.query()
            if info.actual != last.actual:
                since = loop.time()
        return info

    async def enable_stats(self, interval: int = 1) -> None:
        """Make QEMU ask the guest for statistics every ``interval`` seconds."""
        await self.machine.execute("qom-set", {"path": self.path,
                                               "property": "guest-stats-polling-interval",
                                               "value": int(interval)})

    async def stats(self) -> GuestStats:
        """The guest's statistics as QEMU last received them."""
        reply = await self.machine.execute("qom-get", {"path": self.path,
                                                       "property": "guest-stats"})
        return parse_guest_stats(reply)

    async def wait_stats(self, timeout: float = 10.0) -> GuestStats:
        """Enable polling (every second) and wait for a real report from the guest."""
        await self.enable_stats(1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            stats = await self.stats()
            if stats.real:
                return stats
            if loop.time() > deadline:
                raise WaitTimeout(f"the guest sent no statistics within {timeout:g} s "
                                  "(is its balloon driver running?)")
            await asyncio.sleep(0.2)

    def host_memory(self) -> HostMemory:
        """The QEMU process's resident memory now."""
        if self.machine.pid is None or not self.machine.state.alive:
            raise MachineStateError("the machine is not running: no QEMU process to read")
        return read_host_memory(self.machine.pid)


# ------------------------------------------------------------------------------ sampling
@dataclass(frozen=True)
class MemorySample:
    """Where the guest's memory is at one moment, from every vantage point (bytes).

    Physical RAM = ``host_balloon`` (given to the host) + ``app_heap`` (the app's heap, mapped)
    + ``kernel_free`` + the rest (kernel code, stacks, the hog...). ``heap_balloon`` is the hole
    in the app's heap whose frames the kernel took; ``rss`` is what QEMU holds on the host.
    """

    t: float
    ram: int
    target: int
    actual: int
    rss: int
    kernel_free: int = 0
    app_heap: int = 0
    app_used: int = 0
    app_live: int = 0
    heap_balloon: int = 0
    kernel_hog: int = 0
    collections: int = 0

    @property
    def host_balloon(self) -> int:
        return self.ram - self.actual

    @property
    def kernel_other(self) -> int:
        return max(0, self.ram - self.host_balloon - self.app_heap - self.kernel_free)


class MemoryMonitor:
    """Samples a machine's memory in the background: QMP ``query-balloon`` and QEMU's RSS every
    ``period`` seconds, plus what COM2 says (metric samples, ``heap_balloon`` events).

    ``samples`` grows by one :class:`MemorySample` a period; ``on_sample`` (optional) is called
    with each. ``await monitor.start()`` / ``await monitor.stop()``, or ``async with``.
    """

    def __init__(self, machine: Machine, balloon: Balloon | None = None, period: float = 0.5,
                 on_sample: Callable[[MemorySample], None] | None = None,
                 keep: int = 2000) -> None:
        self.machine = machine
        self.balloon = balloon
        self.period = period
        self.on_sample = on_sample
        self.keep = keep
        self.samples: list[MemorySample] = []
        self.heap_events: list[HeapBalloonEvent] = []
        self._state = MemorySample(0.0, parse_size(machine.config.memory),
                                   parse_size(machine.config.memory),
                                   parse_size(machine.config.memory), 0)
        self._task: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._t0 = time.monotonic()

    @property
    def latest(self) -> MemorySample | None:
        return self.samples[-1] if self.samples else None

    def _on_event(self, event: Event) -> None:
        if isinstance(event, MetricSample):
            self._state = replace(self._state, kernel_free=event.pages_free * 4096)
            return
        if isinstance(event, HeapBalloonEvent):
            heap = event
            self.heap_events.append(heap)
            self._state = replace(
                self._state, kernel_free=heap.pages_free * 4096, app_heap=heap.heap_bytes,
                app_used=heap.used_bytes, app_live=heap.live_bytes,
                heap_balloon=heap.balloon_bytes, kernel_hog=heap.kernel_hog_pages * 4096,
                collections=heap.collections)

    async def sample(self) -> MemorySample:
        """Take one sample now (also what the background task does)."""
        s = self._state
        if self.balloon is not None:
            with contextlib.suppress(QMPError):
                info = await self.balloon.query()
                s = replace(s, actual=info.actual, target=self.balloon.target)
        with contextlib.suppress(MachineStateError):
            if self.machine.pid is not None and self.machine.state.alive:
                s = replace(s, rss=read_host_memory(self.machine.pid).rss_bytes)
        s = replace(s, t=time.monotonic() - self._t0)
        self.samples.append(s)
        del self.samples[:-self.keep]
        if self.on_sample is not None:
            self.on_sample(s)
        return s

    async def _run(self) -> None:
        while self.machine.state.alive:
            try:
                await self.sample()
            except MachineStateError:
                break
            await asyncio.sleep(self.period)

    async def start(self) -> MemoryMonitor:
        for event in self.machine.events.events:
            self._on_event(event)
        self._unsubscribe = self.machine.events.subscribe(self._on_event)
        self._t0 = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="memory-monitor")
        return self

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def __aenter__(self) -> MemoryMonitor:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

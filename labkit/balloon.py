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

:class:`MemoryMonitor` samples all of it in the background for the lesson's dashboard, and
:func:`balloon_figures` measures the figures ``labkit bench`` prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import LabkitError, MachineStateError, QMPError, WaitTimeout
from .events import Event, MetricSample, UnknownEvent

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
    "balloon_event",
    "heap_balloon_event",
    "wait_heap_balloon",
    "send_command",
    "wait_console",
    "read_stats",
    "balloon_figures",
    "measure_inflation",
    "InflationRun",
    "OomTrial",
    "oom_trial",
    "Squeeze",
    "squeeze",
    "linux_status",
    "inflation_table",
    "stats_table",
    "oom_table",
    "heap_events_table",
    "squeeze_table",
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


@dataclass(frozen=True)
class BalloonEvent:
    """A ``balloon`` event from the kernel's virtio-balloon driver (COM2).

    ``action`` is ``target`` (a new target arrived), ``reached`` or ``short`` (the guest could
    not find the memory); ``work_tsc`` is the TSC ticks the driver worked toward this target,
    waits for the host left out (under ``-icount shift=0``: instructions).
    """

    action: str
    target_pages: int
    pages: int
    work_tsc: int
    tsc: int


@dataclass(frozen=True)
class HeapBalloonEvent:
    """A ``heap_balloon`` event: the kernel's picture after the app's heap lent or got back
    memory (``inflate``, ``deflate``, ``refused``) or reported after a collection
    (``report``). Sizes in bytes, ``pages_free`` in 4 KiB pages."""

    action: str
    bytes: int
    balloon_bytes: int
    heap_bytes: int
    used_bytes: int
    live_bytes: int
    collections: int
    pages_free: int
    kernel_hog_pages: int
    host_balloon_pages: int
    tsc: int


def _from_unknown(event: Event, kind: str, cls: type) -> Any:
    if not isinstance(event, UnknownEvent) or event.ev != kind:
        return None
    d = event.data
    try:
        return cls(str(d.get("action", "")), *(int(d.get(f, 0)) for f in
                                                 list(cls.__dataclass_fields__)[1:]))
    except (TypeError, ValueError):
        return None


def balloon_event(event: Event) -> BalloonEvent | None:
    """The :class:`BalloonEvent` in a COM2 event, or None if it is another kind."""
    return _from_unknown(event, "balloon", BalloonEvent)


def heap_balloon_event(event: Event) -> HeapBalloonEvent | None:
    """The :class:`HeapBalloonEvent` in a COM2 event, or None if it is another kind.

    >>> from labkit.events import parse_event
    >>> heap_balloon_event(parse_event('{"ev":"heap_balloon","action":"inflate",'
    ...                                '"bytes":4194304,"balloon_bytes":4194304}')).bytes
    4194304
    """
    return _from_unknown(event, "heap_balloon", HeapBalloonEvent)


async def wait_heap_balloon(machine: Any, until: Callable[[HeapBalloonEvent], bool],
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
        heap = heap_balloon_event(event)
        return seen > start and heap is not None and until(heap)

    found = await machine.events.wait_for(match, timeout)
    return heap_balloon_event(found)  # type: ignore[return-value]


# ------------------------------------------------------------------------------ the app's console
async def wait_console(machine: Any, pattern: str, timeout: float = 30.0,
                       start: int = 0) -> re.Match[str]:
    """Wait for ``pattern`` (a regex) in the complete lines of console text from offset
    ``start`` (a line still arriving is not searched, so ``held (\\d+)`` never matches half a
    number); returns the match. Unlike ``Console.wait_for``, the wake-up is armed before the
    text is searched, so output that arrives in between is never missed."""
    regex = re.compile(pattern)
    console = machine.console
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    news = asyncio.Event()
    unsubscribe = console.subscribe(lambda _text: news.set())
    try:
        while True:
            news.clear()
            text = console.text
            match = regex.search(text, start, text.rfind("\n") + 1)
            if match:
                return match
            if console.closed:
                raise MachineStateError(f"the machine stopped before {pattern!r} appeared on "
                                        f"the console; last lines:\n{console.tail(10)}")
            left = deadline - loop.time()
            if left <= 0:
                raise WaitTimeout(f"{pattern!r} did not appear on the console within "
                                  f"{timeout:g} s; last lines:\n{console.tail(10)}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(news.wait(), min(left, 0.5))
    finally:
        unsubscribe()


async def send_command(machine: Any, line: str, reply: str, timeout: float = 30.0) -> re.Match[str]:
    """Type ``line`` into the app's stdin (COM1) and wait for ``reply`` (a regex) in what it
    prints afterwards; returns the match. The lab apps ``memhog`` and ``managed_heap`` read
    commands this way."""
    start = len(machine.console.text)
    machine.console.send(line.rstrip("\n") + "\n")
    return await wait_console(machine, reply, timeout, start)


_STAT_LINE = re.compile(r"^([a-z_][a-z0-9_]*) (-?\d+)$", re.M)


async def read_stats(machine: Any, timeout: float = 30.0) -> dict[str, int]:
    """Send ``stats`` to a lab app and parse its ``name value`` lines up to ``end``."""
    start = len(machine.console.text)
    match = await send_command(machine, "stats", r"(?m)^end$", timeout)
    return {k: int(v) for k, v in _STAT_LINE.findall(machine.console.text[start:match.start()])}


# ------------------------------------------------------------------------------ the balloon
class Balloon:
    """The virtio balloon of one running :class:`~labkit.machine.Machine`, driven over QMP.

    The machine must have been made with ``balloon="on"`` (or ``"deflate-on-oom"``).
    """

    def __init__(self, machine: Any, path: str = DEVICE_PATH) -> None:
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

    def __init__(self, machine: Any, balloon: Balloon | None = None, period: float = 0.5,
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
        heap = heap_balloon_event(event)
        if heap is not None:
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


# ------------------------------------------------------------------------------ measuring
@dataclass
class InflationRun:
    """One inflation of ``nbytes`` and its deflation, measured."""

    nbytes: int
    inflate_s: float
    deflate_s: float
    rss_before: int
    rss_inflated: int
    rss_after: int
    events: list[BalloonEvent] = field(default_factory=list)

    @property
    def rss_fraction(self) -> float:
        """The fraction of the ballooned bytes that left QEMU's resident memory."""
        return (self.rss_before - self.rss_inflated) / self.nbytes


async def measure_inflation(machine: Any, nbytes: int = 64 * MIB,
                            timeout: float = 60.0) -> InflationRun:
    """Inflate by ``nbytes``, wait, deflate, wait; time both and read QEMU's RSS around them.
    The guest should have touched and freed that memory first (``memhog 64``): pages it never
    touched were never resident, so giving them back proves nothing."""
    balloon = Balloon(machine)
    first_event = len(machine.events.events)
    await asyncio.sleep(0.3)                    # let the touched memory settle in the RSS
    before = balloon.host_memory().rss_bytes
    t0 = time.perf_counter()
    await balloon.take(nbytes)
    info = await balloon.wait_settled(timeout, poll=0.02)
    inflate_s = time.perf_counter() - t0
    if info.balloon_bytes < nbytes:
        raise LabkitError(f"the guest gave only {info.balloon_bytes / MIB:.1f} MiB of "
                          f"{nbytes / MIB:.0f} MiB")
    inflated = balloon.host_memory().rss_bytes
    t0 = time.perf_counter()
    await balloon.give_back()
    await balloon.wait_settled(timeout, poll=0.02)
    deflate_s = time.perf_counter() - t0
    after = balloon.host_memory().rss_bytes
    seen = 0

    def deflated(event: Event) -> bool:                # COM2 may trail QMP a little
        nonlocal seen
        seen += 1
        e = balloon_event(event)
        return seen > first_event and e is not None and e.action == "reached" \
            and e.target_pages == 0

    with contextlib.suppress(WaitTimeout, MachineStateError):
        await machine.events.wait_for(deflated, 2.0)
    events = [e for e in map(balloon_event, machine.events.events[first_event:]) if e]
    return InflationRun(nbytes, inflate_s, deflate_s, before, inflated, after, events)


def _work(events: list[BalloonEvent], target_pages: int) -> int | None:
    reached = [e for e in events if e.action == "reached" and e.target_pages == target_pages]
    return reached[0].work_tsc if reached else None


async def balloon_figures(runs: int = 3, machine: str = "pc", nbytes: int = 64 * MIB,
                          memory: str = "256M") -> list[Any]:
    """The ballooning figures of ``labkit bench``: time (TCG wall, median of ``runs``) and guest
    instructions (icount) to inflate and deflate ``nbytes``, and the fraction of the ballooned
    memory that left QEMU's RSS, for memory freed by the kernel (``memhog``) and for memory
    lent by the app's managed heap (``managed_heap``)."""
    from .bench import Figure
    from .machine import Machine

    mib = nbytes // MIB
    wall: list[InflationRun] = []
    for _ in range(runs):
        async with Machine("memhog", str(mib), memory=memory, machine=machine,
                           balloon="on") as m:
            await wait_console(m, r"(?m)^ready$", 60)
            wall.append(await measure_inflation(m, nbytes))
    async with Machine("memhog", str(mib), memory=memory, machine=machine, balloon="on",
                       icount=0) as m:
        await wait_console(m, r"(?m)^ready$", 120)
        counted = await measure_inflation(m, nbytes, timeout=120)
    async with Machine("managed_heap", memory=memory, machine=machine, balloon="on") as m:
        await wait_console(m, r"(?m)^ready heap_bytes", 60)
        lent = await measure_inflation(m, nbytes)
    inflate_work = _work(counted.events, nbytes // 4096)
    deflate_work = _work(counted.events, 0)
    figs = [
        Figure(f"inflate {mib} MiB", statistics.median(r.inflate_s for r in wall), "s", "wall",
               f"QMP balloon to query-balloon at target, {memory} guest, median of {runs}; "
               "the driver polls every 100 ms (no MSI-X)"),
        Figure(f"deflate {mib} MiB", statistics.median(r.deflate_s for r in wall), "s", "wall",
               "back to the full size"),
        Figure(f"inflated {mib} MiB leaving QEMU's RSS",
               statistics.median(r.rss_fraction for r in wall), "fraction", "host",
               "VmRSS drop / ballooned bytes, after the guest touched and freed them"),
        Figure(f"inflate {mib} MiB through the app's heap", lent.inflate_s, "s", "wall",
               "managed_heap: the heap balloon lends the pages the host asks for"),
        Figure("  of it leaving QEMU's RSS", lent.rss_fraction, "fraction", "host",
               "the heap's pages had been written; the free pool's mostly not"),
    ]
    if inflate_work is not None:
        figs.append(Figure(f"inflate {mib} MiB, guest work", inflate_work, "instructions",
                           "icount", "the driver's own work, waits for the host left out"))
    if deflate_work is not None:
        figs.append(Figure(f"deflate {mib} MiB, guest work", deflate_work, "instructions",
                           "icount", "same, back to the full size"))
    return figs


# ------------------------------------------------------------------------------ lesson 04
@dataclass(frozen=True)
class OomTrial:
    """``memhog`` asks for ``alloc_mib`` MiB after the host took most of the guest's RAM."""

    mode: str                 # the balloon option: "on" or "deflate-on-oom"
    free_before: int          # the guest's free memory just before (bytes)
    alloc_mib: int
    succeeded: bool
    actual_before: int        # the guest's size in QEMU's eyes, before and after
    actual_after: int


async def oom_trial(mode: str, memory: str = "128M", guest_mib: int = 40,
                    alloc_mib: int = 64) -> OomTrial:
    """Boot ``memhog`` with ``balloon=mode``, shrink the guest to ``guest_mib`` MiB, then
    allocate ``alloc_mib`` MiB: with deflate-on-oom the kernel takes pages back from the host
    rather than fail."""
    from .machine import Machine

    async with Machine("memhog", memory=memory, balloon=mode) as m:
        await wait_console(m, r"(?m)^ready$", 60)
        b = Balloon(m)
        await b.set_target(guest_mib * MIB)
        before = await b.wait_settled()
        free = (await read_stats(m))["free_bytes"]
        reply = await send_command(m, f"alloc {alloc_mib}", rf"alloc {alloc_mib} (ok|failed)")
        after = await b.query()
    return OomTrial(mode, free, alloc_mib, reply.group(1) == "ok", before.actual, after.actual)


@dataclass(frozen=True)
class Squeeze:
    """The host asked a guest running ``managed_heap`` for ``asked`` bytes; it got ``got``,
    and the app survived it, or not (``note`` then quotes the guest)."""

    system: str               # "unikernel" or "linux"
    asked: int
    got: int
    lent_by_heap: int         # of it, pages the app's heap lent (unikernel only)
    rss_before: int
    rss_after: int
    seconds: float
    survived: bool
    note: str = ""


async def _heap_swept(machine: Any, timeout: float = 20.0) -> dict[str, int]:
    """Wait until managed_heap has collected once: its whole heap has been written."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        stats = await read_stats(machine)
        if stats.get("collections", 0) >= 1 or loop.time() > deadline:
            return stats
        await asyncio.sleep(0.5)


def _what_killed(console_text: str) -> str:
    """The guest's own words for why the app is gone: Linux's OOM killer or a kernel panic."""
    for line in reversed(console_text.splitlines()):
        found = re.search(r"Out of memory: Killed process \d+ \(\S+\)|KERNEL PANIC.*", line)
        if found:
            return found.group(0).strip()
    return ""


async def squeeze(system: str = "unikernel", nbytes: int = 160 * MIB, memory: str = "256M",
                  heap_mib: int = 160) -> Squeeze:
    """Boot ``managed_heap`` with a ``heap_mib`` MiB heap that it fills once before its first
    collection (a JVM that has used its heap), on the unikernel or on Linux; then the host asks
    for ``nbytes``. The unikernel's heap lends its free space through a balloon object; Linux can
    only give what its page allocator has free. Raises :class:`BootError` (or
    ``labkit.linux.LinuxUnavailable``) when the guest cannot boot at all."""
    args = (f"heap={heap_mib}", "young=100000", "rate=96")
    if system == "linux":
        from .linux import linux_machine, prepare

        machine = linux_machine("managed_heap", *args, memory=memory, balloon="on",
                                guest=prepare(["managed_heap"], fetch=False))
    else:
        from .machine import Machine

        machine = Machine("managed_heap", *args, memory=memory, balloon="on")
    async with machine as m:
        await wait_console(m, r"(?m)^ready heap_bytes", 60)
        await _heap_swept(m)
        b = Balloon(m)
        rss_before = b.host_memory().rss_bytes
        lent, survived = 0, False
        watch = await MemoryMonitor(m, b, period=0.1).start()   # the app may die: keep a record
        t0 = time.perf_counter()
        with contextlib.suppress(MachineStateError, QMPError, WaitTimeout):
            await b.take(nbytes)
            await b.wait_settled(timeout=25, stable=2.0)
            await watch.sample()
            lent = (await read_stats(m)).get("balloon_bytes", 0)
            survived = m.state.alive
        seconds = time.perf_counter() - t0
        await watch.stop()
    seen = [x for x in watch.samples if x.rss]
    return Squeeze(system, nbytes, max((x.host_balloon for x in seen), default=0), lent,
                   rss_before, seen[-1].rss if seen else rss_before, seconds, survived,
                   "" if survived else _what_killed(m.console.text))


def linux_status() -> tuple[bool, str]:
    """``(True, what will boot)`` when a Linux guest is at hand (nothing is downloaded), else
    ``(False, why not)``: the lesson then says what it skipped."""
    try:
        from .linux import availability
    except ImportError:
        return False, "this checkout has no Linux guest support yet (labkit.linux)"
    return availability(fetch=False)


# ------------------------------------------------------------------------------ tables
def _mib(n: int) -> str:
    return f"{n / MIB:,.1f} MiB"


def inflation_table(run: InflationRun) -> Any:
    """QEMU's RSS around one inflation and deflation, as a :class:`labkit.render.Table`."""
    from .render import Table

    return Table(f"the host takes {run.nbytes / MIB:.0f} MiB, then gives it back",
                 ("moment", "QEMU RSS", "change", "wall time"),
                 [("before", _mib(run.rss_before), "", ""),
                  ("inflated", _mib(run.rss_inflated), _mib(run.rss_inflated - run.rss_before),
                   f"{run.inflate_s:.2f} s"),
                  ("deflated", _mib(run.rss_after), _mib(run.rss_after - run.rss_inflated),
                   f"{run.deflate_s:.2f} s")])


def stats_table(stats: GuestStats) -> Any:
    """The guest's statistics, as QEMU received them."""
    from .render import Table

    rows = [(name, "not sent" if v is None else
             (_mib(v) if name in ("free", "total", "available", "disk_caches") else f"{v:,}"))
            for name, v in sorted(stats.values.items())]
    return Table("guest-stats (virtio-balloon statistics queue)", ("statistic", "value"), rows)


def oom_table(trials: list[OomTrial]) -> Any:
    """One row per :class:`OomTrial`."""
    from .render import Table

    return Table("memhog asks for memory the guest no longer has",
                 ("balloon", "free before", "allocation", "guest size before", "after"),
                 [(t.mode, _mib(t.free_before), f"{t.alloc_mib} MiB "
                   f"{'succeeded' if t.succeeded else 'failed'}", _mib(t.actual_before),
                   _mib(t.actual_after)) for t in trials])


def heap_events_table(events: list[HeapBalloonEvent], actions: tuple[str, ...] = (
        "inflate", "deflate", "refused")) -> Any:
    """The heap balloon's moves: what was lent or given back, and the picture after each."""
    from .render import Table

    rows = [(e.action, _mib(e.bytes), _mib(e.balloon_bytes), _mib(e.heap_bytes),
             _mib(e.pages_free * 4096), _mib(e.kernel_hog_pages * 4096))
            for e in events if e.action in actions]
    return Table("heap_balloon events (COM2)", ("action", "bytes", "balloon object",
                                               "app heap", "kernel free", "kernel hog"), rows)


def squeeze_table(results: list[Squeeze]) -> Any:
    """One row per :class:`Squeeze`."""
    from .render import Table

    return Table("the host asks a guest running managed_heap for memory",
                 ("guest", "asked", "got", "lent by the app's heap", "QEMU RSS", "the app"),
                 [(s.system, _mib(s.asked), _mib(s.got), _mib(s.lent_by_heap),
                   f"{s.rss_before / MIB:,.0f} -> {s.rss_after / MIB:,.0f} MiB",
                   "still running" if s.survived else (s.note or "gone"))
                  for s in results])

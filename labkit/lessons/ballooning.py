# SPDX-License-Identifier: MIT
"""The experiments of lesson 04 (ballooning): each boots a guest, moves memory between host and
guest through :mod:`labkit.balloon`, and returns a plain dataclass. The views (tables) are in
:mod:`labkit.widgets.balloon_tables`; ``labkit bench`` reads :func:`balloon_figures`.

- :func:`measure_inflation`: time an inflation and a deflation, and QEMU's RSS around them;
- :func:`oom_trial`: a guest shrunk by the host asks for memory, with and without deflate-on-oom;
- :func:`squeeze`: the host asks a guest whose app has a full managed heap for memory;
- :func:`unsafe_collection`: OSv's fault on purpose, a collection that slides the balloon object;
- :func:`linux_status`: whether the Linux side of the comparison can run here.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from ..balloon import MIB, Balloon, MemoryMonitor, read_stats, send_command, wait_console
from ..errors import LabkitError, MachineStateError, QMPError, WaitTimeout
from ..events import BalloonEvent, Event
from ..machine import Machine

__all__ = ["InflationRun", "measure_inflation", "balloon_figures", "driver_wakeup", "OomTrial",
           "oom_trial", "Squeeze", "squeeze", "UnsafeCollection", "unsafe_collection",
           "linux_status"]


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


async def measure_inflation(machine: Machine, nbytes: int = 64 * MIB,
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
        return seen > first_event and isinstance(event, BalloonEvent) \
            and event.action == "reached" and event.target_pages == 0

    with contextlib.suppress(WaitTimeout, MachineStateError):
        await machine.events.wait_for(deflated, 2.0)
    events = machine.events.of_type(BalloonEvent, since=first_event)
    return InflationRun(nbytes, inflate_s, deflate_s, before, inflated, after, events)


def driver_wakeup(console_text: str) -> str:
    """How the kernel's balloon driver learns of a new target, from its boot line:
    ``MSI-X``, ``INTx`` or ``polling`` (every 100 ms).

    >>> driver_wakeup("[kernel] balloon: virtio-balloon ready (stats on, deflate-on-oom off, "
    ...               "wakeup INTx)")
    'INTx'
    """
    found = re.search(r"balloon: virtio-balloon ready \(.*wakeup (\S+)\)", console_text)
    return found.group(1) if found else "?"


def _work(events: list[BalloonEvent], target_pages: int) -> int | None:
    reached = [e for e in events if e.action == "reached" and e.target_pages == target_pages]
    return reached[0].work_tsc if reached else None


async def balloon_figures(runs: int = 3, machine: str = "pc", nbytes: int = 64 * MIB,
                          memory: str = "256M") -> list[Any]:
    """The ballooning figures of ``labkit bench``: time (TCG wall, median of ``runs``) and guest
    instructions (icount) to inflate and deflate ``nbytes``, and the fraction of the ballooned
    memory that left QEMU's RSS, for memory freed by the kernel (``memhog``) and for memory
    lent by the app's managed heap (``managed_heap``)."""
    from ..bench import Figure


    mib = nbytes // MIB
    wall: list[InflationRun] = []
    wakeup = "?"
    for _ in range(runs):
        async with Machine("memhog", str(mib), memory=memory, machine=machine,
                           balloon="on") as m:
            await wait_console(m, r"(?m)^ready$", 60)
            wall.append(await measure_inflation(m, nbytes))
            wakeup = driver_wakeup(m.console.text)
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
               f"the driver wakes by {wakeup}"),
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


async def _heap_swept(machine: Machine, timeout: float = 20.0) -> dict[str, int]:
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
        from ..linux import linux_machine, prepare

        machine = linux_machine("managed_heap", *args, memory=memory, balloon="on",
                                guest=prepare(["managed_heap"], fetch=False))
    else:
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


@dataclass
class UnsafeCollection:
    """``managed_heap unsafe`` run to its end: the stopped machine (console, events) and its
    outcome; ``answered`` says whether the app replied to ``hog`` before the fault."""

    machine: Machine
    outcome: Any
    answered: bool


async def unsafe_collection(hog_mib: int = 32, young: int = 8, memory: str = "256M",
                            timeout: float = 60.0) -> UnsafeCollection:
    """Boot ``managed_heap unsafe`` (its balloon object an ordinary, unpinned object) with a
    small young generation, ask it to hold ``hog_mib`` MiB, and wait for the end. The first
    collection that compacts slides the balloon object over pages the kernel was lent and
    faults (``memmove`` called from ``collect``). Whether that collection runs while ``hog``
    is still allocating or just after its reply depends on the compiler (gcc 12: after, gcc
    14: before), so either order is accepted; any other end is the caller's to judge."""
    m = Machine("managed_heap", "unsafe", f"young={young}", memory=memory, balloon="on")
    await m.start()
    try:
        await wait_console(m, r"(?m)^ready heap_bytes", timeout)
        with contextlib.suppress(MachineStateError):   # it may stop before any reply
            await send_command(m, f"hog {hog_mib}",
                               rf"hog {hog_mib} held_bytes \d+|KERNEL PANIC", timeout)
        outcome = await m.wait(timeout)
    finally:
        await m.close()
    answered = re.search(rf"hog {hog_mib} held_bytes \d+", m.console.text) is not None
    return UnsafeCollection(m, outcome, answered)


def linux_status() -> tuple[bool, str]:
    """``(True, what will boot)`` when a Linux guest is at hand (nothing is downloaded), else
    ``(False, why not)``: the lesson then says what it skipped."""
    try:
        from ..linux import availability
    except ImportError:
        return False, "this checkout has no Linux guest support yet (labkit.linux)"
    return availability(fetch=False)

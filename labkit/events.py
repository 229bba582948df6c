# SPDX-License-Identifier: MIT
"""COM2, the machine channel: one JSON object per line, parsed into typed events.

The kernel README is the contract: each line has an ``ev`` key; addresses are hex strings and
counts are integers. :func:`parse_event` turns one line into one of the dataclasses below
(unknown kinds become :class:`UnknownEvent`, a line that is not JSON a :class:`BadLine`), so a
newer kernel never breaks an older labkit.

Every kind the kernel sends has its class here, registered in :data:`EVENT_TYPES`, so
``machine.events.of_type(HeapBalloonEvent)`` finds them all. The rules, for every kind:
fields this labkit does not know are kept or ignored, never an error (``metrics`` and ``net``
keep extra counters by name); a field it needs that is missing makes the line a
:class:`BadLine` that says which, never a silent 0.

>>> parse_event('{"ev": "milestone", "name": "app_loaded", "tsc": 9, "app": "hello", '
...             '"base": "0x10000000000"}')
Milestone(name='app_loaded', tsc=9, app='hello', base=1099511627776)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Event",
    "Milestone",
    "Layout",
    "SegmentEvent",
    "ThreadEvent",
    "MetricSample",
    "ExitEvent",
    "LoadErrorEvent",
    "LoadCheckEvent",
    "LoadCheckDone",
    "Frame",
    "PanicEvent",
    "UnknownEvent",
    "BadLine",
    "BalloonEvent",
    "HeapBalloonEvent",
    "NetSample",
    "NetDrops",
    "NetUp",
    "parse_event",
    "EVENT_TYPES",
    "MILESTONES",
    "NET_STAGES",
]

#: Boot milestones in the order the kernel reports them.
MILESTONES = ("entry", "paging", "heap", "devices", "app_loaded", "app_main")

#: Receive-path stages of the ``net`` event's arrays, in the kernel's order
#: (kernel/net/net.c, net_stage_names).
NET_STAGES = ("driver", "classify", "eth_ip", "udp", "tcp", "icmp_arp", "copy", "tx")


def _addr(value: Any) -> int | None:
    """An address field: hex string (or int) to int; None stays None."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return int(str(value), 0)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class Event:
    """Base of every COM2 event."""

    kind: str = ""


@dataclass(frozen=True)
class Milestone(Event):
    """A boot milestone; ``app_loaded`` also carries the app name and its load base."""

    name: str
    tsc: int
    app: str | None = None
    base: int | None = None
    kind = "milestone"


@dataclass(frozen=True)
class Layout(Event):
    """The address-space layout, sent once after the heap is up."""

    ram_bytes: int
    kernel_start: int
    kernel_end: int
    text_end: int
    heap_start: int
    heap_end: int
    app_area: int
    kind = "layout"


@dataclass(frozen=True)
class SegmentEvent(Event):
    """One loaded segment of the app, at its final address."""

    app: str
    start: int
    end: int
    flags: str
    file_offset: int
    kind = "segment"


@dataclass(frozen=True)
class ThreadEvent(Event):
    """A thread was created, with its stack range."""

    id: int
    name: str
    stack_start: int | None
    stack_end: int | None
    kind = "thread"


@dataclass(frozen=True)
class MetricSample(Event):
    """A periodic metric sample (boot option ``metrics=MS``)."""

    tsc: int
    ns: int
    pages_free: int
    pages_used: int
    heap_bytes: int
    threads: int
    ticks: int
    switches: int
    #: the drivers' own counters in the sample (``balloon_pages``, ``net_rx_frames`` ...)
    extra: Mapping[str, int] = field(default_factory=dict, hash=False)
    kind = "metrics"

    def get(self, name: str, default: int | None = None) -> int | None:
        """Any counter of the sample by name, core or driver."""
        if name in self.extra:
            return self.extra[name]
        return getattr(self, name, default) if name in _CORE_METRICS else default


@dataclass(frozen=True)
class ExitEvent(Event):
    """The app exited; ``status`` is its exact exit status (QEMU's keeps only 6 bits)."""

    status: int
    tsc: int | None = None
    kind = "exit"


@dataclass(frozen=True)
class LoadErrorEvent(Event):
    """The kernel's dynamic linker refused the app."""

    error: str  # not_found, unresolved_symbol, bad_elf, truncated, no_memory
    file: str | None
    detail: str | None
    kind = "load_error"


@dataclass(frozen=True)
class LoadCheckEvent(Event):
    """``loadcheck=1``: the loader's verdict on one ``.so`` of the boot archive (run nothing)."""

    file: str
    verdict: str  # "ok", or a load_error kind (bad_elf, truncated, unresolved_symbol, ...)
    detail: str   # the failed check, "" for ok
    kind = "loadcheck"


@dataclass(frozen=True)
class LoadCheckDone(Event):
    """``loadcheck=1``: every archive member has had its verdict."""

    loaded: int
    refused: int
    kind = "loadcheck_done"


@dataclass(frozen=True)
class Frame:
    """One backtrace frame of a panic."""

    addr: int
    symbol: str | None


@dataclass(frozen=True)
class PanicEvent(Event):
    """A CPU exception or failed kernel assertion, as the kernel reported it."""

    vector: int | None
    exception: str | None
    error_code: int | None
    rip: int | None
    symbol: str | None
    cr2: int | None
    cpl: int | None
    frames: tuple[Frame, ...] = ()
    message: str | None = None
    kind = "panic"

    @property
    def function(self) -> str | None:
        """The function the fault happened in (the symbol without a ``+0x..`` offset)."""
        return self.symbol.split("+", 1)[0] if self.symbol else None

    def describe(self) -> str:
        """A one-paragraph human summary of the panic."""
        what = self.exception or self.message or "panic"
        parts = [f"{what}"]
        if self.vector is not None:
            parts.append(f"vector {self.vector}")
        if self.rip is not None:
            parts.append(f"at {self.rip:#x}" + (f" <{self.symbol}>" if self.symbol else ""))
        if self.cr2 is not None and self.vector == 14:
            parts.append(f"cr2 {self.cr2:#x}")
        text = ", ".join(parts)
        if self.message and self.message != what:
            text += f": {self.message}"
        if self.frames:
            text += "\n" + "\n".join(
                f"  #{i} {f.addr:#x} {f.symbol or '?'}" for i, f in enumerate(self.frames))
        return text


@dataclass(frozen=True)
class UnknownEvent(Event):
    """A well-formed event of a kind this labkit does not know."""

    ev: str
    data: dict = field(default_factory=dict)
    kind = "unknown"


@dataclass(frozen=True)
class BadLine(Event):
    """A COM2 line that is not a JSON object with an ``ev`` key (kept, never dropped)."""

    text: str
    problem: str
    kind = "bad_line"


@dataclass(frozen=True)
class BalloonEvent(Event):
    """A ``balloon`` event from the kernel's virtio-balloon driver.

    ``action`` is ``target`` (a new target arrived), ``reached`` or ``short`` (the guest could
    not find the memory); ``work_tsc`` is the TSC ticks the driver worked toward this target,
    waits for the host left out (under ``-icount shift=0``: instructions).
    """

    action: str
    target_pages: int
    pages: int
    work_tsc: int
    tsc: int
    kind = "balloon"


@dataclass(frozen=True)
class HeapBalloonEvent(Event):
    """A ``heap_balloon`` event: the kernel's picture after the app's heap lent or got back
    memory (``inflate``, ``deflate``, ``refused``) or reported after a collection
    (``report``). Sizes in bytes, ``pages_free`` in 4 KiB pages.

    >>> e = parse_event('{"ev":"heap_balloon","action":"inflate","bytes":4194304,'
    ...     '"balloon_bytes":4194304,"heap_bytes":0,"used_bytes":0,"live_bytes":0,'
    ...     '"collections":0,"pages_free":9,"kernel_hog_pages":0,"host_balloon_pages":0,"tsc":1}')
    >>> e.action, e.bytes
    ('inflate', 4194304)
    """

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
    kind = "heap_balloon"


@dataclass(frozen=True)
class NetSample(Event):
    """One ``net`` event (sent with every ``metrics=MS`` sample): the stack's cumulative
    counters at TSC ``tsc``, and per receive stage (:data:`NET_STAGES`) the TSC ticks and
    packets in interrupt and in thread context. ``counters`` holds every numeric field by name,
    including ones newer kernels add; ``sample["rx_channel"]`` reads one."""

    tsc: int
    path: str
    ns: int
    counters: Mapping[str, int] = field(default_factory=dict, hash=False)
    irq_tsc: tuple[int, ...] = (0,) * len(NET_STAGES)
    thread_tsc: tuple[int, ...] = (0,) * len(NET_STAGES)
    irq_pkts: tuple[int, ...] = (0,) * len(NET_STAGES)
    thread_pkts: tuple[int, ...] = (0,) * len(NET_STAGES)
    kind = "net"

    def __getitem__(self, key: str) -> int:
        return self.counters[key]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NetSample:
        """A sample from the event's fields; ``tsc``, ``path`` and the four stage arrays
        are required (KeyError when missing), ``ns`` defaults to 0 for hand-made samples."""
        def stages(key: str) -> tuple[int, ...]:
            values = tuple(int(x) for x in d[key])
            if len(values) != len(NET_STAGES):
                raise ValueError(f"{key} has {len(values)} stages, not {len(NET_STAGES)}")
            return values

        counters = {k: int(v) for k, v in d.items()
                    if k not in ("ev", "tsc", "ns") and isinstance(v, int)}
        return cls(int(d["tsc"]), str(d["path"]), int(d.get("ns", 0)), counters,
                   stages("irq_tsc"), stages("thread_tsc"), stages("irq_pkts"),
                   stages("thread_pkts"))


@dataclass(frozen=True)
class NetDrops(Event):
    """A ``net_drops`` event: frames the stack or the NIC dropped, by reason (cumulative)."""

    reasons: Mapping[str, int] = field(default_factory=dict, hash=False)
    kind = "net_drops"

    def nonzero(self) -> dict[str, int]:
        """The reasons that dropped anything."""
        return {k: v for k, v in self.reasons.items() if v}


@dataclass(frozen=True)
class NetUp(Event):
    """The network came up: the guest's addresses, the receive path and the NIC's ring size."""

    mac: str
    ip: str
    gw: str
    prefix: int
    path: str
    ring: int
    kind = "net_up"


_CORE_METRICS = ("tsc", "ns", "pages_free", "pages_used", "heap_bytes", "threads", "ticks",
                 "switches")


def _milestone(d: dict) -> Event:
    return Milestone(d["name"], int(d["tsc"]), d.get("app"), _addr(d.get("base")))


def _layout(d: dict) -> Event:
    return Layout(*(_addr(d[k]) for k in ("ram_bytes", "kernel_start", "kernel_end",
                                          "text_end", "heap_start", "heap_end", "app_area")))


def _segment(d: dict) -> Event:
    return SegmentEvent(d["app"], _addr(d["start"]), _addr(d["end"]), str(d["flags"]),
                        _addr(d.get("file_offset", 0)))


def _thread(d: dict) -> Event:
    return ThreadEvent(int(d["id"]), str(d.get("name", "")), _addr(d.get("stack_start")),
                       _addr(d.get("stack_end")))


def _metrics(d: dict) -> Event:
    extra = {k: int(v) for k, v in d.items()
             if k not in _CORE_METRICS and k != "ev" and isinstance(v, (int, float))}
    return MetricSample(*(int(d[k]) for k in _CORE_METRICS), extra=extra)


def _exit(d: dict) -> Event:
    return ExitEvent(int(d["status"]), _int(d.get("tsc")))


def _load_error(d: dict) -> Event:
    return LoadErrorEvent(str(d["kind"]), d.get("file"), d.get("detail"))


def _loadcheck(d: dict) -> Event:
    return LoadCheckEvent(str(d["file"]), str(d["kind"]), str(d["detail"]))


def _loadcheck_done(d: dict) -> Event:
    return LoadCheckDone(int(d["loaded"]), int(d["refused"]))


def _panic(d: dict) -> Event:
    frames = tuple(Frame(_addr(f.get("addr")), f.get("symbol")) for f in d.get("frames", []))
    return PanicEvent(_int(d.get("vector")), d.get("exception"), _int(d.get("error_code")),
                      _addr(d.get("rip")), d.get("symbol"), _addr(d.get("cr2")),
                      _int(d.get("cpl")), frames, d.get("message"))


def _action_and_counts(cls: type) -> Callable[[dict], Event]:
    """A parser for an event of an ``action`` string and integer fields, all required."""
    names = list(cls.__dataclass_fields__)[1:]

    def parse(d: dict) -> Event:
        return cls(str(d["action"]), *(int(d[n]) for n in names))

    return parse


def _net_drops(d: dict) -> Event:
    return NetDrops({k: int(v) for k, v in d.items() if k != "ev" and isinstance(v, int)})


def _net_up(d: dict) -> Event:
    return NetUp(str(d["mac"]), str(d["ip"]), str(d["gw"]), int(d["prefix"]), str(d["path"]),
                 int(d["ring"]))


#: Every event kind the kernel sends, with its class: the one registry ``parse_event`` uses.
EVENT_TYPES: dict[str, type[Event]] = {cls.kind: cls for cls in (
    Milestone, Layout, SegmentEvent, ThreadEvent, MetricSample, ExitEvent, LoadErrorEvent,
    LoadCheckEvent, LoadCheckDone, PanicEvent, BalloonEvent, HeapBalloonEvent, NetSample,
    NetDrops, NetUp)}

_PARSERS: dict[str, Callable[[dict], Event]] = {
    "milestone": _milestone,
    "layout": _layout,
    "segment": _segment,
    "thread": _thread,
    "metrics": _metrics,
    "exit": _exit,
    "load_error": _load_error,
    "loadcheck": _loadcheck,
    "loadcheck_done": _loadcheck_done,
    "panic": _panic,
    "balloon": _action_and_counts(BalloonEvent),
    "heap_balloon": _action_and_counts(HeapBalloonEvent),
    "net": NetSample.from_dict,
    "net_drops": _net_drops,
    "net_up": _net_up,
}
assert set(_PARSERS) == set(EVENT_TYPES), "every registered kind needs a parser"


def _build(ev: str, d: dict) -> Event:
    parse = _PARSERS.get(ev)
    return parse(d) if parse is not None else UnknownEvent(ev, d)


def parse_event(line: str | bytes) -> Event:
    """Parse one COM2 line into an :class:`Event`; never raises."""
    if isinstance(line, bytes):
        line = line.decode(errors="replace")
    text = line.strip()
    try:
        d = json.loads(text)
    except ValueError as exc:
        return BadLine(text, f"not JSON: {exc}")
    if not isinstance(d, dict) or not isinstance(d.get("ev"), str):
        return BadLine(text, "no 'ev' key")
    try:
        return _build(d["ev"], d)
    except (KeyError, TypeError, ValueError) as exc:
        return BadLine(text, f"malformed {d['ev']!r} event: {exc!r}")

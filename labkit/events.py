# SPDX-License-Identifier: MIT
"""COM2, the machine channel: one JSON object per line, parsed into typed events.

The kernel README is the contract: each line has an ``ev`` key; addresses are hex strings and
counts are integers. :func:`parse_event` turns one line into one of the dataclasses below
(unknown kinds become :class:`UnknownEvent`, a line that is not JSON a :class:`BadLine`), so a
newer kernel never breaks an older labkit.

>>> parse_event('{"ev": "milestone", "name": "app_loaded", "tsc": 9, "app": "hello", '
...             '"base": "0x10000000000"}')
Milestone(name='app_loaded', tsc=9, app='hello', base=1099511627776)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    "Frame",
    "PanicEvent",
    "UnknownEvent",
    "BadLine",
    "parse_event",
    "MILESTONES",
]

#: Boot milestones in the order the kernel reports them.
MILESTONES = ("entry", "paging", "heap", "devices", "app_loaded", "app_main")


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


_CORE_METRICS = ("tsc", "ns", "pages_free", "pages_used", "heap_bytes", "threads", "ticks",
                 "switches")


def _build(ev: str, d: dict) -> Event:
    if ev == "milestone":
        return Milestone(d["name"], int(d["tsc"]), d.get("app"), _addr(d.get("base")))
    if ev == "layout":
        return Layout(*(_addr(d[k]) for k in ("ram_bytes", "kernel_start", "kernel_end",
                                              "text_end", "heap_start", "heap_end",
                                              "app_area")))
    if ev == "segment":
        return SegmentEvent(d["app"], _addr(d["start"]), _addr(d["end"]), str(d["flags"]),
                            _addr(d.get("file_offset", 0)))
    if ev == "thread":
        return ThreadEvent(int(d["id"]), str(d.get("name", "")), _addr(d.get("stack_start")),
                           _addr(d.get("stack_end")))
    if ev == "metrics":
        extra = {k: int(v) for k, v in d.items()
                 if k not in _CORE_METRICS and k != "ev" and isinstance(v, (int, float))}
        return MetricSample(*(int(d[k]) for k in _CORE_METRICS), extra=extra)
    if ev == "exit":
        return ExitEvent(int(d["status"]), _int(d.get("tsc")))
    if ev == "load_error":
        return LoadErrorEvent(str(d["kind"]), d.get("file"), d.get("detail"))
    if ev == "panic":
        frames = tuple(Frame(_addr(f.get("addr")), f.get("symbol")) for f in d.get("frames", []))
        return PanicEvent(_int(d.get("vector")), d.get("exception"), _int(d.get("error_code")),
                          _addr(d.get("rip")), d.get("symbol"), _addr(d.get("cr2")),
                          _int(d.get("cpl")), frames, d.get("message"))
    return UnknownEvent(ev, d)


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

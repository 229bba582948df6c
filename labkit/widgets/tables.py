# SPDX-License-Identifier: MIT
"""Tables of lesson data (labkit.render.Table: HTML in Jupyter, text elsewhere)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from ..events import Event
from ..lessons.stepping import TraceStep
from ..render import Table

__all__ = ["trace_table", "events_table"]


def trace_table(title: str, steps: Sequence[TraceStep]) -> Table:
    """One row per executed instruction: address, symbol, image, instruction, CPL."""
    return Table(title, ("address", "where", "image", "instruction", "cpl"),
                 [(f"{t.address:#x}", t.where, t.image or "", t.text, str(t.cpl))
                  for t in steps])


#: Event fields that count (ticks, bytes, an offset into a file): shown in decimal. Every other
#: whole number of an event is an address and is shown in hex.
_COUNTS = ("tsc", "ns", "status", "ram_bytes", "count", "pages")


def _field(name: str, value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and \
            not any(name == c or name.endswith("_" + c) for c in _COUNTS):
        return f"{name}={value:#x}"
    return f"{name}={value:,}" if isinstance(value, int) else f"{name}={value}"


def events_table(title: str, events: Iterable[Event]) -> Table:
    """One row per COM2 event: its kind and its fields, addresses in hex, counts in decimal,
    fields left empty (None) omitted."""
    rows: list[Sequence[str]] = []
    for e in events:
        fields: list[tuple[str, object]] = (
            [(f.name, getattr(e, f.name)) for f in dataclasses.fields(e)]
            if dataclasses.is_dataclass(e) else [])
        rows.append((type(e).__name__, "  ".join(_field(n, v) for n, v in fields
                                                 if v is not None)))
    return Table(title, ("event", "fields"), rows)

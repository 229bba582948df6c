# SPDX-License-Identifier: MIT
"""Tables of lesson data (labkit.render.Table: HTML in Jupyter, text elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence

from ..lessons.stepping import TraceStep
from ..render import Table

__all__ = ["trace_table"]


def trace_table(title: str, steps: Sequence[TraceStep]) -> Table:
    """One row per executed instruction: address, symbol, image, instruction, CPL."""
    return Table(title, ("address", "where", "image", "instruction", "cpl"),
                 [(f"{t.address:#x}", t.where, t.image or "", t.text, str(t.cpl))
                  for t in steps])

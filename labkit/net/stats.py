# SPDX-License-Identifier: MIT
"""The kernel's ``net`` events (COM2, sent with every ``metrics=MS`` sample) as Python data.

Each :class:`NetSample` (parsed in :mod:`labkit.events`) carries the stack's cumulative
counters: how many frames had their protocol work done in the interrupt handler
(``rx_classic``) or in the reading thread (``rx_channel``), drops, TCP figures, and per
receive stage the TSC ticks spent in interrupt and in thread context. Under
``-icount shift=0`` a tick is one instruction, so :func:`stage_costs` between two samples
gives exact instructions per packet per stage.

>>> a = NetSample.from_dict({"tsc": 0, "path": "classic", "irq_tsc": [0] * 8,
...     "thread_tsc": [0] * 8, "irq_pkts": [0] * 8, "thread_pkts": [0] * 8})
>>> b = NetSample.from_dict({"tsc": 9, "path": "classic", "rx_classic": 2,
...     "irq_tsc": [400, 0, 600, 300, 0, 0, 0, 200], "thread_tsc": [0] * 6 + [100, 0],
...     "irq_pkts": [2] * 8, "thread_pkts": [0] * 8})
>>> [(c.stage, c.irq, c.thread) for c in stage_costs(a, b, 2) if c.total][:3]
[('driver', 200.0, 0.0), ('eth_ip', 300.0, 0.0), ('udp', 150.0, 0.0)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..console import EventLog
from ..events import NET_STAGES, Event, NetSample

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["STAGES", "NetSample", "StageCost", "net_samples", "stage_costs", "series",
           "rates"]

#: Receive-path stages in the kernel's order (kernel/net/net.c, net_stage_names).
STAGES = NET_STAGES


def net_samples(source: Machine | EventLog | Iterable[Event]) -> list[NetSample]:
    """The ``net`` samples of a machine, an EventLog or a list of events, oldest first."""
    log = source.events if hasattr(source, "console") else source
    if isinstance(log, EventLog):
        return log.of_type(NetSample)
    return [e for e in log if isinstance(e, NetSample)]  # type: ignore[union-attr]


@dataclass(frozen=True)
class StageCost:
    """TSC ticks (instructions under icount) per packet spent in one stage."""

    stage: str
    irq: float
    thread: float

    @property
    def total(self) -> float:
        return self.irq + self.thread


def stage_costs(before: NetSample, after: NetSample, packets: int) -> list[StageCost]:
    """Per-packet cost of each stage between two samples, for ``packets`` packets."""
    n = max(1, packets)
    return [StageCost(name, (after.irq_tsc[i] - before.irq_tsc[i]) / n,
                      (after.thread_tsc[i] - before.thread_tsc[i]) / n)
            for i, name in enumerate(STAGES)]


def series(samples: Sequence[NetSample], key: str) -> tuple[list[int], list[int]]:
    """(tsc stamps, values) of one counter, for a plot."""
    return [s.tsc for s in samples], [s.counters[key] for s in samples]


def rates(samples: Sequence[NetSample], key: str) -> tuple[list[float], list[float]]:
    """(guest seconds since the first sample, increase per second) of one counter."""
    if len(samples) < 2:
        return [], []
    t0 = samples[0].ns
    xs, ys = [], []
    for a, b in zip(samples, samples[1:], strict=False):
        dt = (b.ns - a.ns) / 1e9
        xs.append((b.ns - t0) / 1e9)
        ys.append((b.counters[key] - a.counters[key]) / dt if dt > 0 else 0.0)
    return xs, ys


def totals(costs: Iterable[StageCost]) -> tuple[float, float]:
    """(interrupt, thread) sums of per-packet costs."""
    costs = list(costs)
    return sum(c.irq for c in costs), sum(c.thread for c in costs)

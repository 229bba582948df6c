# SPDX-License-Identifier: MIT
"""The kernel's ``net`` events (COM2, sent with every ``metrics=MS`` sample) as Python data.

Each :class:`NetSample` carries the stack's cumulative counters: how many frames had their
protocol work done in the interrupt handler (``rx_classic``) or in the reading thread
(``rx_channel``), drops, TCP figures, and per receive stage the TSC ticks spent in interrupt
and in thread context. Under ``-icount shift=0`` a tick is one instruction, so
:func:`stage_costs` between two samples gives exact instructions per packet per stage.

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
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STAGES", "NetSample", "StageCost", "net_samples", "stage_costs", "series",
           "rates"]

#: Receive-path stages in the kernel's order (kernel/net/net.c, net_stage_names).
STAGES = ("driver", "classify", "eth_ip", "udp", "tcp", "icmp_arp", "copy", "tx")

_COUNTERS = ("rx_classic", "rx_channel", "rx_channel_overflow", "drops", "tcp_ooo",
             "tcp_retransmits", "tcp_conns", "tcp_active", "icmp_echo", "rx_frames",
             "tx_frames", "irqs")


@dataclass(frozen=True)
class NetSample:
    """One ``net`` event: cumulative counters at TSC ``tsc``."""

    tsc: int
    path: str
    ns: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    irq_tsc: tuple[int, ...] = (0,) * len(STAGES)
    thread_tsc: tuple[int, ...] = (0,) * len(STAGES)
    irq_pkts: tuple[int, ...] = (0,) * len(STAGES)
    thread_pkts: tuple[int, ...] = (0,) * len(STAGES)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetSample:
        def arr(key: str) -> tuple[int, ...]:
            return tuple(int(x) for x in d.get(key, ())) or (0,) * len(STAGES)

        return cls(int(d.get("tsc", 0)), str(d.get("path", "?")), int(d.get("ns", 0)),
                   {k: int(d.get(k, 0)) for k in _COUNTERS}, arr("irq_tsc"), arr("thread_tsc"),
                   arr("irq_pkts"), arr("thread_pkts"))

    def __getitem__(self, key: str) -> int:
        return self.counters[key]


def net_samples(source: Any) -> list[NetSample]:
    """The ``net`` samples of a machine, an EventLog or a list of events, oldest first."""
    events = getattr(getattr(source, "events", source), "events", source)
    out = []
    for e in events:
        data = getattr(e, "data", None)
        if getattr(e, "ev", None) == "net" and isinstance(data, dict):
            out.append(NetSample.from_dict(data))
    return out


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

# SPDX-License-Identifier: MIT
"""The views of lesson 03 (net channels): the two receive paths drawn, the per-stage costs as
a table and a figure, where the protocol work ran, and a live plot of frames per second in the
interrupt and in the reading thread. The data comes from :mod:`labkit.net` and
:mod:`labkit.lessons.netchannels`; figures are matplotlib, the diagram graphviz.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import graphviz
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..net.bench import PathCosts
from ..net.stats import STAGES, net_samples
from ..render import Table
from .live_figure import LiveFigure

if TYPE_CHECKING:
    from ..lessons.netchannels import KindDrops
    from ..machine import Machine

__all__ = ["paths_diagram", "costs_table", "plot_costs", "where_table", "live_rates",
           "drops_table"]


def paths_diagram() -> Any:
    """Both receive paths as a graphviz picture: who does which stage, and in which context."""
    g = graphviz.Digraph("paths", graph_attr={"rankdir": "LR", "fontsize": "11"},
                         node_attr={"shape": "box", "style": "rounded,filled", "fontsize": "10"})
    irq, thread = "#f4cccc", "#d9ead3"
    with g.subgraph(name="cluster_classic") as c:
        c.attr(label="net=classic", style="dashed")
        c.node("c_nic", "virtio-net\ninterrupt", fillcolor=irq)
        c.node("c_stack", "Ethernet, IPv4,\nUDP / TCP", fillcolor=irq)
        c.node("c_q", "socket queue", shape="cylinder", fillcolor="white")
        c.node("c_app", "app thread:\nrecv() copies", fillcolor=thread)
        c.edges([("c_nic", "c_stack"), ("c_stack", "c_q"), ("c_q", "c_app")])
    with g.subgraph(name="cluster_channels") as c:
        c.attr(label="net=channels", style="dashed")
        c.node("n_nic", "virtio-net\ninterrupt", fillcolor=irq)
        c.node("n_cls", "classify:\nhash(flow)", fillcolor=irq)
        c.node("n_ring", "flow's ring\n(1 producer, 1 consumer)", shape="cylinder",
               fillcolor="white")
        c.node("n_app", "app thread: recv() runs\nEthernet, IPv4, UDP / TCP,\nthen copies",
               fillcolor=thread)
        c.node("n_classic", "no flow (ARP, ICMP, SYN, ...):\nclassic path", fillcolor=irq)
        c.edges([("n_nic", "n_cls"), ("n_cls", "n_ring"), ("n_ring", "n_app")])
        c.edge("n_cls", "n_classic", style="dotted")
    g.node("legend", "red: interrupt context\ngreen: the reading thread", shape="note",
           fillcolor="white")
    return g


def costs_table(costs: Mapping[str, PathCosts]) -> Table:
    """Instructions per packet by stage, one row per path and context."""
    rows = []
    for path, c in costs.items():
        for ctx in ("irq", "thread"):
            rows.append([path, ctx] + [f"{getattr(s, ctx):.0f}" for s in c.stages]
                        + [f"{getattr(c, ctx):.0f}"])
    some = next(iter(costs.values()))
    return Table(f"instructions per {some.what} by stage (-icount shift=0)",
                 ["path", "context", *STAGES, "sum"], rows)


def plot_costs(costs: Mapping[str, PathCosts]):
    """Stacked bars: per path, instructions per packet in interrupt and in thread context,
    split by stage."""
    fig, ax = plt.subplots(figsize=(9, 2.9))
    colours = ["#8c8c8c", "#ccb974", "#4c72b0", "#55a868", "#64b5cd", "#8172b2", "#c44e52",
               "#dd8452"]
    labels = [f"{p}\n{ctx}" for p in costs for ctx in ("interrupt", "thread")]
    for row, (_path, c) in enumerate((p, c) for p, c in costs.items() for _ in (0, 1)):
        ctx = "irq" if row % 2 == 0 else "thread"
        left = 0.0
        for i, s in enumerate(c.stages):
            v = getattr(s, ctx)
            ax.barh(row, v, left=left, color=colours[i], edgecolor="white",
                    label=s.stage if row == 0 else None)
            left += v
        ax.text(left, row, f" {left:,.0f}", va="center", fontsize="small")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"instructions per {next(iter(costs.values())).what}")
    ax.set_xlim(right=ax.get_xlim()[1] * 1.1)
    ax.legend(ncol=len(STAGES), fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0),
              frameon=False)
    fig.tight_layout()
    return fig


def where_table(machine_by_path: Mapping[str, Machine]) -> Table:
    """Frames whose protocol work ran in the interrupt or in a thread, per path."""
    rows = []
    for path, m in machine_by_path.items():
        s = net_samples(m)[-1]
        rows.append([path, str(s["rx_frames"]), str(s["rx_classic"]), str(s["rx_channel"])])
    return Table("where the protocol work happened", ["path", "frames in", "in the interrupt",
                                                      "in the reading thread"], rows)


def live_rates(machine: Machine, period: float = 0.25) -> LiveFigure:
    """A :class:`LiveFigure` of frames per second whose protocol work ran in the interrupt
    (``rx_classic``) or in the reading thread (``rx_channel``), from the machine's ``net``
    samples; ``.start()`` it, ``await .stop()`` it."""
    keys = {"rx_classic": "work in the interrupt", "rx_channel": "work in the reading thread"}
    t0 = time.monotonic()
    points: dict[str, list[tuple[float, float]]] = {k: [] for k in keys}
    lines: dict[str, Any] = {}

    def update(fig: Figure) -> bool:
        if not lines:
            ax = fig.subplots()
            lines.update({k: ax.plot([], [], label=label)[0] for k, label in keys.items()})
            ax.set_xlabel("seconds")
            ax.set_ylabel("frames / s")
            ax.legend(loc="upper left", fontsize="small")
            fig.tight_layout()
        samples = net_samples(machine)
        if len(samples) < 2:
            return True
        a, b = samples[-2], samples[-1]
        dt = max(1e-9, (b.ns - a.ns) / 1e9)
        now = time.monotonic() - t0
        for k, line in lines.items():
            points[k].append((now, (b[k] - a[k]) / dt))
            xs, ys = zip(*points[k], strict=True)
            line.set_data(xs, ys)
        ax = fig.axes[0]
        ax.relim()
        ax.autoscale_view()
        return True

    return LiveFigure(update, figsize=(8, 2.4), period=period)


def drops_table(rows: Sequence[KindDrops]) -> Table:
    """Each kind of broken frame sent on its own: what the lesson expects, what the kernel's
    drop counters counted, and whether the two agree."""
    from ..lessons.netchannels import EXPECTED, matches

    out: list[Sequence[str]] = []
    for r in rows:
        want = EXPECTED.get(r.kind)
        expected = ("?" if want is None else ("all: " if want.all else "some: ")
                    + (", ".join(sorted(want.counters)) or "none"))
        got = ", ".join(f"{k} {v}" for k, v in sorted(r.grew.items())) or "-"
        out.append((r.kind, str(r.sent), expected, str(r.counted), got,
                    "yes" if matches(r) else "NO", want.why if want else ""))
    return Table("broken frames, one kind at a time",
                 ("kind", "sent", "counter expected", "counted", "by counter", "match",
                  "why not all"), out)

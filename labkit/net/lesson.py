# SPDX-License-Identifier: MIT
"""What lesson 03 shows, as plain functions over labkit.net: the two receive paths drawn, the
per-stage costs as a table and a figure, a live plot of where packets are processed, and the
small experiments the cells run (a UDP burst, a malformed flood, HTTP through hostfwd).

Figures are matplotlib; the diagram is graphviz; the live plot shows itself in an
ipywidgets Image when ipywidgets is there (in a script it is a figure alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import subprocess
import time
from collections.abc import Mapping
from typing import Any

from ..render import Table
from .bench import PathCosts
from .malformed import malformed_frames
from .stats import STAGES, net_samples
from .wire import Wire

__all__ = ["paths_diagram", "costs_table", "plot_costs", "LivePlot", "udp_burst", "flood",
           "drop_reasons", "curl", "where_table"]


def paths_diagram() -> Any:
    """Both receive paths as a graphviz picture: who does which stage, and in which context."""
    import graphviz

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
    import matplotlib.pyplot as plt

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


class LivePlot:
    """A plot of frames per second processed in the interrupt and in threads, redrawn from the
    machine's ``net`` samples by a background asyncio task while other cells, threads or the
    rest of its own cell run.

    It is drawn with Agg into an ``ipywidgets.Image``: a widget update goes from the kernel to
    the browser with no reply needed, so the picture moves while its cell still runs. (An
    ipympl canvas redraws when the browser asks, and the kernel reads that request only
    between cells.) ``fig`` is the matplotlib figure; outside Jupyter there is no widget."""

    def __init__(self, machine: Any, period: float = 0.25) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.machine, self.period = machine, period
        self.fig = Figure(figsize=(8, 2.4), dpi=96)
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.subplots()
        self.lines = {k: self.ax.plot([], [], label=label)[0]
                      for k, label in (("rx_classic", "work in the interrupt"),
                                       ("rx_channel", "work in the reading thread"))}
        self.ax.set_xlabel("seconds")
        self.ax.set_ylabel("frames / s")
        self.ax.legend(loc="upper left", fontsize="small")
        self.fig.tight_layout()
        self.image: Any = None
        try:
            import ipywidgets

            self.image = ipywidgets.Image(format="png")
        except ImportError:                      # a script: no widget, the figure alone
            pass
        self._task: asyncio.Task | None = None
        self.t0 = time.monotonic()
        self.points: dict[str, list[tuple[float, float]]] = {k: [] for k in self.lines}

    def _update(self) -> None:
        samples = net_samples(self.machine)
        if len(samples) < 2:
            return
        a, b = samples[-2], samples[-1]
        dt = max(1e-9, (b.ns - a.ns) / 1e9)
        now = time.monotonic() - self.t0
        for k, line in self.lines.items():
            self.points[k].append((now, (b[k] - a[k]) / dt))
            xs, ys = zip(*self.points[k], strict=True)
            line.set_data(xs, ys)
        self.ax.relim()
        self.ax.autoscale_view()
        self._render()

    def _render(self) -> None:
        if self.image is not None:
            png = io.BytesIO()
            self.fig.savefig(png, format="png")
            self.image.value = png.getvalue()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                self._update()
            await asyncio.sleep(self.period)

    def start(self) -> LivePlot:
        """Show the plot (in a notebook) and start redrawing it every ``period`` seconds."""
        if self.image is not None:
            from IPython.display import display

            self._render()
            display(self.image)
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._update()


def udp_burst(wire: Wire, seconds: float, port: int = 7, size: int = 64) -> tuple[int, float]:
    """UDP echoes one after another for ``seconds``; returns (echoes, median round trip in s)."""
    rtts = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        wire.udp(port, bytes([len(rtts) % 256]) * size, sport=42000)
        rtts.append(time.perf_counter() - t0)
    rtts.sort()
    return len(rtts), rtts[len(rtts) // 2]


def flood(wire: Wire, count: int, seed: int = 0) -> dict[str, int]:
    """Send ``count`` malformed frames; returns how many of each kind went out."""
    kinds: dict[str, int] = {}
    for kind, frame in malformed_frames(count, seed=seed):
        wire.send(frame)
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def drop_reasons(machine: Any) -> dict[str, int]:
    """The latest ``net_drops`` event: drops by reason (non-zero ones)."""
    for e in reversed(getattr(machine.events, "events", [])):
        if getattr(e, "ev", None) == "net_drops":
            return {k: v for k, v in e.data.items() if k != "ev" and v}
    return {}


def where_table(machine_by_path: Mapping[str, Any]) -> Table:
    """Frames whose protocol work ran in the interrupt or in a thread, per path."""
    rows = []
    for path, m in machine_by_path.items():
        s = net_samples(m)[-1]
        rows.append([path, str(s["rx_frames"]), str(s["rx_classic"]), str(s["rx_channel"])])
    return Table("where the protocol work happened", ["path", "frames in", "in the interrupt",
                                                      "in the reading thread"], rows)


def curl(url: str, timeout: float = 10.0) -> str:
    """``curl -si URL`` when curl is installed, else the same request with Python."""
    if shutil.which("curl"):
        return subprocess.run(["curl", "-si", "--max-time", str(timeout), url],
                              capture_output=True, text=True, timeout=timeout + 5).stdout
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as r:
        head = f"HTTP/1.1 {r.status} {r.reason}\n" + "".join(f"{k}: {v}\n" for k, v in
                                                           r.headers.items())
        return head + "\n" + r.read().decode(errors="replace")


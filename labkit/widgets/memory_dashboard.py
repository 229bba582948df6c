# SPDX-License-Identifier: MIT
"""The memory dashboard of lesson 04: where a guest's memory is, redrawn while cells run.

A view over :class:`labkit.balloon.MemoryMonitor` (the samples) and :class:`labkit.balloon.Balloon`
(what the controls do). Three panels share the time axis:

- *guest RAM*: the app's heap (live, garbage, free inside it), the kernel's free memory, the
  rest of the kernel, and what the host took (virtio balloon);
- *the app's heap*: the same heap as the app sees its address range, with the balloon object
  (pages lent to the kernel, unmapped) on top;
- *the host*: QEMU's resident memory, and the guest size the host asks for.

Controls: a slider and a button set the host's target; a toggle makes the kernel hog memory
(``hog N`` on the app's console: ``managed_heap`` passes it to ``uk_kernel_hog``). What
background work prints goes to an Output widget, never to whichever cell runs at the time.

The figure is a :class:`~labkit.widgets.live_figure.LiveFigure`, so it moves while a long cell
runs, not only between cells.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import ipywidgets as w
from matplotlib.figure import Figure

from ..balloon import MIB, Balloon, MemoryMonitor, MemorySample, send_command
from .live_figure import LiveFigure

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["MemoryDashboard"]

_GUEST = (("app heap: live", "#2f6fb0"), ("app heap: garbage", "#8fb3da"),
          ("app heap: free", "#d6e4f2"), ("kernel: free", "#9ccc8c"),
          ("kernel: the rest", "#6b8e5a"), ("given to the host", "#bbbbbb"))
_HEAP = (("live", "#2f6fb0"), ("garbage", "#8fb3da"), ("free", "#d6e4f2"),
         ("balloon object (lent, unmapped)", "#e8a23a"))


def _guest_layers(s: MemorySample) -> list[float]:
    garbage = max(0, s.app_used - s.app_live)
    return [v / MIB for v in (s.app_live, garbage, max(0, s.app_heap - s.app_used),
                              s.kernel_free, s.kernel_other, s.host_balloon)]


def _heap_layers(s: MemorySample) -> list[float]:
    garbage = max(0, s.app_used - s.app_live)
    return [v / MIB for v in (s.app_live, garbage, max(0, s.app_heap - s.app_used),
                              s.heap_balloon)]


class MemoryDashboard:
    """``dash = await MemoryDashboard(m).start(); display(dash.view)``; ``await dash.stop()``.

    ``m`` is a running machine made with ``balloon="on"`` (or ``"deflate-on-oom"``) and, for the
    hog toggle, running ``managed_heap``.
    """

    def __init__(self, machine: Machine, period: float = 0.5, window: float = 60.0,
                 hog_mib: int = 48) -> None:
        self.machine = machine
        self.balloon = Balloon(machine)
        self.monitor = MemoryMonitor(machine, self.balloon, period=period)
        self.window = window
        self.hog_mib = hog_mib
        self.log = w.Output(layout=w.Layout(max_height="6em", overflow="auto"))
        self.live = LiveFigure(self._update, figsize=(9, 6.4), period=period)
        self.fig = self.live.fig
        self.axes = self.fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 3, 2]})
        self.fig.subplots_adjust(left=0.08, right=0.72, top=0.97, bottom=0.08, hspace=0.18)
        self._drawn = -1                          # samples drawn so far
        self._build_controls()
        self.view = w.VBox([self.live.image or w.Output(), self.controls, self.summary,
                            self.log])

    def _build_controls(self) -> None:
        ram_mib = self.balloon.ram // MIB
        self.take = w.IntSlider(value=0, min=0, max=ram_mib - 16, step=16,
                                description="host takes", readout_format="d",
                                layout=w.Layout(width="45%"))
        apply = w.Button(description="set target", icon="compress")
        apply.on_click(lambda _b: self._spawn(self._set_target(self.take.value)))
        self.hog = w.ToggleButton(description=f"kernel hog {self.hog_mib} MiB", icon="fire")
        self.hog.observe(lambda ch: self._spawn(self._hog(ch["new"])), names="value")
        self.controls = w.HBox([self.take, w.Label("MiB"), apply, self.hog])
        self.summary = w.HTML()

    # ---------------------------------------------------------------- actions
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.ensure_future(coro)

    async def _set_target(self, take_mib: int) -> None:
        try:
            await self.balloon.take(take_mib * MIB)
            self.log.append_stdout(f"host target: the guest should shrink to "
                                   f"{(self.balloon.ram - take_mib * MIB) / MIB:.0f} MiB\n")
        except Exception as exc:  # noqa: BLE001 - shown to the student, not raised
            self.log.append_stdout(f"could not set the target: {exc}\n")

    async def _hog(self, on: bool) -> None:
        mib = self.hog_mib if on else 0
        try:
            reply = await send_command(self.machine, f"hog {mib}",
                                       rf"hog {mib} (held_bytes (\d+)|.*only on)")
            self.log.append_stdout(f"kernel hog: {reply.group(0)}\n")
        except Exception as exc:  # noqa: BLE001
            self.log.append_stdout(f"the hog failed: {exc}\n")

    # ---------------------------------------------------------------- drawing
    def draw(self) -> None:
        """Redraw now from the monitor's samples."""
        self.live.redraw()

    def _update(self, _fig: Figure) -> bool:
        """Draw the samples on the three panels; False when no sample came since last time."""
        if len(self.monitor.samples) == self._drawn:
            return False
        self._drawn = len(self.monitor.samples)
        samples = [s for s in self.monitor.samples if s.t >= self.monitor.samples[-1].t
                   - self.window] if self.monitor.samples else []
        if not samples:
            return False
        t = [s.t for s in samples]
        guest, heap, host = self.axes
        for ax in self.axes:
            ax.clear()
        guest.stackplot(t, list(zip(*map(_guest_layers, samples), strict=True)),
                        labels=[n for n, _ in _GUEST], colors=[c for _, c in _GUEST])
        guest.set_ylabel("guest RAM, MiB")
        guest.set_ylim(0, self.balloon.ram / MIB)
        heap.stackplot(t, list(zip(*map(_heap_layers, samples), strict=True)),
                       labels=[n for n, _ in _HEAP], colors=[c for _, c in _HEAP])
        heap.set_ylabel("app heap, MiB")
        host.plot(t, [s.rss / MIB for s in samples], color="#c44e52", label="QEMU RSS")
        host.plot(t, [s.target / MIB for s in samples], color="#555555", ls="--",
                  label="guest size asked")
        host.plot(t, [s.actual / MIB for s in samples], color="#555555", label="guest size")
        host.set_ylabel("host, MiB")
        host.set_xlabel("seconds")
        for ax in self.axes:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        self._summarize(samples[-1])
        return True

    def _summarize(self, s: MemorySample) -> None:
        self.summary.value = (
            f"<tt>QEMU RSS {s.rss / MIB:.0f} MiB &middot; guest {s.actual / MIB:.0f} of "
            f"{s.ram / MIB:.0f} MiB &middot; kernel free {s.kernel_free / MIB:.1f} MiB &middot; "
            f"app heap {s.app_heap / MIB:.0f} MiB (live {s.app_live / MIB:.0f}) &middot; "
            f"balloon object {s.heap_balloon / MIB:.0f} MiB &middot; "
            f"kernel hog {s.kernel_hog / MIB:.0f} MiB &middot; {s.collections} GCs</tt>")

    async def start(self) -> MemoryDashboard:
        """Start sampling and redrawing; ``display(dash)`` shows it."""
        await self.monitor.start()
        self.live.start(show=False)
        return self

    async def stop(self) -> None:
        """Stop sampling and redrawing, after a last picture."""
        await self.monitor.stop()
        await self.live.stop()

    def _ipython_display_(self) -> None:
        from .snapshot import display_live

        display_live(self.view, lambda: self.summary.value + self.live.snapshot_html())

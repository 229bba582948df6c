# SPDX-License-Identifier: MIT
"""A matplotlib figure that moves while its cell runs: lessons 03 and 04 draw their live
views with it.

It is drawn with Agg into an ``ipywidgets.Image``: a widget update goes from the kernel to the
browser with no reply needed, so the picture moves while its own cell still runs. (An ipympl
canvas redraws when the browser asks, and the kernel reads that request only between cells.)
A background asyncio task calls ``update(figure)`` every ``period`` seconds and sends the new
picture when it returns True. Outside Jupyter there is no widget, the figure alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["LiveFigure"]


class LiveFigure:
    """``fig`` redrawn by ``update(fig)`` every ``period`` seconds while ``start()``-ed.

    >>> live = LiveFigure(lambda fig: False, figsize=(2, 1))
    >>> live.fig.get_size_inches().tolist()
    [2.0, 1.0]
    """

    def __init__(self, update: Callable[[Figure], bool], figsize: tuple[float, float] = (8, 2.4),
                 period: float = 0.25) -> None:
        self.update, self.period = update, period
        self.fig = Figure(figsize=figsize, dpi=96)
        FigureCanvasAgg(self.fig)
        self.image: object | None = None
        try:
            import ipywidgets

            self.image = ipywidgets.Image(format="png")
        except ImportError:                      # a script: no widget, the figure alone
            pass
        self._task: asyncio.Task | None = None
        self.frames = 0                          # pictures sent so far

    def redraw(self) -> None:
        """Call ``update`` once and send the picture if it changed."""
        if self.update(self.fig):
            self._render()

    def _render(self) -> None:
        if self.image is not None:
            png = io.BytesIO()
            self.fig.savefig(png, format="png")
            self.image.value = png.getvalue()  # type: ignore[attr-defined]
            self.frames += 1

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):     # a bad sample must not end the view
                self.redraw()
            await asyncio.sleep(self.period)

    def snapshot_html(self) -> str:
        """The figure as it is now, as an inline PNG: what a static export keeps."""
        import base64

        png = io.BytesIO()
        self.fig.savefig(png, format="png")
        data = base64.b64encode(png.getvalue()).decode()
        return f'<img src="data:image/png;base64,{data}" alt="live figure, last picture"/>'

    def show(self) -> LiveFigure:
        """Display the widget (in a notebook) with the figure as it is now; when the cell
        ends, its last picture is saved with it for readers without a kernel."""
        if self.image is not None:
            from .snapshot import display_live

            self._render()
            display_live(self.image, self.snapshot_html)
        return self

    def start(self, show: bool = True) -> LiveFigure:
        """Show the figure (unless it is part of a larger view that shows it) and start
        redrawing it every ``period`` seconds."""
        if show:
            self.show()
        else:
            self._render()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        """Stop redrawing, after one last update."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            self.redraw()

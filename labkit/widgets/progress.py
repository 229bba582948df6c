# SPDX-License-Identifier: MIT
"""A progress bar and a one-line log that follow :func:`labkit.lessons.building.scratch_build`."""

from __future__ import annotations

import ipywidgets as w

from ..lessons.building import BuildStep

__all__ = ["BuildProgress"]


class BuildProgress:
    """``bar = BuildProgress(); display(bar.view); scratch_build(dest, on_step=bar)``."""

    def __init__(self) -> None:
        self.bar = w.IntProgress(value=0, min=0, max=1, description="build",
                                 bar_style="info", layout=w.Layout(width="60%"))
        self.label = w.Label("waiting for make ...")
        self.view = w.VBox([self.bar, self.label])

    def __call__(self, step: BuildStep, done: int, planned: int) -> None:
        self.bar.max = max(planned, done, 1)
        self.bar.value = done
        self.label.value = f"[{done}/{self.bar.max}] {step.tool:<5} {step.target}"

    def finish(self, message: str, ok: bool = True) -> None:
        self.bar.value = self.bar.max
        self.bar.bar_style = "success" if ok else "danger"
        self.label.value = message

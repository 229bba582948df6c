# SPDX-License-Identifier: MIT
"""Thin views for the notebooks: ipywidgets and matplotlib over labkit objects.

Nothing here decides anything a test would need: the data comes from :mod:`labkit.lessons`
and the rest of labkit; these modules only draw it and forward button presses.

- :mod:`.progress`: a progress bar that follows a build step by step.
- :mod:`.plots`: static figures (boot timelines, image sizes, cost comparisons).
- :mod:`.debugger`: the debugger panel over :class:`labkit.Debugger` (lesson 02).
- :mod:`.snapshot`: shows a live widget and saves a static picture of it when its cell ends.
- :mod:`.live_figure`: a matplotlib figure that moves while its cell runs (lessons 03, 04).
- :mod:`.net_views`: lesson 03's diagram, cost tables and figures, and its live plot.
- :mod:`.memory_dashboard` and :mod:`.balloon_tables`: lesson 04's dashboard and tables.
"""

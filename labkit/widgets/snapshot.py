# SPDX-License-Identifier: MIT
"""A live widget that leaves a static picture behind: for pages read without a kernel.

A widget's output holds only a reference to a model that lives in the kernel, so a static
export (nbconvert, GitHub's notebook viewer) shows ``VBox(children=...)`` in its place.
:func:`display_live` displays the widget with a ``text/html`` and a ``text/plain`` stand-in in
the same output, and when the cell ends replaces the stand-ins with ``snapshot()``: what the
widget shows at that moment. JupyterLab keeps drawing the live widget (its renderer ranks
first); a reader without a kernel sees the snapshot::

    display_live(panel.view, panel.snapshot_html)     # in place of display(panel.view)
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["display_live", "html_to_text"]

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def html_to_text(markup: str) -> str:
    """The text a reader sees in ``markup`` (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def display_live(widget: Any, snapshot: Callable[[], str]) -> None:
    """Display ``widget``; when the running cell ends, save ``snapshot()`` (HTML) with it.

    Outside IPython (a script, a test) the widget is displayed as usual and nothing is saved."""
    from IPython import get_ipython
    from IPython.display import display, update_display

    shell = get_ipython()
    view = widget._repr_mimebundle_()
    if shell is None or not isinstance(view, dict) or _WIDGET_VIEW not in view:
        display(widget)
        return
    display_id = f"labkit-live-{uuid.uuid4().hex}"
    waiting = "(a live view: run the notebook to see it move)"
    display({**view, "text/html": f"<i>{waiting}</i>", "text/plain": waiting}, raw=True,
            display_id=display_id)

    def at_cell_end(*_: Any) -> None:
        shell.events.unregister("post_run_cell", at_cell_end)
        try:
            picture = snapshot()
        except Exception as exc:  # noqa: BLE001 - a failed picture must not fail the cell
            picture = f"<i>(no snapshot: {html.escape(str(exc))})</i>"
        update_display({**view, "text/html": picture, "text/plain": html_to_text(picture)},
                       raw=True, display_id=display_id)

    shell.events.register("post_run_cell", at_cell_end)

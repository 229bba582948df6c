# SPDX-License-Identifier: MIT
"""labkit.widgets.snapshot: a live widget leaves a static picture in the saved notebook, taken
when its cell ends (what nbconvert and GitHub's viewer show). Runs a small notebook in a real
IPython kernel (nbclient); about 5 s."""

from __future__ import annotations

import nbclient
import nbformat

from labkit.widgets.snapshot import html_to_text

CELL = """\
import ipywidgets as w
from labkit.widgets.snapshot import display_live

bar = w.IntProgress(value=0, max=10)
display_live(bar, lambda: f"<b>done</b> {bar.value} of {bar.max}")
bar.value = 7          # the picture is taken when the cell ends, not when it is displayed
"""


def test_html_to_text():
    assert html_to_text("<i>step at</i> <b>main &lt;+0x23&gt;</b>") == "step at main <+0x23>"


def test_a_live_widget_leaves_its_picture_when_the_cell_ends(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL),
                                         nbformat.v4.new_code_cell("bar.value = 9")])
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = nb.cells[0].outputs
    assert len(outputs) == 1, outputs
    data = outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data        # still live in JupyterLab
    assert data["text/html"] == "<b>done</b> 7 of 10"                 # as the cell ended
    assert data["text/plain"] == "done 7 of 10" and "IntProgress" not in data["text/plain"]
    assert not nb.cells[1].outputs                                     # taken once, not again

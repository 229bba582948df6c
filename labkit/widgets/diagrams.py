# SPDX-License-Identifier: MIT
"""Graphviz pictures of lesson data (each function returns a ``graphviz.Digraph``; Jupyter
renders it with the ``dot`` program)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import graphviz

from ..lessons.linking import ImportRow

__all__ = ["imports_graph"]


def imports_graph(rows: Sequence[ImportRow], app: str, base: int) -> graphviz.Digraph:
    """The app's GOT slots (left) and the kernel functions they are bound to (right), one
    address space: every arrow is a plain pointer the kernel's dynamic linker wrote."""
    g = graphviz.Digraph(f"imports_{app}")
    g.attr(rankdir="LR", fontname="Helvetica", fontsize="11", nodesep="0.08", ranksep="1.6")
    g.attr("node", shape="plaintext", fontname="Helvetica", fontsize="10")

    def table(title: str, colour: str, cells: list[tuple[str, str]]) -> str:
        body = "".join(f"<tr><td port='{p}' align='left' bgcolor='{colour}'>{t}</td></tr>"
                       for p, t in cells)
        return (f"<<table border='0' cellborder='1' cellspacing='0' cellpadding='3'>"
                f"<tr><td><b>{html.escape(title)}</b></td></tr>{body}</table>>")

    left = [(r.name, f"{html.escape(r.name)} <font face='monospace'>GOT "
                     f"{r.got_address:#x}</font>") for r in rows if r.got_address is not None]
    right = [(r.name, f"<font face='monospace'>{r.kernel_address:#x}</font> "
                      f"{html.escape(r.name)} ({r.kernel_size} B)")
             for r in sorted(rows, key=lambda r: r.kernel_address or 0) if r.resolved]
    g.node("app", table(f"app {app}.so at {base:#x} (1 TiB)", "#fdd0a2", left))
    g.node("kernel", table("kernel at 0x100000 (1 MiB): exports", "#9ecae1", right))
    for r in rows:
        if r.got_address is not None and r.resolved:
            g.edge(f"app:{r.name}:e", f"kernel:{r.name}:w", arrowsize="0.6")
        elif r.got_address is not None:
            g.node(f"missing_{r.name}", f"{r.name}: not exported", fontcolor="#cf222e")
            g.edge(f"app:{r.name}:e", f"missing_{r.name}", color="#cf222e")
    return g

# SPDX-License-Identifier: MIT
"""The single address space, as data and as a diagram.

:class:`AddressSpace` lists :class:`Region` s (kernel segments, heap, the app's segments at
its load base, thread stacks, the MMIO hole, the LAPIC) gathered from three sources, each
region saying which one it came from:

* the kernel ELF's ``PT_LOAD`` segments (what the image asks for),
* ``kernel/include/memlayout.h`` (the fixed map: MMIO hole, LAPIC, ``APP_AREA_START``),
* the machine's COM2 events (``layout``, ``segment``, ``thread``: what the kernel actually did).

:meth:`AddressSpace.to_dot` gives graphviz DOT source (always available, the ``graphviz``
package builds it without the ``dot`` program); :meth:`AddressSpace.render` needs ``dot``.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import memlayout
from .elf import ElfImage
from .errors import ToolMissingError
from .events import Event, Layout, SegmentEvent, ThreadEvent

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["Region", "AddressSpace"]

#: Fill colours of the diagram, by region kind.
COLOURS = {
    "kernel": "#9ecae1", "heap": "#c7e9c0", "app": "#fdd0a2", "stack": "#dadaeb",
    "mmio": "#d9d9d9", "low": "#f0f0f0", "free": "#ffffff",
}


@dataclass(frozen=True)
class Region:
    """``[start, end)`` of the address space."""

    name: str
    start: int
    end: int
    kind: str          # kernel, heap, app, stack, mmio, low, free
    flags: str = ""    # r-x style where known
    source: str = ""   # "kernel.elf", "memlayout.h" or "COM2"

    @property
    def size(self) -> int:
        return self.end - self.start


def _human(size: int) -> str:
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            value = size / (1 << shift)
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{size} B"


@dataclass
class AddressSpace:
    """The regions of the one address space, lowest address first."""

    regions: list[Region] = field(default_factory=list)

    @classmethod
    def build(cls, kernel: ElfImage | None = None, events: Iterable[Event] = (),
              constants: dict[str, int] | None = None, max_stacks: int = 6) -> AddressSpace:
        """Gather regions from a kernel ELF, COM2 events and ``memlayout.h`` constants."""
        const = memlayout.constants() if constants is None else constants
        regions: list[Region] = []
        page = const.get("PAGE_SIZE", 4096)
        kernel_base = const.get("KERNEL_PHYS_BASE", 0x100000)
        regions.append(Region("page 0 (NULL faults)", 0, page, "low", "---", "memlayout.h"))
        regions.append(Region("low memory: BIOS data, PVH start info", page, kernel_base, "low",
                              "rw-", "memlayout.h"))
        if kernel is not None:
            names = {"r-x": "kernel text", "r--": "kernel rodata", "rw-": "kernel data+bss"}
            for seg in kernel.segments:
                if seg.type == "PT_LOAD" and seg.memsz:
                    regions.append(Region(names.get(seg.flags, f"kernel {seg.flags}"),
                                          seg.vaddr, seg.vaddr + seg.memsz, "kernel",
                                          seg.flags, kernel.name))
        events = list(events)
        layouts = [e for e in events if isinstance(e, Layout)]
        if layouts:
            lay = layouts[-1]
            if kernel is None:
                regions.append(Region("kernel text+rodata", lay.kernel_start, lay.text_end,
                                      "kernel", "r-x", "COM2"))
                regions.append(Region("kernel data+bss", lay.text_end, lay.kernel_end, "kernel",
                                      "rw-", "COM2"))
            regions.append(Region("heap / free RAM", lay.heap_start, lay.heap_end, "heap",
                                  "rw-", "COM2"))
        if "MMIO_HOLE_START" in const and "DIRECT_MAP_END" in const:
            regions.append(Region("MMIO hole: PCI BARs, IOAPIC", const["MMIO_HOLE_START"],
                                  const.get("LAPIC_BASE", const["DIRECT_MAP_END"]), "mmio",
                                  "rw-", "memlayout.h"))
        if "LAPIC_BASE" in const:
            lapic = const["LAPIC_BASE"]
            regions.append(Region("LAPIC", lapic, lapic + page, "mmio", "rw-", "memlayout.h"))
        segments = [e for e in events if isinstance(e, SegmentEvent)]
        for seg in segments:
            regions.append(Region(f"{seg.app} {seg.flags} (file offset {seg.file_offset:#x})",
                                  seg.start, seg.end, "app", seg.flags, "COM2"))
        if not segments and "APP_AREA_START" in const:
            start = const["APP_AREA_START"]
            regions.append(Region("APP_AREA (app not loaded yet)", start,
                                  start + const.get("APP_AREA_SIZE", 1 << 30), "app", "",
                                  "memlayout.h"))
        threads = [e for e in events if isinstance(e, ThreadEvent) and e.stack_start]
        for t in threads[:max_stacks]:
            regions.append(Region(f"stack of thread {t.id} ({t.name})", t.stack_start or 0,
                                  t.stack_end or 0, "stack", "rw-", "COM2"))
        if len(threads) > max_stacks:
            rest = threads[max_stacks:]
            regions.append(Region(f"stacks of {len(rest)} more threads",
                                  min(t.stack_start or 0 for t in rest),
                                  max(t.stack_end or 0 for t in rest), "stack", "rw-", "COM2"))
        regions.sort(key=lambda r: (r.start, -r.end))
        return cls(regions)

    @classmethod
    def of_machine(cls, machine: Machine, kernel: ElfImage | None = None) -> AddressSpace:
        """The address space of a booted machine (its kernel ELF and COM2 events so far)."""
        from . import paths
        from .elf import load_elf

        if kernel is None:
            path = machine.config.kernel or paths.kernel_image()
            kernel = load_elf(path)
        return cls.build(kernel, machine.events.events)

    # -- presentation --------------------------------------------------------------------------
    def text(self) -> str:
        """A table, highest address first (the way memlayout.h draws it)."""
        lines = []
        for r in reversed(self.regions):
            lines.append(f"{r.start:#018x} .. {r.end:#018x}  {_human(r.size):>9}  "
                         f"{r.flags:<3}  {r.name}  [{r.source}]")
        return "\n".join(lines)

    def to_dot(self, title: str = "one address space", min_gap: int = 0x10000) -> str:
        """Graphviz DOT source of the diagram (no ``dot`` program needed); gaps of at least
        ``min_gap`` bytes between regions are marked."""
        import graphviz

        rows = []
        previous_start: int | None = None
        for r in reversed(self.regions):
            if previous_start is not None and previous_start - r.end >= min_gap:
                rows.append(f"<tr><td colspan='3' border='0'><i>... "
                            f"{_human(previous_start - r.end)} not shown ...</i></td></tr>")
            colour = COLOURS.get(r.kind, "#ffffff")
            rows.append(
                f"<tr><td align='right'><font face='monospace' point-size='9'>{r.start:#x}"
                f"</font></td><td bgcolor='{colour}' align='left'>{html.escape(r.name)}"
                f"<br/><font point-size='8'>{_human(r.size)} {html.escape(r.flags)} "
                f"[{html.escape(r.source)}]</font></td><td align='left'><font face='monospace' "
                f"point-size='9'>{r.end:#x}</font></td></tr>")
            previous_start = r.start
        label = ("<<table border='0' cellborder='1' cellspacing='0' cellpadding='4'>"
                 f"<tr><td colspan='3'><b>{html.escape(title)}</b></td></tr>"
                 + "".join(rows) + "</table>>")
        dot = graphviz.Digraph("address_space")
        dot.attr("node", shape="plaintext", fontname="Helvetica")
        dot.node("space", label=label)
        return dot.source

    def render(self, format: str = "svg") -> bytes:
        """The diagram rendered by graphviz's ``dot`` (raises :class:`ToolMissingError`)."""
        if shutil.which("dot") is None:
            raise ToolMissingError("dot", "install the Debian/Ubuntu package graphviz "
                                          "(the DOT source is in AddressSpace.to_dot())")
        import graphviz

        return graphviz.Source(self.to_dot()).pipe(format=format)

    def _repr_svg_(self) -> str | None:
        if shutil.which("dot") is None:
            return None
        return self.render("svg").decode()

    def find(self, address: int) -> Sequence[Region]:
        """Every region containing ``address``."""
        return [r for r in self.regions if r.start <= address < r.end]

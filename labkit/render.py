# SPDX-License-Identifier: MIT
"""Presentation of labkit's data: plain-text tables for the terminal, HTML for Jupyter.

Parsers return dataclasses (:mod:`labkit.elf`); this module only formats them, as
pyelftools keeps its formatting in ``descriptions.py``. :class:`Table` is the common shape:
a title, headers and rows of strings, rendered by :meth:`Table.text` or :meth:`Table.html`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the parsers (labkit.elf) never need this module's code
    from .elf import Binding, ElfImage

__all__ = [
    "Table",
    "elf_tables",
    "elf_text",
    "elf_html",
    "bindings_table",
    "bindings_text",
    "bindings_html",
]


@dataclass
class Table:
    """A titled table of strings."""

    title: str
    headers: Sequence[str]
    rows: list[Sequence[str]]
    omitted: int = 0

    def text(self) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        out = [self.title, line(self.headers), line(["-" * w for w in widths])]
        out += [line(r) for r in self.rows]
        if self.omitted:
            out.append(f"... {self.omitted} more rows")
        return "\n".join(out)

    def html(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>"
                       for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left;font-family:monospace'>"
                             f"{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self.rows)
        more = (f"<tr><td colspan={len(self.headers)}>... {self.omitted} more rows</td></tr>"
                if self.omitted else "")
        return (f"<details open><summary><b>{html.escape(self.title)}</b></summary>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}{more}</tbody></table>"
                f"</details>")

    def _repr_html_(self) -> str:
        return self.html()

    def __str__(self) -> str:
        return self.text()


def _hex(v: int | None) -> str:
    return "" if v is None else f"{v:#x}"


def _limit(rows: list[Sequence[str]], limit: int) -> tuple[list[Sequence[str]], int]:
    if limit and len(rows) > limit:
        return rows[:limit], len(rows) - limit
    return rows, 0


def elf_tables(image: ElfImage, parts: Iterable[str] = ("summary", "segments", "sections",
                                                       "symbols", "dynamic", "relocs"),
               limit: int = 0) -> list[Table]:
    """The tables ``labkit inspect`` prints, in order (``limit``: rows per table, 0 = all)."""
    tables = []
    for part in parts:
        if part == "summary":
            rows = [("file", str(image.path)), ("type", image.type), ("machine", image.machine),
                    ("class", f"ELF{image.elf_class}"), ("entry", _hex(image.entry)),
                    ("sections", str(len(image.sections))),
                    ("segments", str(len(image.segments))),
                    ("symbols", f"{len(image.symbols)} (.symtab), {len(image.dynsyms)} "
                                f"(.dynsym)"),
                    ("undefined", str(len(image.undefined))),
                    ("needed", ", ".join(image.needed) or "(none)"),
                    ("debug info", "DWARF" if image.has_dwarf else "none")]
            tables.append(Table(f"{image.name}: summary", ("field", "value"),
                                [list(r) for r in rows]))
        elif part == "segments":
            rows = [(s.type, _hex(s.offset), _hex(s.vaddr), _hex(s.paddr), _hex(s.filesz),
                     _hex(s.memsz), s.flags, _hex(s.align), " ".join(s.sections))
                    for s in image.segments]
            rows, more = _limit(rows, limit)
            tables.append(Table(f"{image.name}: program headers (segments)",
                                ("type", "offset", "vaddr", "paddr", "filesz", "memsz",
                                 "flags", "align", "sections"), rows, more))
        elif part == "sections":
            rows = [(str(s.index), s.name, s.type.replace("SHT_", ""), _hex(s.addr),
                     _hex(s.offset), _hex(s.size), s.flags, str(s.align))
                    for s in image.sections]
            rows, more = _limit(rows, limit)
            tables.append(Table(f"{image.name}: section headers",
                                ("nr", "name", "type", "addr", "offset", "size", "flags",
                                 "align"), rows, more))
        elif part == "symbols":
            for table_name, syms in ((".symtab", image.symbols), (".dynsym", image.dynsyms)):
                if not syms:
                    continue
                rows = [(_hex(s.value), str(s.size), s.type, s.bind, s.visibility, s.section,
                         s.name) for s in syms if s.name]
                rows, more = _limit(rows, limit)
                tables.append(Table(f"{image.name}: symbols ({table_name})",
                                    ("value", "size", "type", "bind", "vis", "section", "name"),
                                    rows, more))
        elif part == "dynamic" and image.dynamic:
            rows = [(d.tag, _hex(d.value), d.text or "") for d in image.dynamic]
            tables.append(Table(f"{image.name}: dynamic section", ("tag", "value", "name"),
                                rows))
        elif part == "relocs" and image.relocations:
            rows = [(r.section, _hex(r.offset), r.type, r.symbol or "",
                     "" if r.addend is None else str(r.addend)) for r in image.relocations]
            rows, more = _limit(rows, limit)
            tables.append(Table(f"{image.name}: relocations",
                                ("section", "offset", "type", "symbol", "addend"), rows, more))
    return tables


def elf_text(image: ElfImage, parts: Iterable[str] | None = None, limit: int = 0) -> str:
    """Plain-text tables of an ELF image."""
    kwargs = {"parts": parts} if parts else {}
    return "\n\n".join(t.text() for t in elf_tables(image, limit=limit, **kwargs))


def elf_html(image: ElfImage, parts: Iterable[str] | None = None, limit: int = 200) -> str:
    """HTML tables of an ELF image (for Jupyter)."""
    kwargs = {"parts": parts} if parts else {}
    return "".join(t.html() for t in elf_tables(image, limit=limit, **kwargs))


def bindings_table(bindings: Sequence[Binding]) -> Table:
    rows = [(b.name, _hex(b.kernel_address) if b.resolved else "UNRESOLVED",
             (b.kernel_symbol.type if b.kernel_symbol else ""),
             ", ".join(b.relocation_types)) for b in bindings]
    return Table("app imports bound to kernel exports", ("symbol", "kernel address", "type",
                                                         "relocations"), rows)


def bindings_text(bindings: Sequence[Binding]) -> str:
    return bindings_table(bindings).text()


def bindings_html(bindings: Sequence[Binding]) -> str:
    return bindings_table(bindings).html()

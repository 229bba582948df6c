# SPDX-License-Identifier: MIT
"""Addresses to names and source lines, across the one address space.

The kernel is linked at its run address; an app is a shared object linked at 0 and loaded at
a base the kernel reports on COM2 (the ``app_loaded`` milestone), so an app address is its
symbol value plus that base. :class:`Symbolizer` holds both images and answers "what is at
this address" (:meth:`Symbolizer.lookup`), "where is this symbol" (:meth:`Symbolizer.address`)
and "which source line" (:meth:`Symbolizer.line`), the last from the DWARF line tables
(:class:`LineTable`, read through pyelftools).
"""

from __future__ import annotations

import bisect
import io
import os
from dataclasses import dataclass
from pathlib import Path

from .elf import ElfImage
from .errors import DebuggerError

__all__ = ["Symbolizer", "Location", "LineRow", "LineTable"]


@dataclass(frozen=True)
class LineRow:
    """One row of a DWARF line table: code at ``address`` belongs to ``file:line``."""

    address: int
    file: str
    line: int
    is_stmt: bool


class LineTable:
    """The DWARF line rows of one image (addresses relative to the image's link address)."""

    def __init__(self, rows: list[LineRow], ends: list[int]) -> None:
        rows.sort(key=lambda r: r.address)
        self.rows = rows
        self._addrs = [r.address for r in rows]
        self._ends = sorted(set(ends))

    @classmethod
    def from_elf(cls, path: str | os.PathLike[str]) -> LineTable:
        from elftools.elf.elffile import ELFFile

        rows: list[LineRow] = []
        ends: list[int] = []
        with open(path, "rb") as f:
            elf = ELFFile(io.BytesIO(f.read()))
            if not elf.has_dwarf_info():
                return cls([], [])
            dwarf = elf.get_dwarf_info()
            for cu in dwarf.iter_CUs():
                prog = dwarf.line_program_for_CU(cu)
                if prog is None:
                    continue
                files = prog["file_entry"]
                v5 = prog.header["version"] >= 5
                for entry in prog.get_entries():
                    state = entry.state
                    if state is None:
                        continue
                    if state.end_sequence:
                        ends.append(state.address)
                        continue
                    index = state.file if v5 else state.file - 1
                    name = files[index].name if 0 <= index < len(files) else b"?"
                    rows.append(LineRow(state.address, name.decode(errors="replace"),
                                        state.line, bool(state.is_stmt)))
        return cls(rows, ends)

    def row_at(self, address: int) -> LineRow | None:
        """The row covering ``address`` (None: no line information there)."""
        i = bisect.bisect_right(self._addrs, address) - 1
        if i < 0:
            return None
        row = self.rows[i]
        # Several rows can share an address (a prologue belongs to two lines): like gdb,
        # prefer the last statement row there.
        j = i
        while j >= 0 and self.rows[j].address == row.address:
            if self.rows[j].is_stmt:
                row = self.rows[j]
                break
            j -= 1
        # An end_sequence between the row and the address means the address has no line.
        j = bisect.bisect_right(self._ends, row.address)
        if j < len(self._ends) and self._ends[j] <= address:
            return None
        return row

    def is_line_start(self, address: int) -> bool:
        """True if a statement row begins exactly at ``address``."""
        i = bisect.bisect_left(self._addrs, address)
        while i < len(self.rows) and self.rows[i].address == address:
            if self.rows[i].is_stmt:
                return True
            i += 1
        return False

    def addresses(self, file: str, line: int) -> list[int]:
        """Statement addresses of ``file:line`` (file matched by its base name too)."""
        base = os.path.basename(file)
        return sorted({r.address for r in self.rows if r.line == line and r.is_stmt and
                       (r.file == file or os.path.basename(r.file) == base)})

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Location:
    """What is at one address: image, symbol and offset, source line."""

    address: int
    image: str | None = None      # "kernel" or the app's name
    symbol: str | None = None
    offset: int = 0
    file: str | None = None
    line: int | None = None

    @property
    def function(self) -> str | None:
        return self.symbol

    def __str__(self) -> str:
        where = f"{self.address:#x}"
        if self.symbol:
            where += f" <{self.symbol}{f'+{self.offset:#x}' if self.offset else ''}>"
        if self.image and self.image != "kernel":
            where += f" [{self.image}]"
        if self.file:
            where += f" at {os.path.basename(self.file)}:{self.line}"
        return where


class Symbolizer:
    """Kernel and app symbols and lines in one address space."""

    def __init__(self, kernel: ElfImage, app: ElfImage | None = None,
                 app_base: int | None = None, app_name: str | None = None) -> None:
        self.kernel = kernel
        self.app: ElfImage | None = None
        self.app_base: int | None = None
        self.app_name: str | None = None
        self._lines: dict[Path, LineTable] = {}
        self._plt: dict[int, str] = {}
        if app is not None:
            self.set_app(app, app_base, app_name)

    def set_app(self, app: ElfImage, base: int | None, name: str | None = None) -> None:
        """Use ``app`` loaded at ``base`` (None: not known yet)."""
        self.app = app
        self.app_base = base
        self.app_name = name or app.path.stem
        self._plt = _plt_symbols(app)

    def _app_end(self) -> int:
        assert self.app is not None
        return max((s.end for s in self.app.segments if s.type == "PT_LOAD"), default=0)

    def in_app(self, address: int) -> bool:
        return (self.app is not None and self.app_base is not None
                and self.app_base <= address < self.app_base + self._app_end())

    def lines(self, image: ElfImage) -> LineTable:
        table = self._lines.get(image.path)
        if table is None:
            table = LineTable.from_elf(image.path) if image.has_dwarf else LineTable([], [])
            self._lines[image.path] = table
        return table

    def lookup(self, address: int, with_line: bool = True) -> Location:
        """Everything known about ``address``."""
        if self.in_app(address):
            assert self.app is not None and self.app_base is not None
            rel = address - self.app_base
            image, name = self.app, self.app_name
            found = self.app.lookup(rel)
            if rel in self._plt or (found is None and self._plt):
                plt = self._plt.get(rel - rel % 16)
                if plt is not None:
                    return Location(address, name, plt, rel % 16)
        else:
            rel, image, name = address, self.kernel, "kernel"
            found = self.kernel.lookup(address)
        sym, off = (found[0].name, found[1]) if found else (None, 0)
        file = line = None
        if with_line:
            row = self.lines(image).row_at(rel)
            if row is not None:
                file, line = row.file, row.line
        return Location(address, name, sym, off, file, line)

    def describe(self, address: int) -> str:
        return str(self.lookup(address))

    def line(self, address: int) -> LineRow | None:
        """The source line row at ``address`` (addresses in app rows are shifted back)."""
        if self.in_app(address):
            assert self.app is not None and self.app_base is not None
            row = self.lines(self.app).row_at(address - self.app_base)
            if row is None:
                return None
            return LineRow(row.address + self.app_base, row.file, row.line, row.is_stmt)
        return self.lines(self.kernel).row_at(address)

    def is_line_start(self, address: int) -> bool:
        if self.in_app(address):
            assert self.app is not None and self.app_base is not None
            return self.lines(self.app).is_line_start(address - self.app_base)
        return self.lines(self.kernel).is_line_start(address)

    def address(self, name: str) -> int:
        """The run-time address of ``name``: ``app:NAME``, ``kernel:NAME``, ``FILE:LINE`` or a
        plain name (the app is searched first, as gdb would for the program being debugged)."""
        scope, _, what = name.rpartition(":")
        if scope and what.isdigit():
            return self._line_address(scope, int(what))
        if scope not in ("", "app", "kernel"):
            raise DebuggerError(f"bad location {name!r}: use NAME, app:NAME, kernel:NAME or "
                                "FILE:LINE")
        if scope in ("", "app") and self.app is not None:
            sym = self.app.symbol(what)
            if sym is not None and sym.section != "UND":
                return self._app_address(sym.value, name)
        if scope in ("", "kernel"):
            sym = self.kernel.symbol(what)
            if sym is not None:
                return sym.value
        raise DebuggerError(f"no symbol {what!r} in "
                            f"{'the app or ' if self.app is not None and scope != 'kernel' else ''}"
                            "the kernel")

    def _app_address(self, value: int, what: str) -> int:
        if self.app_base is None:
            raise DebuggerError(f"{what} is in the app, whose load base is not known yet "
                                "(boot until the app_loaded milestone, or pass app_base)")
        return self.app_base + value

    def _line_address(self, file: str, line: int) -> int:
        if self.app is not None:
            found = self.lines(self.app).addresses(file, line)
            if found:
                return self._app_address(found[0], f"{file}:{line}")
        found = self.lines(self.kernel).addresses(file, line)
        if found:
            return found[0]
        raise DebuggerError(f"no code for {file}:{line} (no statement on that line?)")


def _plt_symbols(app: ElfImage) -> dict[int, str]:
    """``NAME@plt`` for each PLT slot (slot i+1 of .plt jumps through .rela.plt entry i)."""
    plt = app.section(".plt")
    if plt is None:
        return {}
    slots = [r.symbol for r in app.relocations if r.section == ".rela.plt" and r.symbol]
    return {plt.addr + 16 * (i + 1): f"{name}@plt" for i, name in enumerate(slots)}

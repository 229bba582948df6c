# SPDX-License-Identifier: MIT
"""ELF inspection of the kernel and the apps, through pyelftools, into plain dataclasses.

:func:`load_elf` reads a file once into an :class:`ElfImage` (sections, segments, symbols,
dynamic section, relocations); nothing here formats anything (that is :mod:`labkit.render`).
:func:`bind_imports` answers the lesson's first question: each undefined symbol of an app,
and the kernel address the kernel's dynamic linker will bind it to. A "system call" of the
unikernel is exactly such a binding: a plain call into the kernel.

Malformed input raises :class:`~labkit.errors.ElfError` naming the file and the problem::

    >>> load_elf("/etc/hostname")            # doctest: +SKIP
    ElfError: /etc/hostname: not an ELF file (magic b'myho', want b'\\x7fELF')
"""

from __future__ import annotations

import bisect
import io
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ElfError

__all__ = [
    "ElfImage",
    "Section",
    "Segment",
    "Symbol",
    "DynamicEntry",
    "Relocation",
    "Binding",
    "load_elf",
    "bind_imports",
    "kernel_exports",
]

_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class Section:
    """One section header."""

    index: int
    name: str
    type: str
    addr: int
    offset: int
    size: int
    flags: str  # readelf's letters: W A X M S I L O G T C E
    align: int
    entsize: int


@dataclass(frozen=True)
class Segment:
    """One program header; ``sections`` names the sections it holds."""

    type: str
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    flags: str  # "r-x" style
    align: int
    sections: tuple[str, ...] = ()

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz


@dataclass(frozen=True)
class Symbol:
    """One symbol of ``.symtab`` or ``.dynsym``."""

    name: str
    value: int
    size: int
    type: str   # FUNC, OBJECT, NOTYPE, SECTION, FILE, TLS ...
    bind: str   # GLOBAL, LOCAL, WEAK
    visibility: str
    section: str  # section name, or UND / ABS / COM
    table: str  # .symtab or .dynsym

    @property
    def defined(self) -> bool:
        return self.section != "UND"


@dataclass(frozen=True)
class DynamicEntry:
    """One entry of the dynamic section (``text`` is the string for NEEDED, SONAME ...)."""

    tag: str
    value: int
    text: str | None = None


@dataclass(frozen=True)
class Relocation:
    """One relocation: patch ``offset`` (of the image) with the value of ``symbol``."""

    section: str
    offset: int
    type: str
    symbol: str | None
    addend: int | None


@dataclass(frozen=True)
class Binding:
    """An undefined app symbol and the kernel symbol it binds to (None: unresolved)."""

    name: str
    kernel_address: int | None
    kernel_symbol: Symbol | None
    weak: bool = False
    relocation_types: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        return self.kernel_address is not None


@dataclass
class ElfImage:
    """Everything labkit reads from one ELF file."""

    path: Path
    elf_class: int
    machine: str
    type: str
    entry: int
    sections: list[Section] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)
    dynsyms: list[Symbol] = field(default_factory=list)
    dynamic: list[DynamicEntry] = field(default_factory=list)
    relocations: list[Relocation] = field(default_factory=list)
    has_dwarf: bool = False
    _by_addr: list[Symbol] = field(default_factory=list, repr=False)
    _addrs: list[int] = field(default_factory=list, repr=False)

    # -- questions -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_shared_object(self) -> bool:
        return self.type == "ET_DYN"

    @property
    def needed(self) -> list[str]:
        """Libraries named by DT_NEEDED (an app of this kernel needs none)."""
        return [d.text or "" for d in self.dynamic if d.tag == "DT_NEEDED"]

    @property
    def undefined(self) -> list[Symbol]:
        """Undefined dynamic symbols: what the app expects the kernel to provide."""
        return [s for s in self.dynsyms if not s.defined and s.name]

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def symbol(self, name: str) -> Symbol | None:
        """The defined symbol ``name`` (``.symtab`` first, then ``.dynsym``)."""
        for table in (self.symbols, self.dynsyms):
            for s in table:
                if s.name == name and s.defined:
                    return s
        return None

    def address_of(self, name: str) -> int:
        sym = self.symbol(name)
        if sym is None:
            raise ElfError(self.path, f"no symbol {name!r}")
        return sym.value

    def lookup(self, addr: int, slack: int = 0x1000) -> tuple[Symbol, int] | None:
        """The symbol containing ``addr`` and the offset into it.

        A symbol without a size (an assembly label) or an address just past a symbol's end
        (padding) gets the nearest symbol below, if it is within ``slack`` bytes.
        """
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0:
            return None
        value = self._addrs[i]
        first = bisect.bisect_left(self._addrs, value)
        sym = self._by_addr[first]  # the preferred one of the symbols at this address
        if sym.size and addr >= sym.value + sym.size:
            for j in range(first - 1, max(-1, first - 64), -1):  # an enclosing symbol?
                other = self._by_addr[j]
                if other.size and other.value <= addr < other.value + other.size:
                    return other, addr - other.value
            if addr - sym.value > slack:
                return None
        return sym, addr - sym.value

    def read(self, addr: int, size: int) -> bytes:
        """Bytes of the file image at virtual address ``addr`` (from a PROGBITS section)."""
        for s in self.sections:
            if s.type != "SHT_NOBITS" and s.addr and s.addr <= addr and addr + size <= s.addr + \
                    s.size:
                with open(self.path, "rb") as f:
                    f.seek(s.offset + addr - s.addr)
                    return f.read(size)
        raise ElfError(self.path, f"no file data at address {addr:#x}")

    def _index(self) -> None:
        syms = [s for s in (self.symbols or self.dynsyms)
                if s.defined and s.type in ("FUNC", "OBJECT", "NOTYPE") and s.name
                and s.section not in ("ABS",) and not s.name.startswith("$")]
        syms.sort(key=lambda s: (s.value, s.type != "FUNC", s.name.startswith("__"),
                                 s.bind == "LOCAL", s.size == 0))
        self._by_addr = syms
        self._addrs = [s.value for s in syms]

    def _repr_html_(self) -> str:
        from .render import elf_html

        return elf_html(self)


_SHF = [(0x1, "W"), (0x2, "A"), (0x4, "X"), (0x10, "M"), (0x20, "S"), (0x40, "I"),
        (0x80, "L"), (0x100, "O"), (0x200, "G"), (0x400, "T"), (0x800, "C"),
        (0x80000000, "E")]


def _flags(value: int) -> str:
    return "".join(letter for bit, letter in _SHF if value & bit)


def _pflags(value: int) -> str:
    return ("r" if value & 4 else "-") + ("w" if value & 2 else "-") + ("x" if value & 1 else "-")


def _precheck(path: Path, data: bytes) -> None:
    if len(data) < 16:
        raise ElfError(path, f"file too short for an ELF header ({len(data)} bytes)")
    if data[:4] != _MAGIC:
        raise ElfError(path, f"not an ELF file (magic {data[:4]!r}, want {_MAGIC!r})")
    if data[4] != 2:
        what = {1: "32-bit (ELFCLASS32)"}.get(data[4], f"unknown class {data[4]}")
        raise ElfError(path, f"wrong ELF class: {what}; the lab's images are 64-bit")
    if data[5] != 1:
        raise ElfError(path, "not little-endian: the lab's images are x86-64")
    if len(data) < 64:
        raise ElfError(path, f"truncated: the 64-byte ELF header is cut at {len(data)} bytes")
    e_phoff, e_shoff = struct.unpack_from("<QQ", data, 0x20)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", data, 0x36)
    if e_phnum and e_phoff + e_phnum * e_phentsize > len(data):
        raise ElfError(path, f"truncated: program headers end at "
                             f"{e_phoff + e_phnum * e_phentsize}, the file at {len(data)}")
    if e_shnum and e_shoff + e_shnum * e_shentsize > len(data):
        raise ElfError(path, f"truncated: section headers end at "
                             f"{e_shoff + e_shnum * e_shentsize}, the file at {len(data)}")
    for i in range(e_phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, e_phoff + i * e_phentsize)
        if p_type == 1 and p_offset + p_filesz > len(data):
            raise ElfError(path, f"truncated: segment {i} (PT_LOAD) lies past the end of the "
                                 f"file ({p_offset + p_filesz} > {len(data)} bytes)")


def load_elf(path: str | os.PathLike[str], machine: str | None = "EM_X86_64") -> ElfImage:
    """Read an ELF file into an :class:`ElfImage`; ``machine=None`` accepts any machine."""
    from elftools.common.exceptions import ELFError as PyElfError
    from elftools.elf.elffile import ELFFile

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ElfError(p, f"cannot read: {exc.strerror or exc}") from exc
    _precheck(p, data)
    try:
        elf = ELFFile(io.BytesIO(data))
        image = _read(p, elf)
    except PyElfError as exc:
        raise ElfError(p, f"malformed ELF: {exc}") from exc
    except (struct.error, ValueError, KeyError, IndexError) as exc:
        raise ElfError(p, f"malformed ELF ({type(exc).__name__}: {exc})") from exc
    if machine is not None and image.machine != machine:
        raise ElfError(p, f"wrong machine {image.machine}: the lab's images are x86-64 "
                          f"({machine})")
    return image


def _read(path: Path, elf: object) -> ElfImage:
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.relocation import RelocationSection
    from elftools.elf.sections import SymbolTableSection

    header = elf.header  # type: ignore[attr-defined]
    image = ElfImage(path=path, elf_class=elf.elfclass, machine=header["e_machine"],  # type: ignore[attr-defined]
                     type=header["e_type"], entry=header["e_entry"])
    sections = list(elf.iter_sections())  # type: ignore[attr-defined]
    for i, s in enumerate(sections):
        image.sections.append(Section(i, s.name, s["sh_type"], s["sh_addr"], s["sh_offset"],
                                      s["sh_size"], _flags(s["sh_flags"]), s["sh_addralign"],
                                      s["sh_entsize"]))
    for seg in elf.iter_segments():  # type: ignore[attr-defined]
        names = tuple(s.name for s in sections if s.name and seg.section_in_segment(s))
        image.segments.append(Segment(seg["p_type"], seg["p_offset"], seg["p_vaddr"],
                                      seg["p_paddr"], seg["p_filesz"], seg["p_memsz"],
                                      _pflags(seg["p_flags"]), seg["p_align"], names))
    for s in sections:
        if isinstance(s, SymbolTableSection):
            table = image.symbols if s.name == ".symtab" else image.dynsyms
            table.extend(_symbols(s, sections))
        elif isinstance(s, DynamicSection):
            for tag in s.iter_tags():
                text = None
                for attr in ("needed", "soname", "rpath", "runpath"):
                    if hasattr(tag, attr):
                        text = getattr(tag, attr)
                image.dynamic.append(DynamicEntry(str(tag.entry.d_tag), tag.entry.d_val, text))
        elif isinstance(s, RelocationSection):
            image.relocations.extend(_relocations(s, elf))
    image.has_dwarf = image.section(".debug_info") is not None
    image._index()
    return image


def _symbols(table: object, sections: list) -> Iterable[Symbol]:
    for sym in table.iter_symbols():  # type: ignore[attr-defined]
        shndx = sym["st_shndx"]
        if shndx == "SHN_UNDEF":
            where = "UND"
        elif shndx == "SHN_ABS":
            where = "ABS"
        elif shndx == "SHN_COMMON":
            where = "COM"
        elif isinstance(shndx, int) and shndx < len(sections):
            where = sections[shndx].name
        else:
            where = str(shndx)
        info = sym["st_info"]
        yield Symbol(sym.name, sym["st_value"], sym["st_size"], info["type"].replace("STT_", ""),
                     info["bind"].replace("STB_", ""),
                     sym["st_other"]["visibility"].replace("STV_", ""), where,
                     table.name)  # type: ignore[attr-defined]


def _relocations(section: object, elf: object) -> Iterable[Relocation]:
    from elftools.elf.descriptions import describe_reloc_type

    symtab = None
    link = section["sh_link"]  # type: ignore[index]
    if link:
        symtab = elf.get_section(link)  # type: ignore[attr-defined]
    for rel in section.iter_relocations():  # type: ignore[attr-defined]
        name = None
        idx = rel["r_info_sym"]
        if symtab is not None and idx:
            name = symtab.get_symbol(idx).name or None
        addend = rel["r_addend"] if rel.is_RELA() else None
        yield Relocation(section.name, rel["r_offset"],  # type: ignore[attr-defined]
                         describe_reloc_type(rel["r_info_type"], elf), name, addend)


# ------------------------------------------------------------------------------ binding
def kernel_exports(kernel: ElfImage) -> dict[str, int]:
    """Name -> address of every symbol the kernel exports to apps.

    Read from the kernel's own export table (``kexports``, ``kexports_count``: what its
    dynamic linker searches) when the kernel has one, else every global defined function and
    object of its symbol table.
    """
    table = kernel.symbol("kexports")
    count = kernel.symbol("kexports_count")
    if table is not None and count is not None:
        try:
            n = struct.unpack("<I", kernel.read(count.value, 4))[0]
            raw = kernel.read(table.value, 16 * n)
            exports = {}
            for i in range(n):
                name_ptr, addr = struct.unpack_from("<QQ", raw, 16 * i)
                exports[_cstring(kernel, name_ptr)] = addr
            return exports
        except (ElfError, struct.error, UnicodeDecodeError):
            pass
    return {s.name: s.value for s in kernel.symbols
            if s.defined and s.bind in ("GLOBAL", "WEAK") and s.type in ("FUNC", "OBJECT")}


def _cstring(image: ElfImage, addr: int, limit: int = 256) -> str:
    raw = image.read(addr, 1)
    out = bytearray()
    while raw and raw != b"\0" and len(out) < limit:
        out += raw
        addr += 1
        raw = image.read(addr, 1)
    return out.decode()


def bind_imports(app: ElfImage, kernel: ElfImage) -> list[Binding]:
    """For each undefined symbol of ``app``, the kernel symbol (and address) it binds to."""
    exports = kernel_exports(kernel)
    relocs: dict[str, list[str]] = {}
    for r in app.relocations:
        if r.symbol:
            relocs.setdefault(r.symbol, []).append(r.type)
    out = []
    for sym in sorted(app.undefined, key=lambda s: s.name):
        addr = exports.get(sym.name)
        ksym = kernel.symbol(sym.name) if addr is not None else None
        out.append(Binding(sym.name, addr, ksym, sym.bind == "WEAK",
                           tuple(sorted(set(relocs.get(sym.name, []))))))
    return out

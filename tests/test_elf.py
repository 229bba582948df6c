# SPDX-License-Identifier: MIT
"""ELF inspection cross-checked against binutils (readelf, nm), on a host-built shared object
and, when built, on the lab's real images; malformed files raise ElfError naming the problem."""

from __future__ import annotations

import re
import subprocess

import pytest

from labkit import paths
from labkit.elf import bind_imports, kernel_exports, load_elf
from labkit.errors import ElfError
from labkit.render import bindings_html, elf_html, elf_text


def readelf(*args: str) -> str:
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True,
                          check=True).stdout


def nm(*args: str) -> str:
    return subprocess.run(["nm", *args], capture_output=True, text=True, check=True).stdout


def check_against_binutils(path) -> None:
    image = load_elf(path)
    # sections: name, type, address, offset, size
    rows = re.findall(r"^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+"
                      r"([0-9a-f]+)", readelf("-S", str(path)), re.M)
    rows = [r for r in rows if r[0] != "0"]  # the NULL section has no name to match
    ours = {s.index: s for s in image.sections}
    assert len(rows) == len(image.sections) - 1
    for idx, name, typ, addr, off, size in rows:
        s = ours[int(idx)]
        assert (s.name, s.addr, s.offset, s.size) == (name, int(addr, 16), int(off, 16),
                                                      int(size, 16))
        assert s.type.replace("SHT_", "") == typ
    # segments: type, offset, vaddr, filesz, memsz
    segs = re.findall(r"^\s+([A-Z_]+|GNU_\w+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)"
                      r"\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)", readelf("-l", str(path)), re.M)
    assert [(s.type.replace("PT_", ""), s.offset, s.vaddr, s.filesz, s.memsz)
            for s in image.segments] == [(t, int(o, 16), int(v, 16), int(f, 16), int(m, 16))
                                         for t, o, v, _p, f, m in segs]
    # defined symbols and their values, as nm sees them
    theirs = set()
    for line in nm("--defined-only", str(path)).splitlines():
        value, kind, name = line.split(maxsplit=2)
        if kind in "TtDdBbRr":
            theirs.add((name, int(value, 16)))
    ours_syms = {(s.name, s.value) for s in image.symbols + image.dynsyms if s.defined}
    assert theirs and theirs <= ours_syms, sorted(theirs - ours_syms)[:5]
    # undefined dynamic symbols
    if image.dynsyms:
        undef = {line.split()[-1] for line in nm("-D", "--undefined-only", str(path)).splitlines()}
        assert {s.name for s in image.undefined} == undef
    # relocations: offsets and types
    rel_rows = re.findall(r"^([0-9a-f]{8,16})\s+[0-9a-f]+\s+(R_X86_64_\w+)",
                          readelf("-r", str(path)), re.M)
    assert sorted((int(o, 16), t) for o, t in rel_rows) == sorted(
        (r.offset, r.type) for r in image.relocations)


def test_host_shared_object_matches_binutils(host_so):
    check_against_binutils(host_so)
    image = load_elf(host_so)
    assert image.is_shared_object and image.has_dwarf
    assert {s.name for s in image.undefined} == {"puts", "write"}
    sym, off = image.lookup(image.address_of("twice") + 2)
    assert sym.name == "twice" and off == 2
    text = elf_text(image)
    assert "program headers" in text and "twice" in text
    assert "<table>" in elf_html(image) and image._repr_html_()


def test_bindings_against_a_fake_kernel(host_so, tmp_path):
    kernel_c = tmp_path / "k.c"
    kernel_c.write_text("int puts(const char *s) { return 0; }\nint helper_only;\n")
    kernel = tmp_path / "k.elf"
    subprocess.run(["gcc", "-nostdlib", "-static", "-Wl,-e,puts", "-o", str(kernel),
                    str(kernel_c)], check=True)
    k = load_elf(kernel)
    bindings = {b.name: b for b in bind_imports(load_elf(host_so), k)}
    assert bindings["puts"].resolved and bindings["puts"].kernel_address == k.address_of("puts")
    assert not bindings["write"].resolved
    assert "R_X86_64_JUMP_SLOT" in bindings["puts"].relocation_types
    assert "UNRESOLVED" in bindings_html(list(bindings.values()))


@pytest.mark.parametrize("data,problem", [
    (b"", "too short"),
    (b"MZ\x90\x00" + b"\0" * 100, "not an ELF file"),
    (b"\x7fELF\x01\x01\x01" + b"\0" * 100, "wrong ELF class: 32-bit"),
    (b"\x7fELF\x02\x02\x01" + b"\0" * 100, "little-endian"),
    (b"\x7fELF\x02\x01\x01" + b"\0" * 20, "truncated"),
])
def test_malformed_input_names_file_and_problem(tmp_path, data, problem):
    bad = tmp_path / "bad.so"
    bad.write_bytes(data)
    with pytest.raises(ElfError, match=problem) as info:
        load_elf(bad)
    assert info.value.path == str(bad) and str(bad) in str(info.value)


def test_truncated_and_wrong_machine(host_so, tmp_path):
    data = host_so.read_bytes()
    cut = tmp_path / "cut.so"
    cut.write_bytes(data[: len(data) * 2 // 5])
    with pytest.raises(ElfError, match="truncated"):
        load_elf(cut)
    arm = tmp_path / "arm.so"
    arm.write_bytes(data[:18] + (183).to_bytes(2, "little") + data[20:])
    with pytest.raises(ElfError, match="wrong machine EM_AARCH64"):
        load_elf(arm)
    assert load_elf(arm, machine=None).machine == "EM_AARCH64"
    with pytest.raises(ElfError, match="cannot read"):
        load_elf(tmp_path / "missing.so")


# ----------------------------------------------------------------------------- real images
@pytest.mark.boot
@pytest.mark.parametrize("name", ["kernel.elf", "apps/hello.so", "apps/crash.so",
                                  "apps/threads.so"])
def test_images_match_binutils(name):
    check_against_binutils(paths.images_dir() / name)


@pytest.mark.boot
def test_kernel_exports_bind_every_hello_import():
    kernel = load_elf(paths.images_dir() / "kernel.elf")
    exports = kernel_exports(kernel)
    assert kernel.symbol("kexports") is not None, "the kernel's export table is gone"
    for name, addr in exports.items():  # each export is a real kernel symbol at that address
        assert kernel.address_of(name) == addr
    bindings = bind_imports(load_elf(paths.app_object("hello")), kernel)
    assert bindings and all(b.resolved for b in bindings)
    assert {"printf", "puts"} <= {b.name for b in bindings}
    unresolved = bind_imports(load_elf(paths.app_object("unresolved")), kernel)
    assert [b.name for b in unresolved if not b.resolved] == ["no_such_kernel_function"]


@pytest.mark.boot
@pytest.mark.parametrize("app,problem", [("wrongclass", "wrong ELF class"),
                                         ("wrongmachine", "wrong machine"),
                                         ("truncated", "truncated")])
def test_malformed_images(app, problem):
    with pytest.raises(ElfError, match=problem):
        load_elf(paths.app_object(app))

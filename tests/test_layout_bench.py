# SPDX-License-Identifier: MIT
"""The address-space diagram and the bench figures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from labkit.bench import Figure, format_table, icount_figures
from labkit.elf import load_elf
from labkit.events import Layout, SegmentEvent, ThreadEvent
from labkit.layout import AddressSpace
from labkit.memlayout import parse_defines

CONSTANTS = parse_defines("""
#define PAGE_SIZE 4096UL
#define KERNEL_PHYS_BASE 0x100000UL
#define DIRECT_MAP_END 0x100000000UL
#define MMIO_HOLE_START 0xc0000000UL
#define LAPIC_BASE 0xfee00000UL
#define APP_AREA_START 0x10000000000UL  // 1 TiB
#define APP_AREA_SIZE (1UL << 30)
""")

EVENTS = [
    Layout(128 << 20, 0x100000, 0x140000, 0x120000, 0x140000, 0x8000000, 1 << 40),
    SegmentEvent("hello", (1 << 40) + 0x1000, (1 << 40) + 0x1134, "r-x", 0x1000),
    ThreadEvent(1, "main", 0x10010000000, 0x10010080000),
]


def test_address_space_from_events_and_constants():
    space = AddressSpace.build(None, EVENTS, CONSTANTS)
    names = [r.name for r in space.regions]
    assert names[0].startswith("page 0") and any("hello r-x" in n for n in names)
    assert [r.kind for r in space.find((1 << 40) + 0x1010)] == ["app"]
    assert [r.name for r in space.find(0xfee00010)] == ["LAPIC"]
    text = space.text()
    assert text.splitlines()[0].startswith("0x0000010010000000")  # highest first
    dot = space.to_dot()
    assert dot.startswith("digraph address_space") and "hello r-x" in dot
    assert "not shown" in dot


def test_address_space_before_the_app_is_loaded(host_so):
    space = AddressSpace.build(load_elf(host_so), [], CONSTANTS)
    assert any(r.name.startswith("APP_AREA") for r in space.regions)
    assert any(r.source == "lib.so" for r in space.regions)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot not installed")
def test_render_svg():
    svg = AddressSpace.build(None, EVENTS, CONSTANTS).render("svg")
    assert b"<svg" in svg and b"LAPIC" in svg


def test_icount_figures_and_table():
    stamps = {"entry": 100, "paging": 150, "heap": 200, "devices": 300, "app_loaded": 310,
              "app_main": 400, "exit": 450}
    figs = icount_figures(stamps)
    assert figs[0] == Figure("entry -> app_main", 300, "instructions", "icount",
                             "kernel entry to the app's main")
    assert sum(f.value for f in figs[1:6]) == 300
    table = format_table(figs + [Figure("x", 1.5, "ms", "wall")])
    assert "icount" in table and "1.50" in table


@pytest.mark.boot
def test_bench_cli_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "labkit", "bench", "--quick", "--no-linux",
                           "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    figures = {f["name"]: f for f in json.loads(out.read_text())["figures"]}
    assert figures["entry -> app_main"]["mode"] == "icount"
    assert figures["getpid() per call"]["value"] > 0
    assert figures["QEMU start -> app_main / floor"]["mode"] == "wall"

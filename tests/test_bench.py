# SPDX-License-Identifier: MIT
"""labkit bench: the record, the table and plot, the bisection, and a quick real run whose JSON
has the schema documented in docs/benchmarks.md."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.bench import (
    SCHEMA,
    BenchResult,
    Comparison,
    Figure,
    Skipped,
    format_result,
    load_result,
    min_memory,
    plot_result,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
TOP_KEYS = {"schema", "command", "started", "duration_s", "host", "qemu", "settings", "guests",
            "comparisons", "figures", "skipped", "raw"}
COMPARISON_KEYS = {"key", "name", "group", "unit", "mode", "unikernel", "linux", "ratio",
                   "winner", "better", "note", "unikernel_range", "linux_range"}
FIGURE_KEYS = {"name", "value", "unit", "mode", "note", "guest", "group"}
MODES = {"size", "icount", "wall", "boot", "host"}


def sample() -> BenchResult:
    return BenchResult(
        info={"command": "labkit bench", "host": {"cpus": 2, "cpu": "x"},
              "qemu": {"version": "7.2"}, "settings": {"accel": "tcg", "machine": "pc",
                                                       "memory": "128M"},
              "guests": {"linux": {"version": "6.1", "source": "test"}}, "duration_s": 1.0},
        figures=[Figure("getpid() per call", 5, "instructions", "icount", "", "unikernel",
                        "syscall")],
        comparisons=[
            Comparison("getpid_instructions", "getpid() per call", "syscall", "instructions",
                       "icount", 5, 369),
            Comparison("http_rps_classic", "HTTP requests/s", "net", "req/s", "wall", 6000, 3000,
                       better="higher"),
            Comparison("udp_rtt_classic", "UDP RTT", "net", "us", "wall", 100, None)],
        skipped=[Skipped("balloon", "not available yet")])


def test_comparison_ratio_and_winner():
    r = sample()
    getpid = r.comparison("getpid_instructions")
    assert getpid.ratio == pytest.approx(73.8) and getpid.winner == "unikernel"
    # a wall-clock median alone names no winner; ranges that do not overlap do
    assert r.comparison("http_rps_classic").winner == "no clear difference"
    apart = Comparison("x", "x", "net", "req/s", "wall", 1200, 450, better="higher",
                       unikernel_range=(1100, 1300), linux_range=(400, 500))
    assert apart.winner == "unikernel" and apart.spread("unikernel") == "1,100-1,200-1,300"
    overlap = dataclasses.replace(apart, linux_range=(400, 1150))
    assert overlap.winner == "no clear difference"
    assert Comparison("x", "x", "g", "x", "wall", 1.0, 1.01, unikernel_range=(0.9, 1.1),
                      linux_range=(0.95, 1.2)).winner == "no clear difference"
    assert r.comparison("udp_rtt_classic").ratio is None
    assert Comparison("x", "x", "g", "u", "icount", 100, 102).winner == "tie"
    assert Comparison("x", "x", "g", "u", "icount", 100, 50).winner == "linux"


def test_json_round_trip_and_table(tmp_path):
    r = sample()
    path = tmp_path / "b.json"
    path.write_text(r.to_json())
    back = load_result(path)
    assert back.as_dict() == r.as_dict()
    table = format_result(back)
    assert "73.8x" in table and "unikernel" in table
    # a wall-clock comparison prints as a ratio to the unikernel, never in seconds
    line = next(ln for ln in table.splitlines() if "HTTP requests/s" in ln)
    assert "x uni" in line and "6,000" not in line
    assert "balloon: not available yet" in table
    with pytest.raises(Exception, match="schema"):
        BenchResult.from_dict({"schema": "other"})


def test_plot_writes_a_png(tmp_path):
    out = tmp_path / "bench.png"
    plot_result(sample(), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_min_memory_bisects():
    seen = []

    async def probe(mib: int) -> bool:
        seen.append(mib)
        return mib >= 73

    found, probes = await min_memory(probe)
    assert found == 73 and probes[0] == (512, True) and len(seen) <= 10


def test_docs_describe_the_schema():
    text = DOC.read_text()
    assert SCHEMA in text
    for key in TOP_KEYS | COMPARISON_KEYS:
        assert f"`{key}`" in text, f"docs/benchmarks.md does not describe `{key}`"
    assert re.search(r"labkit bench --json \S+ --plot docs/benchmarks.png", text)


@pytest.mark.boot
def test_quick_bench_json_has_the_documented_schema(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "labkit", "bench", "--quick", "--silent",
                           "--brief", "--only", "boot", "--only", "syscall", "--json", str(out)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads(out.read_text())
    assert set(record) == TOP_KEYS and record["schema"] == SCHEMA
    assert record["settings"]["quick"] is True and record["settings"]["accel"] == "tcg"
    assert record["qemu"]["version"] != "unknown"
    for c in record["comparisons"]:
        assert set(c) == COMPARISON_KEYS and c["mode"] in MODES
    for f in record["figures"]:
        assert set(f) == FIGURE_KEYS and f["mode"] in MODES and f["guest"]
    keys = {c["key"]: c for c in record["comparisons"]}
    assert {"boot_instructions", "getpid_instructions", "write_instructions",
            "boot_wall_ratio"} <= set(keys)
    assert keys["getpid_instructions"]["unikernel"] > 0
    if record["guests"]["linux"].get("version"):       # a Linux guest was at hand
        assert keys["getpid_instructions"]["ratio"] > 10
        assert keys["boot_instructions"]["winner"] == "unikernel"
    else:
        assert any("Linux" in s["what"] for s in record["skipped"])
    # wall-clock figures are ratios; their seconds only in raw
    assert all(f["unit"] == "x" for f in record["figures"] if f["mode"] == "wall")
    assert record["raw"]["floor_entry_ms"]
    assert "getpid() per call" in proc.stdout

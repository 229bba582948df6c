# SPDX-License-Identifier: MIT
"""The kernel's promises (kernel/README.md), checked by booting the real images under TCG:
exit statuses, threads, clocks, panics, the dynamic linker's refusals and the COM2 channel."""

from __future__ import annotations

import re
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from labkit import Exited, LoadFailed, Panicked, compile_app, paths, run
from labkit.events import Milestone, SegmentEvent

pytestmark = pytest.mark.boot

MILESTONES = ["entry", "paging", "heap", "devices", "app_loaded", "app_main"]


async def test_hello_prints_and_exits_zero():
    m = await run("hello")
    assert isinstance(m.outcome, Exited) and m.outcome.app_status == 0
    assert m.outcome.qemu_status == 1
    assert "Hello from the unikernel!" in m.console.text
    assert 'argv[0] = "hello"' in m.console.text
    assert "pi = 3.14159" in m.console.text            # printf of a double: SSE state works


@pytest.mark.parametrize("status", [3, 63, 64, 200])
async def test_exit_status_passes_through(status):
    m = await run("hello", str(status))
    assert isinstance(m.outcome, Exited)
    assert m.outcome.app_status == status               # exact, from the COM2 exit event
    assert m.outcome.qemu_status == ((status & 63) << 1) | 1 < 128


@pytest.mark.parametrize("machine", ["pc", "q35", "microvm"])
async def test_boots_on_every_machine_type(machine):
    m = await run("hello", "5", machine=machine)
    assert isinstance(m.outcome, Exited) and m.outcome.app_status == 5


async def test_threads_count_right():
    m = await run("threads", "4", "20000")
    assert m.outcome.status == 0, m.console.text
    assert "counter = 80000 (expected 80000)" in m.console.text
    assert "SUCCESS" in m.console.text


async def test_libc_self_test():
    m = await run("libc_test", timeout=60)
    assert m.outcome.status == 0, m.console.text
    assert "SUCCESS" in m.console.text


async def test_sleep_is_accurate(tmp_path):
    # libc_test measures a 20 ms nanosleep; here a longer one, timed by the kernel's own clock
    # and by the TSC stamps of the COM2 events around it.
    source = tmp_path / "sleeper.c"
    source.write_text(
        "#include <stdio.h>\n#include <time.h>\n#include <unistd.h>\n"
        "static long long ns(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);"
        "return t.tv_sec*1000000000LL+t.tv_nsec;}\n"
        "int main(void){long long a=ns();usleep(300000);long long b=ns();"
        "struct timespec r={0,150000000};nanosleep(&r,0);long long c=ns();"
        "printf(\"usleep_ns %lld\\nnanosleep_ns %lld\\n\",b-a,c-b);return 0;}\n")
    app = compile_app(source, out_dir=tmp_path)
    m = await run(app.name, initrd=app.archive)
    assert m.outcome.status == 0, m.console.text
    usleep = int(re.search(r"usleep_ns (\d+)", m.console.text).group(1))
    nano = int(re.search(r"nanosleep_ns (\d+)", m.console.text).group(1))
    assert 300e6 <= usleep <= 300e6 * 1.05
    assert 150e6 <= nano <= 150e6 * 1.05


async def test_crash_panics_naming_the_function():
    m = await run("crash")
    assert isinstance(m.outcome, Panicked)
    assert m.outcome.qemu_status == 255
    panic = m.events.panic
    assert panic.vector == 14 and panic.cpl == 0
    assert panic.symbol.startswith("scribble+")
    assert [f.symbol.split("+")[0] for f in panic.frames[:2]] == ["scribble", "main"]
    assert "KERNEL PANIC: page fault (#PF)" in m.console.text
    assert "scribble+0x" in m.console.text and "puts+0x0 [kernel]" in m.console.text


@pytest.mark.parametrize("app, kind, status, message", [
    ("unresolved", "unresolved_symbol", 131, "unresolved symbol 'no_such_kernel_function'"),
    ("wrongclass", "bad_elf", 133, "wrong ELF class 1"),
    ("wrongmachine", "bad_elf", 133, "wrong machine 183"),
    ("truncated", "truncated", 135, "truncated"),
])
async def test_malformed_apps_are_refused_by_name(app, kind, status, message):
    m = await run(app)
    assert isinstance(m.outcome, LoadFailed)
    assert m.outcome.qemu_status == status
    assert m.events.load_error.error == kind
    assert message in m.console.text and f"{app}.so" in m.console.text


async def test_missing_app_is_reported():
    m = await run("hello", initrd=paths.images_dir() / "threads.cpio")
    assert isinstance(m.outcome, LoadFailed) and m.outcome.qemu_status == 129
    assert "hello.so: not found in the boot archive" in m.console.text


async def test_fork_fails_with_enosys():
    m = await run("nofork")
    assert m.outcome.status == 0
    assert "fork: -1 errno=38 (ENOSYS)" in m.console.text


async def test_app_runs_in_ring_zero():
    m = await run("privileged")
    assert m.outcome.status == 0, m.console.text
    assert "CS & 3 = 0" in m.console.text and "SUCCESS" in m.console.text


async def test_mmu_dirty_bits_match_the_card_table():
    m = await run("mmu_gc")
    assert m.outcome.status == 0, m.console.text
    assert "pages_that_differ 0" in m.console.text
    dirty = int(re.search(r"dirty_mmu (\d+)", m.console.text).group(1))
    assert 0 < dirty < 256                              # some pages written, not all


async def test_milestones_arrive_in_order():
    m = await run("hello")
    names = [e.name for e in m.events.of_type(Milestone)]
    assert names == MILESTONES
    stamps = [m.events.milestones[n].tsc for n in MILESTONES]
    assert stamps == sorted(stamps)


async def test_app_is_mapped_where_com2_says():
    m = await run("hello")
    base = m.events.app_base
    assert base == 0x100_0000_0000
    with open(paths.images_dir() / "apps" / "hello.so", "rb") as f:
        loads = [s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
        expected = [(base + s["p_vaddr"], base + s["p_vaddr"] + s["p_memsz"]) for s in loads]
    segments = [(s.start, s.end) for s in m.events.of_type(SegmentEvent)]
    assert segments == expected
    # the loader finds main() by name in the dynamic symbol table: it must be exported there
    so = paths.images_dir() / "apps" / "hello.so"
    out = subprocess.run(["nm", "-D", "--defined-only", str(so)],
                         capture_output=True, text=True, check=True).stdout
    assert re.search(r"^[0-9a-f]+ T main$", out, re.M)

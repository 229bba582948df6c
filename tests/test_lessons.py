# SPDX-License-Identifier: MIT
"""labkit.lessons and labkit.exercises: the lesson logic, and every exercise check both
failing on a wrong answer and passing on the solution. Checks that compile and boot a
student's C file boot the real kernel (marked ``boot``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from labkit import paths
from labkit.events import ExitEvent, Layout, Milestone, SegmentEvent, parse_event
from labkit.exercises import CHECKS, CheckResult
from labkit.exercises._run import name_values
from labkit.lessons import building, linux_guest, timeline

boot = pytest.mark.boot


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


# ------------------------------------------------------------------------ the check protocol
def test_every_listed_check_exists_and_is_documented():
    import importlib

    for lesson, names in CHECKS.items():
        module = importlib.import_module(f"labkit.exercises.{lesson}")
        for name in names:
            fn = getattr(module, f"check_{name}")
            assert fn.__doc__, f"{lesson}.check_{name} has no docstring"


def test_exercises_match_the_checks_and_the_notebooks():
    import json

    from labkit.exercises import EXERCISES

    listed = {(e.lesson, e.name) for e in EXERCISES}
    assert listed == {(lesson, n) for lesson, names in CHECKS.items() for n in names}
    for e in EXERCISES:
        assert e.check().__name__ == f"check_{e.name}"
        nb = json.loads((paths.repo_root() / "notebooks" / e.notebook).read_text())
        source = "\n".join("".join(c["source"]) for c in nb["cells"])
        call = f"{e.lesson}.check_{e.name}("
        assert call in source, f"{e.notebook} never calls {call}"
        for name in e.inputs:
            assert name.strip("'") in source, f"{e.notebook} has no {name}"


def test_check_result_reads_as_pass_or_fail():
    ok = CheckResult("x", 2, 2, "fine")
    bad = CheckResult("x", 1, 2, "half")
    assert ok.passed and not bad.passed
    assert repr(ok).startswith("[PASS]") and repr(bad).startswith("[FAIL]")
    assert "not yet" in bad._repr_html_()


def test_name_values_reads_ints_floats_and_hex():
    text = "iterations 100\nloop 4.01\ncr4 0x620\nnot a value line\nneg -3\n"
    assert name_values(text) == {"iterations": 100, "loop": 4.01, "cr4": 0x620, "neg": -3}


# ------------------------------------------------------------------------ lesson 00 logic
def test_parse_step_reads_the_makefile_progress_lines():
    assert building.parse_step("  CC      core/main.c\n") == building.BuildStep("CC", "core/main.c")
    step = building.parse_step("  LD      build/kernel.pass1.elf (first pass, for kallsyms)")
    assert step.tool == "LD" and step.note == "(first pass, for kallsyms)"
    assert building.parse_step("make: Entering directory '/x'") is None
    assert building.parse_step("  XX      nothing") is None


def _events():
    lines = [
        '{"ev":"milestone","name":"entry","tsc":1000}',
        '{"ev":"milestone","name":"paging","tsc":1500}',
        '{"ev":"milestone","name":"heap","tsc":1600}',
        '{"ev":"milestone","name":"devices","tsc":2600}',
        '{"ev":"milestone","name":"app_loaded","tsc":2700,"app":"hello","base":"0x10000000000"}',
        '{"ev":"milestone","name":"app_main","tsc":2750}',
        '{"ev":"exit","status":0,"tsc":2800}',
    ]
    return [parse_event(x) for x in lines]


def test_boot_phases_from_milestones():
    phases = timeline.boot_phases(_events())
    assert [p.name for p in phases] == ["firmware", "paging", "heap", "devices",
                                        "dynamic linker", "main thread", "the app"]
    assert [p.length for p in phases] == [1000, 500, 100, 1000, 100, 50, 50]
    prof = timeline.BootProfile("pc", True, tuple(phases))
    assert prof.kernel_instructions == 1750 and prof.total == 2800
    assert timeline.longest_phase(prof).name == "devices"
    assert timeline.longest_phase(prof, kernel_only=False).name in ("firmware", "devices")


def test_boot_phases_ignore_other_events():
    events = [Layout(1, 2, 3, 4, 5, 6, 7), SegmentEvent("a", 1, 2, "r-x", 0),
              Milestone("entry", 10), ExitEvent(0, None)]
    assert [p.milestone for p in timeline.boot_phases(events)] == ["entry"]


def test_events_table_shows_addresses_in_hex_and_counts_in_decimal():
    from labkit.widgets.tables import events_table

    table = str(events_table("boot", [
        Milestone("entry", 217779838),
        SegmentEvent("hello", 0x10000000000, 0x10000000300, "r--", 4096)]))
    assert "tsc=217,779,838" in table and "app=None" not in table
    assert "start=0x10000000000" in table and "end=0x10000000300" in table
    assert "file_offset=0x1000" in table


def test_linux_guest_degrades_to_cited_figures(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_LINUX_KERNEL", str(tmp_path / "no-such-bzImage"))
    assert linux_guest.find_linux_guest() is None
    assert linux_guest.linux_note(None).startswith("no Linux guest image")
    note = linux_guest.skip_note("getppid", "getppid_instructions")
    assert note.startswith("no Linux guest image") and "338" in note
    from labkit.lessons.anatomy import linux_sizes

    assert all(r.how == "cited" for r in linux_sizes(None))


def test_linux_sizes_are_measured_when_a_guest_is_given(tmp_path):
    from types import SimpleNamespace

    from labkit.lessons.anatomy import linux_sizes

    kernel, initramfs = tmp_path / "vmlinuz-x", tmp_path / "initramfs.cpio.gz"
    kernel.write_bytes(b"x" * 1000)
    initramfs.write_bytes(b"y" * 10)
    guest = SimpleNamespace(kernel=SimpleNamespace(path=kernel, source="test"),
                            initramfs=initramfs)
    rows = linux_sizes(guest)
    assert [(r.how, r.bytes) for r in rows] == [("measured", 1000), ("measured", 10)]


@boot
def test_unikernel_sizes_are_measured_from_the_images():
    from labkit.lessons.anatomy import unikernel_sizes

    rows = unikernel_sizes("hello")
    assert all(r.how == "measured" and r.bytes > 0 for r in rows)
    by = {r.part: r.bytes for r in rows}
    assert by["kernel code and read-only data"] < by["kernel in memory (PT_LOAD: code, data, bss)"]
    assert by["app hello.so"] == paths.app_object("hello").stat().st_size


@boot
def test_one_definition_of_image_size_for_the_lesson_and_the_bench(tmp_path):
    """Lesson 00's "how much smaller" and labkit bench's size figure are one number."""
    from types import SimpleNamespace

    from labkit import bench
    from labkit.lessons.anatomy import bootable_images, stripped_size

    kernel = paths.images_dir() / "kernel.elf"
    assert 0 < stripped_size(kernel) < kernel.stat().st_size      # no DWARF, no symbols
    uni, cited = bootable_images("hello")
    assert uni.bytes == stripped_size(kernel) + paths.app_archive("hello").stat().st_size
    assert cited.how == "cited" and "alone" in cited.part
    _, (comparison,) = bench.size_figures(SimpleNamespace(have_linux=False), "hello")
    assert comparison.unikernel == uni.bytes
    bz, initrd = tmp_path / "vmlinuz-x", tmp_path / "initramfs.cpio.gz"
    bz.write_bytes(b"x" * 1000)
    initrd.write_bytes(b"y" * 10)
    guest = SimpleNamespace(kernel=SimpleNamespace(path=bz, source="test"), initramfs=initrd)
    assert bootable_images("hello", guest=guest)[1].bytes == 1010


@boot
def test_scratch_build_reports_every_step(tmp_path):
    seen = []
    report = building.scratch_build(tmp_path, on_step=lambda s, n, total: seen.append((n, total)),
                                    images=["kernel.elf", "hello.cpio"])
    assert report.kernel.is_file() and report.archive("hello").is_file()
    assert report.count("CC") > 20 and report.count("LD") >= 2
    assert seen[-1][0] == len(report.steps) and seen[-1][1] >= len(report.steps) - 2


@boot
def test_profile_boot_is_exact_under_icount():
    a = timeline.profile_boot("hello", "microvm")
    b = timeline.profile_boot("hello", "microvm")
    assert [p.length for p in a.phases[:-1]] == [p.length for p in b.phases[:-1]]
    assert 50_000 < a.kernel_instructions < 2_000_000


# ------------------------------------------------------------------------ lesson 00 checks
GREET = """
    #include <stdio.h>
    int main(int argc, char **argv)
    {
        (void)argv;
        printf("Hello, Ada!\\n");
        return argc - 1;
    }
"""


@boot
def test_check_first_app(tmp_path):
    from labkit.exercises import lesson00

    good = lesson00.check_first_app(write(tmp_path, "greet.c", GREET))
    assert good.passed, good
    bad = lesson00.check_first_app(write(tmp_path, "bad.c", GREET.replace("argc - 1", "0")))
    assert not bad.passed and bad.points == 1, bad
    broken = lesson00.check_first_app(write(tmp_path, "broken.c", "int main( {"))
    assert not broken.passed and "compile" in broken.message
    missing = lesson00.check_first_app(tmp_path / "nope.c")
    assert not missing.passed and "no such file" in missing.message


@boot
def test_check_longest_phase():
    from labkit.exercises import lesson00

    assert lesson00.check_longest_phase("devices").passed
    assert not lesson00.check_longest_phase("heap").passed
    assert not lesson00.check_longest_phase("firmware").passed
    unanswered = lesson00.check_longest_phase(None)
    assert not unanswered.passed and "a string" in unanswered.message


@boot
def test_check_firmware_share():
    from labkit.exercises import lesson00

    prof = timeline.profile_boot("hello", "pc")
    share = prof.phase("firmware").length / prof.phase("app_main").end
    assert lesson00.check_firmware_share(share).passed
    assert not lesson00.check_firmware_share(share - 0.2).passed
    assert not lesson00.check_firmware_share(share * 100).passed
    assert not lesson00.check_firmware_share("most").passed


# ------------------------------------------------------------------------ lesson 01 logic
SYSCALL_BENCH_OUTPUT = """[kernel] pci 00:00.0 8086:1237 bridge
iterations 1000
loop_ticks_per_iter 4.01
getpid_ticks_per_call 5.00
write_ticks_per_call 28.00
"""


def test_parse_syscall_bench():
    from labkit.lessons.syscalls import parse_syscall_bench

    costs = parse_syscall_bench(SYSCALL_BENCH_OUTPUT)
    assert (costs.iterations, costs.loop, costs.getpid, costs.write) == (1000, 4.01, 5.0, 28.0)
    with pytest.raises(ValueError, match="write_ticks_per_call"):
        parse_syscall_bench("iterations 3\nloop_ticks_per_iter 1\ngetpid_ticks_per_call 2\n")


def test_source_context_marks_the_line():
    from labkit.lessons.stepping import source_context, source_line

    assert "elf_load_app" in source_line("dynlink.c", 1) or source_line("dynlink.c", 1)
    text = source_context("core/dynlink.c", 5, before=2)
    assert text.splitlines()[-1].startswith(">    5 |")
    assert source_context(None, None) == ""


@boot
def test_import_rows_predict_the_got_and_the_kernel_targets():
    from labkit.lessons.linking import app_base_default, got_slot, import_rows, plt_calls

    kernel = __import__("labkit.elf", fromlist=["load_elf"]).load_elf(paths.kernel_image())
    rows = {r.name: r for r in import_rows("syscall_bench", kernel)}
    assert rows["write"].kernel_address == kernel.address_of("write")
    assert rows["write"].relocation == "R_X86_64_JUMP_SLOT"
    assert rows["stderr"].relocation == "R_X86_64_GLOB_DAT"
    assert rows["write"].got_address > app_base_default() > rows["write"].file_value
    assert got_slot("syscall_bench", "getpid") == rows["getpid"].got_address
    calls = plt_calls("syscall_bench", "time_getpid")
    assert [c.target for c in calls] == ["getpid"]
    with pytest.raises(KeyError):
        got_slot("syscall_bench", "no_such_symbol")


@boot
def test_disassembly_shows_a_call_here_and_a_trap_on_linux():
    from labkit.lessons.syscalls import disassemble_function, linux_binary

    uk = disassemble_function(paths.kernel_image(), "getpid")
    assert not any("syscall" in line for line in uk) and uk[-1].endswith("ret")
    binary = linux_binary("syscall_bench")
    if binary.is_file():
        assert any(line.endswith("syscall") for line in disassemble_function(binary, "getpid"))


@boot
def test_getpid_is_a_handful_of_instructions():
    from labkit.lessons.syscalls import measure_call_costs

    costs = measure_call_costs(2000)
    assert 1 <= costs.getpid <= 20 and costs.loop > 0 and costs.write > costs.getpid


# ------------------------------------------------------------------------ lesson 01 checks
@boot
def test_check_binding():
    from labkit.elf import load_elf
    from labkit.exercises import lesson01
    from labkit.lessons.linking import got_slot

    kernel = load_elf(paths.kernel_image())
    slot = got_slot("hello", "printf")
    result = lesson01.check_binding("printf", slot)
    assert result.passed and f"{kernel.address_of('printf'):#x}" in result.message, result
    assert lesson01.check_binding("printf", hex(slot)).passed
    value = lesson01.check_binding("printf", kernel.address_of("printf"))   # what, not where
    assert not value.passed and "slot" in value.message
    assert not lesson01.check_binding("printf", slot + 8).passed
    assert not lesson01.check_binding("printf", None).passed
    assert not lesson01.check_binding("write", slot).passed   # hello does not import write


POPEN = """
    #include <stdio.h>
    FILE *popen(const char *command, const char *mode);
    int main(void) { FILE *f = popen("ls", "r"); printf("%p\\n", (void *)f); return 0; }
"""


@boot
def test_check_refusal(tmp_path):
    from labkit.exercises import lesson01

    assert lesson01.check_refusal(write(tmp_path, "a.c", POPEN)).passed
    loads = lesson01.check_refusal(write(tmp_path, "b.c", GREET))
    assert not loads.passed and "loaded and ran" in loads.message
    made_up = lesson01.check_refusal(write(tmp_path, "c.c", POPEN.replace("popen", "frobnicate")))
    assert not made_up.passed and "not a C library function" in made_up.message


PPID = """
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <unistd.h>

    static volatile long sink;

    static inline uint64_t tsc(void)
    {
        uint32_t lo, hi;
        __asm__ volatile("lfence\\n\\trdtsc\\n\\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
        return ((uint64_t)hi << 32) | lo;
    }

    int main(int argc, char **argv)
    {
        long n = argc > 1 ? strtol(argv[1], NULL, 0) : 10000;
        uint64_t t0 = tsc();
        for (long i = 0; i < n; i++)
            sink = i;
        uint64_t empty = tsc() - t0;
        t0 = tsc();
        for (long i = 0; i < n; i++)
            sink = getppid();
        uint64_t calls = tsc() - t0;
        printf("getppid_ticks_per_call %.2f\\n", (double)(calls - empty) / n);
        return 0;
    }
"""


@boot
def test_check_call_cost(tmp_path):
    from labkit.exercises import lesson01

    assert lesson01.check_call_cost(write(tmp_path, "p.c", PPID)).passed
    zero = ('int printf(const char *, ...);\n'
            'int main(void) { printf("getppid_ticks_per_call 0.00\\n"); return 0; }')
    assert not lesson01.check_call_cost(write(tmp_path, "z.c", zero)).passed
    silent = lesson01.check_call_cost(write(tmp_path, "s.c", "int main(void) { return 0; }"))
    assert not silent.passed and "getppid" in silent.message


@boot
def test_check_call_cost_is_not_fooled_by_a_printed_figure(tmp_path):
    """The right number, printed: no getppid import, or one call that does not grow with N."""
    from labkit.exercises import lesson01

    ref = lesson01._reference_cost()
    printed = ('#include <stdio.h>\n#include <unistd.h>\n'
               'int main(void) { %s printf("getppid_ticks_per_call %.2f\\n"); return 0; }')
    only = lesson01.check_call_cost(write(tmp_path, "a.c", printed % ("", ref)))
    assert not only.passed and "import" in only.message, only
    once = lesson01.check_call_cost(write(tmp_path, "b.c", printed % ("(void)getppid();", ref)))
    assert not once.passed and "argv" in once.message, once


# ------------------------------------------------------------------------ lesson 02 logic
def test_control_register_decoders():
    from labkit.lessons.ring0 import decode_cr0, decode_cr3, decode_cr4

    cr0 = {b.name: b.value for b in decode_cr0(0x80010013)}
    assert cr0["PG"] == cr0["WP"] == cr0["PE"] == 1 and cr0["CD"] == 0
    cr4 = {b.name: b.value for b in decode_cr4(0x620 | 1 << 20)}
    assert cr4["PAE"] == cr4["OSFXSR"] == cr4["SMEP"] == 1 and cr4["SMAP"] == 0
    cr3 = {b.name: b.value for b in decode_cr3(0x135018)}
    assert cr3 == {"PML4": 0x135000, "PWT": 1, "PCD": 1}


PRIVILEGED_OUTPUT = """CS & 3 = 0 (ring 0)
CR0 = 0x0000000080010013
  PE (bit  0) = 1  protected mode
CR3 = 0x000000000012a000 (PML4 at physical 0x12a000, PCD=0 PWT=0)
local variable: virtual 0x1001008afac
    PML4[  2] = 0x0000000000183023  P W - X
    PT  [138] = 0x8000000000213063  P W - NX
  -> physical 0x213fac
function ghost: virtual 0x2000
    PML4[  0] = 0x0000000000000000  - - - X
  -> not mapped
RFLAGS.IF: before 1, after cli 0, after sti 1
SUCCESS
"""


def test_parse_privileged():
    from labkit.lessons.ring0 import parse_privileged

    r = parse_privileged(PRIVILEGED_OUTPUT)
    assert (r.cpl, r.cr0, r.cr3, r.interrupts, r.success) == (0, 0x80010013, 0x12a000,
                                                              (1, 0, 1), True)
    assert [(t.what, t.virtual, t.physical, len(t.entries)) for t in r.translations] == [
        ("local variable", 0x1001008afac, 0x213fac, 2), ("function ghost", 0x2000, None, 1)]
    linux = parse_privileged("CS & 3 = 3 (ring 3)\nnot in ring 0\nFAILURE: this app needs ring 0\n")
    assert linux.cpl == 3 and not linux.success and linux.cr3 is None
    with pytest.raises(ValueError):
        parse_privileged("hello")


MMU_GC_OUTPUT = """pages 256
writes 100
dirty_cards 84
dirty_mmu 84
pages_that_differ 0
mutator_plain_ticks 1831
mutator_barrier_ticks 2032
barrier_ticks_per_write 2.01
mmu_scan_ticks 22942
SUCCESS
"""


def test_parse_mmu_gc_and_crossover():
    from dataclasses import replace

    from labkit.lessons.gc import crossover_writes, parse_mmu_gc

    run = parse_mmu_gc(MMU_GC_OUTPUT)
    assert run.agree and run.success and run.barrier_cost == 201 and run.mmu_scan == 22942
    with pytest.raises(ValueError, match="mmu_scan"):
        parse_mmu_gc(MMU_GC_OUTPUT.replace("mmu_scan_ticks", "x"))
    runs = [replace(run, writes=w, mutator_plain=0, mutator_barrier=2 * w, mmu_scan=2000)
            for w in (10, 100, 1000, 10000)]
    assert 900 < crossover_writes(runs) < 1100
    assert crossover_writes(runs[:2]) is None
    assert crossover_writes(runs[3:]) == 10000


@boot
def test_gc_sweep_agrees_and_scales():
    from labkit.lessons.gc import run_mmu_gc, sweep

    runs = sweep((10, 1000), pages=64)
    assert all(r.agree for r in runs) and runs[1].barrier_cost > runs[0].barrier_cost
    assert run_mmu_gc(256, 10).mmu_scan > runs[0].mmu_scan


@boot
async def test_debugger_panel_steps_into_the_kernel_and_shows_cpl():
    import labkit
    from labkit.widgets.debugger import DebuggerPanel

    m = await labkit.Machine("hello", paused=True, gdb=True).start()
    try:
        panel = DebuggerPanel(await m.debugger(), m)
        await panel.break_at("main")
        stop = await panel.cont()
        assert stop.function == "main" and "CPL 0" in panel.status.value
        assert "PG" in panel.registers.value and "=&gt;" in panel.code.value
        assert "hello.c" in panel.status.value and ">" in panel.source.value
        stop = await panel.step()
        assert stop.location.image == "kernel"
        await panel.finish()
        await panel.dbg.delete("main")
        panel.button("continue").click()    # a real click: a background task
        outcome = await m.wait(20)
        assert outcome.status == 0 and "Hello from the unikernel!" in panel.console.value
        panel.close()
    finally:
        await m.close()


# ------------------------------------------------------------------------ lesson 02 checks
CR4_APP = """
    #include <stdio.h>
    #include <stdint.h>
    int main(void)
    {
        uint64_t cr4;
        __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
        printf("cr4 %#llx\\n", (unsigned long long)cr4);
        printf("smep %d\\nsmap %d\\n", (int)(cr4 >> 20 & 1), (int)(cr4 >> 21 & 1));
        return 0;
    }
"""


@boot
def test_check_cr4(tmp_path):
    from labkit.exercises import lesson02

    assert lesson02.check_cr4(write(tmp_path, "cr4.c", CR4_APP)).passed
    wrong = lesson02.check_cr4(write(tmp_path, "w.c", CR4_APP.replace("cr4 >> 20", "cr4 >> 5")))
    assert not wrong.passed and wrong.points == 1
    zero = lesson02.check_cr4(write(tmp_path, "z.c", CR4_APP.replace(
        '__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));', "cr4 = 0;")))
    assert not zero.passed


@boot
def test_check_panic_reading():
    from labkit.exercises import lesson02

    assert lesson02.check_panic_reading(0x2, "0x11").passed       # not present + write; P + fetch
    half = lesson02.check_panic_reading(0x3, 0x11)               # "present" is wrong for page 0
    assert half.points == 1 and "write to page 0" in half.message
    assert lesson02.check_panic_reading(None, "x").points == 0


GC_STRIDE = """
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/mman.h>
    #include <unikernel.h>

    #define PAGE 4096u

    static inline uint64_t ticks(void)
    {
        uint32_t lo, hi;
        __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
        return ((uint64_t)hi << 32) | lo;
    }

    int main(int argc, char **argv)
    {
        size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
        size_t stride = argc > 2 ? strtoul(argv[2], NULL, 0) : 4;
        size_t len = pages * PAGE;
        char *heap = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint8_t *cards = calloc(pages, 1), *bits = calloc(pages / 8 + 1, 1);
        if (heap == MAP_FAILED || !cards || !bits)
            return 1;
        for (size_t i = 0; i < len; i += PAGE)     /* make every page resident first */
            heap[i] = 0;
        uk_dirty_pages(heap, len, bits, 1);        /* collection: clear the dirty bits */
        uint64_t t0 = ticks();
        for (size_t p = 0; p < pages; p += stride)
            *(void *volatile *)(heap + p * PAGE) = heap;     /* the stores alone ... */
        uint64_t plain = ticks() - t0;
        t0 = ticks();
        for (size_t p = 0; p < pages; p += stride) {
            *(void *volatile *)(heap + p * PAGE) = heap;     /* ... and with the write barrier */
            ((volatile uint8_t *)cards)[p] = 1;
        }
        uint64_t marked = ticks() - t0;
        t0 = ticks();
        uk_dirty_pages(heap, len, bits, 0);        /* the collector reads the dirty bits */
        uint64_t scan = ticks() - t0;
        size_t mmu = 0, card = 0, differ = 0;
        for (size_t p = 0; p < pages; p++) {
            int d = bits[p / 8] >> (p % 8) & 1;
            mmu += d;
            card += cards[p];
            differ += d != cards[p];
        }
        printf("dirty_cards %zu\\ndirty_mmu %zu\\npages_that_differ %zu\\n", card, mmu, differ);
        printf("barrier_ticks %llu\\nscan_ticks %llu\\n", (unsigned long long)(marked - plain),
               (unsigned long long)scan);
        return 0;
    }
"""


@boot
def test_check_strided_gc(tmp_path):
    from labkit.exercises import lesson02

    assert lesson02.check_strided_gc(write(tmp_path, "g.c", GC_STRIDE)).passed
    # Forgetting to clear the dirty bits first: every page looks written.
    noclear = GC_STRIDE.replace("uk_dirty_pages(heap, len, bits, 1);", "")
    assert not lesson02.check_strided_gc(write(tmp_path, "n.c", noclear)).passed
    silent = lesson02.check_strided_gc(write(tmp_path, "s.c", "int main(void) { return 0; }"))
    assert not silent.passed and "uk_dirty_pages" in silent.message


PRINTED_STRIDE = """
    #include <stdio.h>
    #include <stdlib.h>
    #include <unikernel.h>
    int main(int argc, char **argv)
    {
        size_t pages = strtoul(argv[1], NULL, 0), stride = strtoul(argv[2], NULL, 0);
        size_t n = (pages + stride - 1) / stride;
        unsigned char bits[8];
        uk_dirty_pages(bits, 0, bits, 0);      /* imported, but walks nothing */
        printf("dirty_cards %zu\\ndirty_mmu %zu\\npages_that_differ 0\\n", n, n);
        printf("barrier_ticks %zu\\nscan_ticks %zu\\n", 2 * n, 90 * pages);
        return 0;
    }
"""


@boot
def test_check_strided_gc_is_not_fooled_by_printed_figures(tmp_path):
    from labkit.exercises import lesson02

    fake = lesson02.check_strided_gc(write(tmp_path, "f.c", PRINTED_STRIDE))
    assert not fake.passed and "stamps" in fake.message, fake


@boot
async def test_disassembly_window_shows_instructions_before_the_pc():
    import labkit
    from labkit.lessons.stepping import disassembly_window

    m = await labkit.Machine("hello", paused=True, gdb=True).start()
    try:
        dbg = await m.debugger()
        await dbg.break_at("main")
        await dbg.cont()
        insns, at = await disassembly_window(dbg, 3, 5)
        assert at == 0 and insns[0].location.symbol == "main"     # nothing before main+0
        for _ in range(6):
            await dbg.stepi()
        pc = (await dbg.registers()).pc
        insns, at = await disassembly_window(dbg, 3, 5)
        assert at == 3 and insns[at].address == pc and len(insns) == 8
        assert insns[0].address < pc < insns[-1].address
    finally:
        await m.close()


# ------------------------------------------------------------------------ lessons 03-05 checks
UPPER_STARTER = """
    #include <sys/socket.h>
    int main(void) { return 0; }
"""


@boot
def test_check_upper_says_a_server_must_loop(tmp_path):
    """The starter returns from main: the feedback says so, not that a socket vanished."""
    from labkit.exercises import lesson03

    result = lesson03.check_upper(write(tmp_path, "upper.c", UPPER_STARTER))
    assert not result.passed and "exited" in result.message and "loop" in result.message, result
    assert "Errno" not in result.message


def _linux_or_skip() -> None:
    from labkit import linux

    ok, why = linux.availability(fetch=False)
    if not ok:
        pytest.skip("no Linux guest here: " + why.splitlines()[0])


SPIN = """
    #include <stdint.h>
    #include <stdio.h>
    static inline uint64_t tsc(void)
    {
        uint32_t lo, hi;
        __asm__ volatile("lfence\\n\\trdtsc\\n\\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
        return ((uint64_t)hi << 32) | lo;
    }
    int main(void)
    {
        uint64_t t0 = tsc(), x = 1;
        for (int i = 0; i < 1000000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t t1 = tsc();
        printf("result %llu\\nticks %llu\\n", (unsigned long long)(x & 0xffff),
               (unsigned long long)(t1 - t0));
        return 0;
    }
"""


@boot
def test_check_compute_parity_is_not_fooled_by_a_printed_figure(tmp_path):
    """The solution passes; a program that prints the same figure on both guests fails, since
    the guests' own stamps show the app ran far fewer instructions than it claims."""
    from labkit.exercises import lesson05

    _linux_or_skip()
    right = lesson05.check_compute_parity(write(tmp_path, "spin.c", SPIN))
    assert right.passed, right
    printed = write(tmp_path, "fake.c", '#include <stdio.h>\n'
                    'int main(void) { printf("ticks 5000000\\n"); return 0; }\n')
    fake = lesson05.check_compute_parity(printed)
    assert fake.points == 0 and "stamps" in fake.message, fake


@boot
def test_check_iteration_cost_is_a_prediction_checked_by_a_run():
    """Three loops per step of N: the per-call figures plus the loops pass; one call alone,
    or the getpid ratio of the page's table, does not."""
    from labkit import bench, linux
    from labkit.exercises import lesson05
    from labkit.exercises._run import run_async

    _linux_or_skip()
    costs = bench._costs(run_async(linux.run_linux("syscall_bench", "2000", icount=0,
                                                   timeout=120), timeout=None))
    predicted = (3 * costs["loop_ticks_per_iter"] + costs["getpid_ticks_per_call"]
                 + costs["write_ticks_per_call"])
    assert lesson05.check_iteration_cost(predicted).passed
    one_call = lesson05.check_iteration_cost(costs["getpid_ticks_per_call"])
    assert not one_call.passed and "one call" in one_call.message, one_call
    assert not lesson05.check_iteration_cost("many").passed


def test_drop_expectations_match_only_their_counters():
    from labkit.lessons.netchannels import EXPECTED, KindDrops, matches
    from labkit.net.malformed import KINDS

    assert set(EXPECTED) == set(KINDS)          # every kind the flood sends is expected
    assert matches(KindDrops("fragment", 100, {"frag": 100}))
    assert not matches(KindDrops("fragment", 100, {"frag": 99}))          # one lost
    assert not matches(KindDrops("fragment", 100, {"frag": 90, "proto": 10}))
    assert matches(KindDrops("syn_flood", 100, {"tcp_backlog": 86}))      # some SYN-ACKed
    assert not matches(KindDrops("oversized", 100, {"short": 1}))


@boot
async def test_each_broken_kind_lands_where_the_lesson_says():
    """Lesson 03's flood, one kind at a time: every row of the table matches."""
    import asyncio

    import labkit
    from labkit.lessons.netchannels import flood_by_kind, matches
    from labkit.net import Wire

    m = await labkit.Machine("netecho", net="wire",
                             options={"net": "channels", "metrics": 100}).start()
    try:
        await m.console.wait_for("netecho:", 20)
        with Wire.attach(m) as wire:
            rows = await asyncio.to_thread(flood_by_kind, wire, m, 50, 1)
            assert await asyncio.to_thread(wire.udp, 7, b"still here") == b"still here"
        assert [r for r in rows if not matches(r)] == []
        assert sum(r.counted for r in rows) > 0.8 * sum(r.sent for r in rows)
    finally:
        await m.close()


@boot
async def test_a_tuned_linux_boots_in_fewer_instructions():
    """The fairer baseline of lesson 05 boots the same kernel, and saves a good share."""
    from labkit import linux
    from labkit.lessons.linux_guest import tuned_linux_boot

    _linux_or_skip()
    stock = await linux.run_linux("hello", icount=0, timeout=120)
    tuned = await tuned_linux_boot(timeout=120)
    assert 0 < tuned < 0.8 * stock.events.milestones["app_exec"].tsc

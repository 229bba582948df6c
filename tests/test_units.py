# SPDX-License-Identifier: MIT
"""Unit tests of the pure parts: boot archives, COM2 events, consoles, the QEMU command line
and exit-status decoding."""

from __future__ import annotations

import asyncio
import doctest
import subprocess
from pathlib import Path

import pytest

import labkit
from labkit import console, cpio, events, outcome, qemuargs
from labkit.errors import ArchiveError, BootError, MachineStateError, WaitTimeout
from labkit.events import ExitEvent, LoadErrorEvent, Milestone, PanicEvent, parse_event
from labkit.outcome import Exited, Killed, LoadFailed, Panicked, decode


@pytest.mark.parametrize("module", [cpio, events, console])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_public_face():
    for name in labkit.__all__:
        assert getattr(labkit, name) is not None, name
    assert issubclass(labkit.WaitTimeout, TimeoutError)
    for err in ("BuildError", "BootError", "QMPError", "DebuggerError", "ElfError",
                "ToolMissingError", "MachineStateError"):
        assert issubclass(getattr(labkit, err), labkit.LabkitError)


# ----------------------------------------------------------------------------- cpio
def test_cpio_roundtrip_and_padding():
    members = [("a.so", b"\x7fELF" + bytes(range(7))), ("b", b""), ("data.txt", b"xyz")]
    blob = cpio.pack(members)
    assert len(blob) % 4 == 0
    assert blob.startswith(b"070701")
    assert blob.rstrip(b"\0").endswith(b"TRAILER!!!")
    assert [(m.name, m.data) for m in cpio.unpack(blob)] == members


def test_cpio_readable_by_gnu_cpio(tmp_path):
    if subprocess.run(["which", "cpio"], capture_output=True).returncode != 0:
        pytest.skip("GNU cpio not installed")
    archive = cpio.write_archive(tmp_path / "x.cpio", [("hello.so", b"ELF!"), ("d.txt", b"hi")])
    out = subprocess.run(["cpio", "-it", "--quiet"], stdin=archive.open("rb"),
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["hello.so", "d.txt"]


def test_cpio_malformed():
    with pytest.raises(ArchiveError, match="magic"):
        cpio.unpack(b"x" * 200)
    blob = cpio.pack([("a", b"1234")])
    with pytest.raises(ArchiveError, match="truncated|past the end"):
        cpio.unpack(blob[:120])


# ----------------------------------------------------------------------------- events
def test_parse_every_event_kind():
    lines = {
        '{"ev":"milestone","name":"entry","tsc":5}': Milestone("entry", 5),
        '{"ev":"exit","status":300,"tsc":9}': ExitEvent(300, 9),
        '{"ev":"load_error","kind":"unresolved_symbol","file":"x.so","detail":"foo"}':
            LoadErrorEvent("unresolved_symbol", "x.so", "foo"),
    }
    for line, expected in lines.items():
        assert parse_event(line) == expected
    lay = parse_event('{"ev":"layout","ram_bytes":134217728,"kernel_start":"0x100000",'
                      '"kernel_end":"0x140000","text_end":"0x120000","heap_start":"0x200000",'
                      '"heap_end":"0x400000","app_area":"0x10000000000"}')
    assert lay.app_area == 1 << 40 and lay.kernel_start == 0x100000
    seg = parse_event('{"ev":"segment","app":"hello","start":"0x10000000000",'
                      '"end":"0x10000001000","flags":"r-x","file_offset":"0x0"}')
    assert (seg.start, seg.flags) == (1 << 40, "r-x")
    th = parse_event('{"ev":"thread","id":1,"name":"main","stack_start":"0x300000",'
                     '"stack_end":"0x308000"}')
    assert th.stack_end - th.stack_start == 0x8000
    met = parse_event('{"ev":"metrics","tsc":1,"ns":2,"pages_free":3,"pages_used":4,'
                      '"heap_bytes":5,"threads":6,"ticks":7,"switches":8}')
    assert met.switches == 8


def test_parse_panic():
    p = parse_event('{"ev":"panic","vector":14,"exception":"page fault","error_code":2,'
                    '"rip":"0x10000000123","symbol":"scribble+0x13","cr2":"0x0","cpl":0,'
                    '"frames":[{"addr":"0x10000000123","symbol":"scribble+0x13"},'
                    '{"addr":"0x100200","symbol":"app_start+0x20"}],"message":"page fault"}')
    assert isinstance(p, PanicEvent)
    assert p.function == "scribble" and p.cr2 == 0 and p.cpl == 0
    assert [f.symbol for f in p.frames] == ["scribble+0x13", "app_start+0x20"]
    assert "page fault" in p.describe() and "#1 0x100200" in p.describe()


def test_parse_never_raises():
    assert isinstance(parse_event("garbage {"), events.BadLine)
    assert isinstance(parse_event('{"no":"ev"}'), events.BadLine)
    assert isinstance(parse_event('{"ev":"exit"}'), events.BadLine)  # missing status
    unknown = parse_event('{"ev":"future_kind","pages":3}')
    assert isinstance(unknown, events.UnknownEvent) and unknown.data["pages"] == 3
    short = parse_event('{"ev":"balloon","action":"reached","target_pages":3}')
    assert isinstance(short, events.BadLine) and "pages" in short.problem  # never a silent 0


# ----------------------------------------------------------------------------- consoles
async def test_console_waits_for_whole_lines_and_sends_lines():
    c = console.Console()
    sent: list[bytes] = []
    c.attach_writer(sent.append)                  # what a running machine's COM1 gets
    start = c.send_line("hog 4")
    c.feed(b"hog 4 held_bytes 12")                # half a number so far
    waiting = asyncio.create_task(c.wait_for(r"held_bytes (\d+)", 2, start, lines=True))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    c.feed(b"34\n")
    assert (await waiting).group(1) == "1234" and sent == [b"hog 4\n"] and start == 0


async def test_console_wait_for_and_tail():
    c = console.Console()

    async def feed():
        for piece in (b"boot", b"ing...\r\n", b"\xe2\x9c", b"\x93 ready\n"):
            await asyncio.sleep(0.01)
            c.feed(piece)

    task = asyncio.create_task(feed())
    match = await c.wait_for(r"(\S+) ready", timeout=2)
    assert match.group(1) == "\u2713"
    await task
    assert c.text == "booting...\n\u2713 ready\n"
    assert c.tail(1) == "\u2713 ready"
    with pytest.raises(WaitTimeout, match="never"):
        await c.wait_for("never", timeout=0.05)
    c.close()
    with pytest.raises(MachineStateError, match="stopped"):
        await c.wait_for("never", timeout=5)


def test_console_crlf_split_across_reads():
    c = console.Console()
    for piece in (b"a 1\r", b"\nb 2\r", b"\n\xe2", b"\x9c\x93\r"):
        c.feed(piece)
    c.close()
    assert c.text == "a 1\nb 2\n\u2713\r"


async def test_eventlog_stream_and_partial_lines():
    log = console.EventLog()
    seen = []

    async def consume():
        async for ev in log.stream():
            seen.append(ev)

    task = asyncio.create_task(consume())
    log.feed(b'{"ev":"milestone","name":"entry","tsc":1}\n{"ev":"milest')
    log.feed(b'one","name":"app_loaded","tsc":2,"app":"hello","base":"0x10000000000"}\n')
    ms = await log.wait_milestone("app_loaded", timeout=1)
    assert ms.base == 1 << 40 and log.app_base == 1 << 40
    log.feed(b'{"ev":"exit","status":3}')  # no newline: flushed on close
    log.close()
    await asyncio.wait_for(task, 1)
    assert [type(e).__name__ for e in seen] == ["Milestone", "Milestone", "ExitEvent"]
    assert log.exit == ExitEvent(3)
    with pytest.raises(MachineStateError):
        await log.wait_for(PanicEvent, timeout=1)


# ----------------------------------------------------------------------------- command line
def test_kernel_cmdline():
    cfg = qemuargs.MachineConfig(app="hello", args=["3", "x"], options={"metrics": 10},
                                 env={"NAME": "v"})
    assert qemuargs.kernel_cmdline(cfg) == "metrics=10 NAME=v -- hello 3 x"
    with pytest.raises(BootError, match="space"):
        qemuargs.kernel_cmdline(qemuargs.MachineConfig(app="hello", args=["a b"]))
    with pytest.raises(BootError, match="upper-case"):
        qemuargs.kernel_cmdline(qemuargs.MachineConfig(app="hello", env={"low": "x"}))
    with pytest.raises(BootError, match="machine type"):
        qemuargs.MachineConfig(machine="virt")


@pytest.mark.parametrize("machine", qemuargs.MACHINE_TYPES)
def test_command_per_machine(machine, tmp_path):
    cfg = qemuargs.MachineConfig(machine=machine, icount=0, paused=True, gdb=True)
    rd = qemuargs.RunDir(tmp_path)
    flags = qemuargs.build_command(cfg, rd, Path("k.elf"), Path("hello.cpio"))
    words = qemuargs.argv(flags)
    line = " ".join(words)
    assert words[0] == "qemu-system-x86_64"
    assert "-accel tcg" in line and "-nodefaults" in line and "-no-reboot" in line
    assert "isa-debug-exit,iobase=0xf4,iosize=0x04" in line
    assert "-append -- hello" in line
    assert "-icount shift=0,align=off,sleep=off" in line and "-S" in words
    assert f"unix:{tmp_path}/gdb.sock,server=on,wait=off" in line
    if machine == "microvm":
        assert "isa-serial,iobase=0x2f8,irq=3,chardev=com2" in line
        assert words.count("-serial") == 1
    else:
        assert words.count("-serial") == 2
    if machine == "q35":
        assert "q35,sata=off" in words
    assert all(f.why for f in flags)
    assert "# the emulator" in qemuargs.explain(flags)


# ----------------------------------------------------------------------------- outcomes
def test_decode_exit_statuses():
    assert decode(1) == Exited(0, 1, exact=False)
    assert decode(7) == Exited(3, 7, exact=False)
    assert decode(1, ExitEvent(64)) == Exited(64, 1, exact=True)  # COM2 is authoritative
    assert decode(131) == LoadFailed("unresolved_symbol", 131)
    for status, kind in outcome.LOAD_ERRORS.items():
        assert decode(status).error == kind and decode(status).status == status
    assert isinstance(decode(255), Panicked) and decode(255).status == 255
    assert decode(0, quit_requested=True) == Killed("quit through QMP")
    assert isinstance(decode(0, shutdown_reason="guest-reset"), Panicked)
    assert decode(-9) == Killed("QEMU was killed by a signal", 9)
    assert decode(-9).status == 137
    assert outcome.TimedOut(2.0).status == 124
    assert Exited(3, 7).ok is False and Exited(0, 1).ok


async def test_console_wait_for_sees_output_arriving_as_it_starts_waiting():
    # Output fed by a callback that runs right after wait_for's first look used to be lost
    # (the wake-up was armed only later, in a task), so the wait slept out its timeout.
    com1 = console.Console()
    loop = asyncio.get_running_loop()
    loop.call_soon(com1.feed, b"ready\n")
    began = loop.time()
    match = await com1.wait_for("ready", timeout=20)
    assert match.group(0) == "ready"
    assert loop.time() - began < 10          # woken by the output, not by the timeout


def test_metric_samples_keep_driver_counters():
    line = ('{"ev":"metrics","tsc":1,"ns":2,"pages_free":3,"pages_used":4,"heap_bytes":5,'
            '"threads":1,"ticks":6,"switches":7,"balloon_pages":8,"net_rx_frames":9}')
    sample = parse_event(line)
    assert sample.pages_free == 3 and sample.get("pages_free") == 3
    assert sample.extra == {"balloon_pages": 8, "net_rx_frames": 9}
    assert sample.get("balloon_pages") == 8 and sample.get("missing") is None



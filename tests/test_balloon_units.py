# SPDX-License-Identifier: MIT
"""labkit.balloon without QEMU: parsing, the QEMU flag, and the QMP conversation against a fake
machine that plays a guest giving memory back slowly (or not at all)."""

from __future__ import annotations

import asyncio
import doctest
import os
from types import SimpleNamespace

import pytest

import labkit.balloon
import labkit.events
from labkit.balloon import (
    MIB,
    UNSET,
    Balloon,
    MemoryMonitor,
    parse_guest_stats,
    parse_size,
    read_host_memory,
    read_stats,
    send_command,
    wait_console,
)
from labkit.console import Console, EventLog
from labkit.errors import BootError, LabkitError, MachineStateError, WaitTimeout
from labkit.events import BalloonEvent, HeapBalloonEvent, parse_event
from labkit.machine import MachineState
from labkit.qemuargs import MachineConfig, RunDir, _balloon_takes_vectors, argv, build_command


def test_docstring_examples_run():
    results = [doctest.testmod(labkit.balloon), doctest.testmod(labkit.events)]
    assert sum(r.failed for r in results) == 0 and sum(r.attempted for r in results) >= 5


@pytest.mark.parametrize("text, nbytes", [("256M", 256 * MIB), ("1G", 1 << 30), ("64", 64 * MIB),
                                          ("512k", 512 << 10), ("2GiB", 2 << 30), (4096, 4096)])
def test_sizes_read_like_qemu(text, nbytes):
    assert parse_size(text) == nbytes


def test_a_size_that_is_not_one_says_so():
    with pytest.raises(LabkitError, match="memory size"):
        parse_size("lots")


def test_guest_stats_turn_unset_into_none():
    stats = parse_guest_stats({"last-update": 0, "stats": {"stat-free-memory": UNSET,
                                                           "stat-total-memory": UNSET}})
    assert stats.free is None and not stats.real
    stats = parse_guest_stats({"last-update": 9, "stats": {"stat-free-memory": 5,
                                                           "stat-total-memory": 9,
                                                           "stat-htlb-pgalloc": 3,
                                                           "stat-new-thing": 4}})
    assert stats.real and stats.values["hugetlb_allocations"] == 3
    assert stats.values["new_thing"] == 4


def test_com2_events_of_both_balloons_parse():
    ev = parse_event('{"ev":"balloon","action":"reached","target_pages":16384,'
                     '"pages":16384,"work_tsc":123,"tsc":9}')
    assert isinstance(ev, BalloonEvent)
    assert ev.action == "reached" and ev.target_pages == 16384 and ev.work_tsc == 123
    heap = parse_event(
        '{"ev":"heap_balloon","action":"deflate","bytes":4096,"balloon_bytes":0,'
        '"heap_bytes":1,"used_bytes":2,"live_bytes":3,"collections":4,"pages_free":5,'
        '"kernel_hog_pages":6,"host_balloon_pages":7,"tsc":8,"a_newer_field":1}')
    assert isinstance(heap, HeapBalloonEvent)
    assert (heap.action, heap.live_bytes, heap.host_balloon_pages) == ("deflate", 3, 7)
    log = EventLog()
    for line in ('{"ev":"exit","status":0}', '{"ev":"balloon","action":"target",'
                 '"target_pages":1,"pages":0,"work_tsc":0,"tsc":1}'):
        log.feed(line.encode() + b"\n")
    assert [e.action for e in log.of_type(BalloonEvent)] == ["target"]
    assert log.of_type(HeapBalloonEvent) == []


def test_host_memory_of_this_process():
    mem = read_host_memory(os.getpid())
    assert 0 < mem.anon_bytes <= mem.rss_bytes <= mem.peak_bytes


def test_host_memory_of_a_gone_process():
    with pytest.raises(MachineStateError):
        read_host_memory(2**22 + 12345)


@pytest.mark.parametrize("mode, oom", [(True, "off"), ("on", "off"), ("deflate-on-oom", "on")])
def test_the_balloon_device_flag(mode, oom, tmp_path):
    config = MachineConfig(balloon=mode)
    words = argv(build_command(config, RunDir(tmp_path), tmp_path / "k.elf", None))
    vectors = ",vectors=2" if _balloon_takes_vectors(config.qemu) else ""
    assert f"virtio-balloon-pci,id=balloon0{vectors},deflate-on-oom={oom}" in words


def test_msix_vectors_only_where_qemu_has_them(tmp_path):
    """QEMU 9.2 and later give virtio-balloon-pci a vector table; 7.2 refuses the property."""
    for name, listing in (("new", "  deflate-on-oom=<bool>\n  vectors=<uint32>  -  (default: 2)"),
                          ("old", "  deflate-on-oom=<bool>\n  event_idx=<bool>")):
        fake = tmp_path / f"qemu-{name}"
        fake.write_text(f"#!/bin/sh\nprintf '%s\\n' '{listing}'\n")
        fake.chmod(0o755)
        assert _balloon_takes_vectors(str(fake)) is (name == "new")
    assert _balloon_takes_vectors(str(tmp_path / "no-such-qemu")) is False


def test_no_balloon_by_default_and_none_on_microvm(tmp_path):
    words = argv(build_command(MachineConfig(), RunDir(tmp_path), tmp_path / "k.elf", None))
    assert not any(w.startswith("virtio-balloon") for w in words)
    with pytest.raises(BootError, match="microvm has no PCI"):
        MachineConfig(machine="microvm", balloon="on")
    with pytest.raises(BootError, match="deflate-on-oom"):
        MachineConfig(balloon="sometimes")


class FakeGuest:
    """Plays QEMU + a guest over QMP: ``actual`` walks toward the target by ``step`` bytes a
    query, and stops at ``floor`` (what the guest can give)."""

    def __init__(self, ram: int, step: int = 16 * MIB, floor: int = 0) -> None:
        self.ram, self.actual, self.target = ram, ram, ram
        self.step, self.floor = step, floor
        self.calls: list[tuple[str, dict]] = []

    async def execute(self, command: str, arguments=None, timeout: float = 10.0):
        self.calls.append((command, dict(arguments or {})))
        if command == "balloon":
            self.target = arguments["value"]
            return {}
        if command == "query-balloon":
            goal = max(self.target, self.floor)
            delta = max(-self.step, min(self.step, goal - self.actual))
            self.actual += delta
            return {"actual": self.actual}
        if command == "qom-get":
            return {"last-update": 3, "stats": {"stat-free-memory": 1, "stat-total-memory": 2}}
        return {}


def fake_machine(guest: FakeGuest | None = None, balloon: str | None = "on"):
    guest = guest or FakeGuest(256 * MIB)
    return SimpleNamespace(config=MachineConfig(memory="256M", balloon=balloon),
                           execute=guest.execute, pid=os.getpid(), state=MachineState.RUNNING,
                           events=EventLog(), console=Console(), guest=guest)


def test_a_machine_without_the_device_is_refused():
    with pytest.raises(MachineStateError, match="balloon='on'"):
        Balloon(fake_machine(balloon=None))


async def test_take_waits_until_the_guest_reaches_the_target():
    m = fake_machine()
    b = Balloon(m)
    await b.take(64 * MIB)
    info = await b.wait_settled(timeout=5, poll=0.001)
    assert info.actual == 192 * MIB and info.balloon_bytes == 64 * MIB
    assert m.guest.calls[0] == ("balloon", {"value": 192 * MIB})
    await b.give_back()
    assert (await b.wait_settled(timeout=5, poll=0.001)).actual == 256 * MIB


async def test_a_target_out_of_reach_settles_where_the_guest_stops():
    m = fake_machine(FakeGuest(256 * MIB, floor=40 * MIB))
    b = Balloon(m)
    await b.set_target(0)                               # clamped to 1 MiB: QEMU refuses 0
    assert m.guest.target == MIB
    info = await b.wait_settled(timeout=5, stable=0.05, poll=0.001)
    assert info.actual == 40 * MIB


async def test_a_guest_that_never_moves_times_out_only_when_asked_to():
    m = fake_machine(FakeGuest(256 * MIB, step=0))
    b = Balloon(m)
    await b.take(MIB)
    with pytest.raises(WaitTimeout, match="did not settle"):
        await b.wait_settled(timeout=0.05, stable=10, poll=0.001)


async def test_stats_and_polling_go_to_the_device_path():
    m = fake_machine()
    stats = await Balloon(m).wait_stats(timeout=1)
    assert stats.real
    assert m.guest.calls[0] == ("qom-set", {"path": "/machine/peripheral/balloon0",
                                            "property": "guest-stats-polling-interval",
                                            "value": 1})


async def test_the_monitor_merges_com2_and_qmp():
    m = fake_machine()
    b = Balloon(m)
    await b.take(32 * MIB)
    monitor = MemoryMonitor(m, b, period=0.01)
    await monitor.start()
    m.events.add(parse_event('{"ev":"heap_balloon","action":"inflate","bytes":4194304,'
                             '"balloon_bytes":4194304,"heap_bytes":100,"used_bytes":50,'
                             '"live_bytes":20,"collections":2,"pages_free":256,'
                             '"kernel_hog_pages":1,"host_balloon_pages":0,"tsc":1}'))
    await asyncio.sleep(0.05)
    await monitor.stop()
    s = monitor.latest
    assert s.heap_balloon == 4 * MIB and s.app_live == 20 and s.kernel_free == MIB
    assert s.target == 224 * MIB and s.actual < 256 * MIB and s.rss > 0
    assert s.host_balloon == 256 * MIB - s.actual
    assert len(monitor.heap_events) == 1


async def test_commands_wait_for_whole_lines():
    m = fake_machine()
    sent: list[bytes] = []
    m.console.attach_writer(sent.append)

    async def reply():
        await asyncio.sleep(0.01)
        m.console.feed(b"hog 48 held_bytes 5")          # half a line: not yet
        await asyncio.sleep(0.01)
        m.console.feed(b"0331648\nheap_bytes 7\nlive_bytes 3\nend\n")

    task = asyncio.create_task(reply())
    match = await send_command(m, "hog 48", r"hog 48 held_bytes (\d+)", timeout=2)
    await task
    assert sent == [b"hog 48\n"] and match.group(1) == "50331648"
    m.console.feed(b"end\n")                            # stale output is not an answer
    asyncio.get_running_loop().call_later(0.01, m.console.feed, b"a 1\nb 2\nend\n")
    assert await read_stats(m, timeout=2) == {"a": 1, "b": 2}


async def test_waiting_on_a_closed_console_fails_at_once():
    m = fake_machine()
    m.console.close()
    with pytest.raises(MachineStateError, match="stopped"):
        await wait_console(m, "never", timeout=5)


def test_lesson_tables_read_like_the_numbers():
    from labkit.lessons.ballooning import OomTrial, Squeeze
    from labkit.widgets.balloon_tables import oom_table, squeeze_table

    rows = oom_table([OomTrial("deflate-on-oom", 37 * MIB, 64, True, 40 * MIB, 67 * MIB)]).rows
    assert rows == [("deflate-on-oom", "37.0 MiB", "64 MiB succeeded", "40.0 MiB", "67.0 MiB")]
    gone = Squeeze("linux", 160 * MIB, 30 * MIB, 0, 350 * MIB, 330 * MIB, 1.0, False,
                   "Out of memory: Killed process 91 (managed_heap)")
    assert squeeze_table([gone]).rows[0][-1].startswith("Out of memory")


def test_the_guests_own_words_for_a_killed_app():
    from labkit.lessons.ballooning import _what_killed

    text = ("boot\n[    4.58] Out of memory: Killed process 91 (managed_heap) total-vm:1kB\n"
            "labkit-guest: managed_heap killed by signal 9\n")
    assert _what_killed(text) == "Out of memory: Killed process 91 (managed_heap)"
    assert _what_killed("all fine\n") == ""


def test_checks_refuse_answers_that_are_not_numbers_without_booting():
    from labkit.exercises import lesson04 as checks

    assert not checks.check_untouched_fraction("most").passed
    assert "percentage" in checks.check_untouched_fraction(40).message
    assert not checks.check_oom_actual(None).passed
    assert "no such file" in checks.check_cache_app("no/such/cache.c").message


def test_the_cache_exercise_starts_from_a_template(tmp_path):
    from labkit.exercises.starters import install_starters

    [cache] = install_starters("lesson04", tmp_path / "work")
    assert cache.name == "cache.c" and '#include "cache_inflate.c"' in cache.read_text()
    assert "static void *inflate" not in cache.read_text()    # the student's part only
    with pytest.raises(ValueError, match="no starter files"):
        install_starters("lesson99", tmp_path)

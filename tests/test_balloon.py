# SPDX-License-Identifier: MIT
"""Ballooning, checked on the real kernel under TCG: the host's virtio balloon really takes
memory back (QEMU's RSS falls), the guest's statistics are real, deflate-on-OOM saves an
allocation, a target the guest cannot reach is survived, and the app's managed heap lends
memory through its balloon object without its collector ever touching the holes (and, made
unsafe on purpose, dies the way OSv's JVM balloon did)."""

from __future__ import annotations

import asyncio
import os

import pytest

from labkit import Exited, Machine, MachineState, Panicked
from labkit.balloon import (
    MIB,
    Balloon,
    read_stats,
    send_command,
    wait_console,
    wait_heap_balloon,
)
from labkit.events import BalloonEvent, HeapBalloonEvent
from labkit.lessons.ballooning import measure_inflation

pytestmark = pytest.mark.boot

#: Every QEMU these tests started; the last test checks that none is left.
STARTED: list[int] = []


def machine(app: str, *args: str, **options) -> Machine:
    options.setdefault("memory", "256M")
    options.setdefault("balloon", "on")
    return Machine(app, *args, **options)


async def boot(m: Machine, ready: str) -> Machine:
    """Start ``m`` unless ``async with`` did, note its QEMU, wait for the app's ``ready``."""
    if m.state == MachineState.NEW:
        await m.start()
    STARTED.append(m.pid)
    await wait_console(m, ready, 60)
    return m


async def test_inflating_touched_memory_gives_it_back_to_the_host():
    async with machine("memhog", "64") as m:
        await boot(m, r"(?m)^ready$")
        run = await measure_inflation(m, 64 * MIB)
        info = await Balloon(m).query()
    assert run.rss_fraction > 0.75, run                 # most of the 64 MiB left QEMU's RSS
    assert info.actual == 256 * MIB                     # and the deflation gave it all back
    actions = [e.action for e in run.events]
    assert actions == ["target", "reached", "target", "reached"]


async def test_untouched_memory_was_never_resident():
    async with machine("memhog") as m:                 # the guest never touched its RAM
        await boot(m, r"(?m)^ready$")
        run = await measure_inflation(m, 64 * MIB)
    assert run.rss_fraction < 0.25, run                 # so ballooning it frees almost nothing


async def test_guest_stats_are_real_numbers():
    async with machine("memhog") as m:
        await boot(m, r"(?m)^ready$")
        b = Balloon(m)
        before = await b.wait_stats()
        await b.take(64 * MIB)
        await b.wait_settled()
        settled = after = await b.stats()               # may be from the middle of inflating
        for _ in range(30):                             # QEMU asks once a second
            await asyncio.sleep(0.2)
            after = await b.stats()
            if after.last_update > settled.last_update:
                break
    assert before.real and after.real
    assert 240 * MIB < before.total <= 256 * MIB
    assert 0 < before.free <= before.total and before.available is not None
    assert before.free - after.free == pytest.approx(64 * MIB, abs=2 * MIB)


@pytest.mark.parametrize("mode, succeeds", [("on", False), ("deflate-on-oom", True)])
async def test_deflate_on_oom_saves_an_allocation(mode, succeeds):
    async with machine("memhog", memory="128M", balloon=mode) as m:
        await boot(m, r"(?m)^ready$")
        b = Balloon(m)
        await b.set_target(40 * MIB)                    # the host holds 88 of 128 MiB
        await b.wait_settled()
        free = (await read_stats(m))["free_bytes"]
        assert free < 48 * MIB                          # so 64 MiB cannot fit...
        reply = await send_command(m, "alloc 64", r"alloc 64 (ok|failed)")
        info = await b.query()
    assert reply.group(1) == ("ok" if succeeds else "failed")
    if succeeds:                                        # ...unless the guest takes pages back
        assert info.actual > 40 * MIB + (64 * MIB - free) - 4 * MIB
        assert "taking pages back from the host" in m.console.text
    else:
        assert info.actual == 40 * MIB


async def test_a_target_below_what_the_guest_can_give_is_survived():
    async with machine("memhog") as m:
        await boot(m, r"(?m)^ready$")
        b = Balloon(m)
        await b.set_target(1 * MIB)
        stuck = await b.wait_settled(stable=2.0)
        stats = await read_stats(m)                     # the app still answers
        await b.give_back()
        back = await b.wait_settled()
        await send_command(m, "quit", "SUCCESS")
        outcome = await m.wait(20)
    assert 1 * MIB < stuck.actual < 32 * MIB            # gave what it could, kept a reserve
    assert stats["free_bytes"] >= 4 * MIB - 64 * 1024
    assert back.actual == 256 * MIB
    assert isinstance(outcome, Exited) and outcome.app_status == 0
    assert any(e.action == "short" for e in m.events.of_type(BalloonEvent))


async def test_the_managed_heap_lends_memory_and_keeps_its_data():
    async with machine("managed_heap", "rate=32", "young=8", options={"metrics": 200}) as m:
        await boot(m, r"(?m)^ready heap_bytes")
        collections = []
        for _ in range(2):                              # the kernel's own hunger, twice
            held = await send_command(m, "hog 48", r"hog 48 held_bytes (\d+)")
            assert int(held.group(1)) == 48 * MIB
            lent = await read_stats(m)
            assert lent["balloon_bytes"] >= 32 * MIB
            collections.append(await check(m))
            await send_command(m, "hog 0", r"hog 0 held_bytes 0")
            collections.append(await check(m))
            await wait_heap_balloon(m, lambda e: e.balloon_bytes == 0)   # pressure is over
        run = await measure_inflation(m, 64 * MIB)      # the host's, through the heap
        collections.append(await check(m))
        stats = await read_stats(m)
        await send_command(m, "quit", r"SUCCESS")
        outcome = await m.wait(20)
    assert collections == sorted(set(collections)), collections   # the GC ran between them all
    assert run.rss_fraction > 0.6, run                  # lent pages really left QEMU
    assert stats["lent_bytes"] >= 2 * 32 * MIB + 48 * MIB and stats["returned_bytes"] > 0
    assert stats["alloc_failures"] == 0
    assert isinstance(outcome, Exited) and outcome.app_status == 0
    actions = {e.action for e in m.events.of_type(HeapBalloonEvent)}
    assert {"register", "inflate", "deflate", "report"} <= actions


async def check(m: Machine) -> int:
    """Collect (the GC runs over a heap with holes in it), then walk every chain and verify
    every checksum; returns the collections so far."""
    await send_command(m, "gc", r"gc live_bytes \d+")
    reply = await send_command(m, "check", r"check (\w+) objects \d+ bytes \d+ collections (\d+)")
    assert reply.group(1) == "ok", m.console.tail(20)
    return int(reply.group(2))


async def test_an_unsafe_balloon_object_faults_in_the_collector_like_osvs():
    m = machine("managed_heap", "unsafe", "young=8")
    try:
        await boot(m, r"(?m)^ready heap_bytes \d+ unsafe 1")
        # The faulting collection may run before the reply (gcc 14's build) or after it.
        await send_command(m, "hog 32", r"hog 32 held_bytes|KERNEL PANIC")
        outcome = await m.wait(60)
    finally:
        await m.close()
    assert isinstance(outcome, Panicked), outcome
    panic = m.events.panic
    assert panic.vector == 14 and panic.function == "memmove"
    assert "collect" in [f.symbol.split("+")[0] for f in panic.frames if f.symbol]
    assert panic.cr2 >= 1 << 40                         # in the app's heap...
    lent = [e for e in m.events.of_type(HeapBalloonEvent) if e.action == "inflate"]
    assert lent                                         # ...after it lent pages to the kernel


def test_no_qemu_is_left_behind():
    assert STARTED
    alive = [pid for pid in STARTED if os.path.exists(f"/proc/{pid}")
             and "zombie" not in open(f"/proc/{pid}/status").read()]
    assert alive == []

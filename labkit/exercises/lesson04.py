# SPDX-License-Identifier: MIT
"""Checks of lesson 04-ballooning. Each measures what it needs itself, never raises for a
wrong or broken answer, and returns a :class:`~labkit.exercises.CheckResult`.

The grader's table (``labkit.exercises.CHECKS``) lists them as
``"lesson04": ("untouched_fraction", "oom_actual", "cache_app")``.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

from ..errors import LabkitError
from ..events import HeapBalloonEvent
from ._check import CheckResult, current, exercise, failed, passed
from ._run import run_async

__all__ = ["check_untouched_fraction", "check_oom_actual", "check_cache_app",
           "check_lendable_stats", "LENDABLE_ARGS"]

#: How :func:`check_lendable_stats` runs managed_heap: a mutator slow enough (1 MiB/s) that
#: the heap's picture moves little between its report and the host's reading.
LENDABLE_ARGS = ("rate=1", "live=16")


def _number(answer: object) -> float | None:
    try:
        return float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


async def _untouched_fraction() -> float:
    from ..balloon import MIB, wait_console
    from ..lessons.ballooning import measure_inflation
    from ..machine import Machine

    async with Machine("memhog", memory="256M", balloon="on") as m:
        await wait_console(m, r"(?m)^ready$", 60)
        return (await measure_inflation(m, 64 * MIB)).rss_fraction


@exercise("lesson04", 1, "memory nobody touched", ("answer_fraction",), boots=False)
def check_untouched_fraction(answer: float, tolerance: float = 0.1) -> CheckResult:
    """Exercise 1: the fraction (0..1) of a 64 MiB inflation that leaves QEMU's RSS when the
    guest never touched that memory (``memhog`` with no argument), measured here."""
    name = current().label
    value = _number(answer)
    if value is None:
        return failed(name, f"give a number between 0 and 1, not {answer!r}")
    if value > 1.5:
        return failed(name, "a fraction is between 0 and 1 (did you give a percentage?)")
    try:
        measured = run_async(_untouched_fraction())
    except LabkitError as exc:
        return failed(name, f"the measurement failed: {exc}")
    if abs(value - measured) <= tolerance:
        return passed(name, f"yes: measured {measured:.2f}. Pages the guest never wrote were "
                            f"never backed by the host, so giving them back frees nothing")
    return failed(name, f"{value:.2f} is not it (more than {tolerance} away from what this "
                        f"machine measures); which of the guest's pages has QEMU ever backed?")


@exercise("lesson04", 2, "how far the guest grows back", ("answer_mib",), boots=False)
def check_oom_actual(answer_mib: float, tolerance: float = 6.0) -> CheckResult:
    """Exercise 2: with deflate-on-oom, the guest's size (``actual``, MiB) after ``memhog``
    allocated 64 MiB in a 128 MiB guest the host had shrunk to 40 MiB."""
    from ..balloon import MIB
    from ..lessons.ballooning import oom_trial

    name = current().label
    value = _number(answer_mib)
    if value is None:
        return failed(name, f"give a number of MiB, not {answer_mib!r}")
    try:
        trial = run_async(oom_trial("deflate-on-oom"))
    except LabkitError as exc:
        return failed(name, f"the measurement failed: {exc}")
    measured = trial.actual_after / MIB
    if abs(value - measured) <= tolerance:
        return passed(name, f"yes: the guest grew back to {measured:.1f} MiB. It took back from "
                            f"the host what 64 MiB needed beyond the {trial.free_before / MIB:.1f}"
                            f" MiB it had free, and a little more for page tables")
    return failed(name, f"{value:.1f} MiB is more than {tolerance:g} MiB away from the measured "
                        "size; start from the free memory before the allocation")


async def _cache_trial(app: str, archive: Path) -> dict:
    from ..balloon import (
        MIB,
        Balloon,
        wait_console,
        wait_heap_balloon,
    )
    from ..errors import MachineStateError, WaitTimeout
    from ..machine import Machine

    result: dict = {"lent": 0, "host_got": 0, "returned": False, "error": None}
    async with Machine(app, memory="256M", balloon="on", initrd=archive) as m:
        try:
            await wait_console(m, r"(?m)^ready", 30)
            b = Balloon(m)
            await b.take(64 * MIB)
            result["host_got"] = (await b.wait_settled(timeout=20, stable=2.0)).balloon_bytes
            result["lent"] = sum(e.bytes for e in m.events.of_type(HeapBalloonEvent)
                                 if e.action == "inflate")
            mark = len(m.console.text)
            await b.give_back()
            await wait_heap_balloon(m, lambda e: e.balloon_bytes == 0, 15, since=0)
            await wait_console(m, r"checked \d+ slabs, 0 lent", 10, start=mark)
            result["returned"] = True
        except (WaitTimeout, MachineStateError) as exc:
            result["error"] = str(exc).splitlines()[0]
        await asyncio.sleep(0.2)
    result["panic"] = m.events.panic
    result["console"] = m.console.text
    return result


@exercise("lesson04", 3, "a cache that lends", ("work/cache.c",), boots=True, points=3)
def check_cache_app(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 3: ``work/cache.c`` lends whole cache slabs to the kernel through
    ``uk_heap_balloon`` and never touches them while they are lent. Booted in a 256 MiB guest
    whose host then takes 64 MiB and gives it back: 1 point when the host gets its 64 MiB with at
    least 32 MiB of it lent by the cache, 1 for getting it all back, 1 for a cache that stayed
    intact (no panic, no corrupt slab)."""
    from ..build import compile_app

    name = current().label
    src = Path(source)
    if not src.is_file():
        return failed(name, f"{source}: no such file (did the %%writefile cell run?)", 3)
    if "cache_inflate.c" in src.read_text() and not (src.parent / "cache_inflate.c").is_file():
        return failed(name, f"{src.parent / 'cache_inflate.c'}: no such file (did the "
                            "%%writefile cell of your inflate() run?)", 3)
    with tempfile.TemporaryDirectory(prefix="labkit-check-") as out:
        try:
            app = compile_app(src, out_dir=Path(out))
        except LabkitError as exc:
            detail = getattr(exc, "output", "") or ""
            return failed(name, f"it does not compile: {exc}\n{detail}".strip(), 3)
        try:
            r = run_async(_cache_trial(app.name, app.archive))
        except LabkitError as exc:
            return failed(name, f"it does not boot: {exc}", 3)
    if r["panic"] is not None:
        return failed(name, "the kernel panicked: " + r["panic"].describe().splitlines()[0] +
                      ". Did the cache touch a slab while the kernel had it?", 3)
    if r["lent"] < 32 << 20 or r["host_got"] < 63 << 20:
        return failed(name, f"the host asked for 64 MiB and got {r['host_got'] >> 20}; the "
                            f"cache lent {r['lent'] >> 20} MiB of it (the kernel's free pool "
                            "holds at most about 16 MiB: the rest must come from the cache)", 3)
    points, notes = 1, []
    if r["returned"]:
        points += 1
    else:
        notes.append(f"the memory did not come back ({r['error'] or 'no deflate'})")
    if re.search(r"(?i)corrupt", r["console"]) is None and r["error"] is None:
        points += 1
    else:
        notes.append("a slab was corrupt, or the app stopped answering")
    if points == 3:
        return passed(name, f"the cache lent {r['lent'] >> 20} MiB in whole slabs, got them "
                            "back, and every slab it kept was intact", 3)
    return failed(name, "; ".join(notes), 3, points)


async def _lendable_trial(kernel: Path) -> dict:
    from ..balloon import Balloon, wait_console
    from ..machine import Machine

    async with Machine("managed_heap", *LENDABLE_ARGS, memory="256M", balloon="on",
                       kernel=kernel) as m:
        await wait_console(m, r"(?m)^ready", 30)
        b = Balloon(m)
        await b.wait_stats(timeout=10)      # the first reading is the buffer filled at boot
        samples = []
        for _ in range(3):
            await asyncio.sleep(1.1)            # QEMU asks the guest again every second
            samples.append((await b.stats()).values)
        reports = [e for e in m.events.of_type(HeapBalloonEvent) if e.action == "report"]
        return {"samples": samples, "reports": reports[-24:], "panic": m.events.panic}


@exercise("lesson04", 4, "what the heap could lend (kernel)", ("my_edit",), boots=True, points=2)
def check_lendable_stats(change: object) -> CheckResult:
    """Exercise 4 (kernel code): the balloon driver tells the host what the app's heap could
    lend. In ``fill_stats`` (``kernel/drivers/virtio_balloon.c``) the ``disk-caches`` statistic
    (tag 7) becomes the part of the app's heap that holds no object (``heap_bytes -
    used_bytes`` of its last report, from ``heap_balloon_get_stats``; 0 with no heap), and
    ``available-memory`` (tag 6) becomes free memory plus that, as Linux counts its page cache.

    The kernel is built with the change and boots managed_heap (``LENDABLE_ARGS``) in a 256 MiB
    guest; the host reads the statistics three times. 1 point when ``disk-caches`` matches one
    of the heap's recent reports to 1.5 MiB; 1 when ``available`` is ``free`` plus it."""
    from ..errors import LabkitError
    from ._run import variant_or_verdict

    name = current().label
    variant = variant_or_verdict(change, name, 2)
    if isinstance(variant, CheckResult):
        return variant
    with variant:
        try:
            r = run_async(_lendable_trial(variant.kernel))
        except LabkitError as exc:
            return failed(name, f"managed_heap did not run on your kernel: {exc}", 2)
    if r["panic"] is not None:
        return failed(name, "the kernel panicked: " + r["panic"].describe().splitlines()[0], 2)
    lendable = [e.heap_bytes - e.used_bytes for e in r["reports"]]
    tolerance = 3 << 19
    points, notes = 0, []
    caches = [s.get("disk_caches") or 0 for s in r["samples"]]
    if lendable and all(any(abs(c - x) <= tolerance for x in lendable) for c in caches):
        points += 1
    else:
        heap = f"{min(lendable) >> 20}-{max(lendable) >> 20} MiB" if lendable else "no report"
        notes.append(f"disk-caches read {', '.join(f'{c >> 20} MiB' for c in caches)}; the heap "
                     f"could lend {heap} (heap_bytes - used_bytes) meanwhile")
    sums = [(s.get("available") or 0) - (s.get("free") or 0) - (s.get("disk_caches") or 0)
            for s in r["samples"]]
    if all(abs(d) <= 1 << 16 for d in sums) and any(caches):
        points += 1
    elif not any(caches):
        notes.append("available-memory is just free-memory: it counts nothing of the heap")
    else:
        notes.append("available-memory is not free-memory plus disk-caches "
                     f"(off by {', '.join(f'{d >> 10} KiB' for d in sums)})")
    if points == 2:
        s = r["samples"][-1]
        return passed(name, f"the host sees {s['free'] >> 20} MiB free and "
                            f"{s['available'] >> 20} MiB available, {s['disk_caches'] >> 20} "
                            "MiB of it lendable by the app's heap", 2)
    return failed(name, "; ".join(notes), 2, points)

# SPDX-License-Identifier: MIT
"""Tables of lesson 04's measurements (labkit.render.Table: HTML in Jupyter, text elsewhere)."""

from __future__ import annotations

from ..balloon import MIB, GuestStats
from ..events import HeapBalloonEvent
from ..lessons.ballooning import InflationRun, OomTrial, Squeeze
from ..render import Table

__all__ = ["inflation_table", "stats_table", "oom_table", "heap_events_table", "squeeze_table"]


def _mib(n: int) -> str:
    return f"{n / MIB:,.1f} MiB"


def inflation_table(run: InflationRun) -> Table:
    """QEMU's RSS around one inflation and deflation, as a :class:`labkit.render.Table`."""
    return Table(f"the host takes {run.nbytes / MIB:.0f} MiB, then gives it back",
                 ("moment", "QEMU RSS", "change", "wall time"),
                 [("before", _mib(run.rss_before), "", ""),
                  ("inflated", _mib(run.rss_inflated), _mib(run.rss_inflated - run.rss_before),
                   f"{run.inflate_s:.2f} s"),
                  ("deflated", _mib(run.rss_after), _mib(run.rss_after - run.rss_inflated),
                   f"{run.deflate_s:.2f} s")])


def stats_table(stats: GuestStats) -> Table:
    """The guest's statistics, as QEMU received them."""
    rows = [(name, "not sent" if v is None else
             (_mib(v) if name in ("free", "total", "available", "disk_caches") else f"{v:,}"))
            for name, v in sorted(stats.values.items())]
    return Table("guest-stats (virtio-balloon statistics queue)", ("statistic", "value"), rows)


def oom_table(trials: list[OomTrial]) -> Table:
    """One row per :class:`OomTrial`."""
    return Table("memhog asks for memory the guest no longer has",
                 ("balloon", "free before", "allocation", "guest size before", "after"),
                 [(t.mode, _mib(t.free_before), f"{t.alloc_mib} MiB "
                   f"{'succeeded' if t.succeeded else 'failed'}", _mib(t.actual_before),
                   _mib(t.actual_after)) for t in trials])


def heap_events_table(events: list[HeapBalloonEvent], actions: tuple[str, ...] = (
        "inflate", "deflate", "refused")) -> Table:
    """The heap balloon's moves: what was lent or given back, and the picture after each."""
    rows = [(e.action, _mib(e.bytes), _mib(e.balloon_bytes), _mib(e.heap_bytes),
             _mib(e.pages_free * 4096), _mib(e.kernel_hog_pages * 4096))
            for e in events if e.action in actions]
    return Table("heap_balloon events (COM2)", ("action", "bytes", "balloon object",
                                               "app heap", "kernel free", "kernel hog"), rows)


def squeeze_table(results: list[Squeeze]) -> Table:
    """One row per :class:`Squeeze`."""
    return Table("the host asks a guest running managed_heap for memory",
                 ("guest", "asked", "got", "lent by the app's heap", "QEMU RSS", "the app"),
                 [(s.system, _mib(s.asked), _mib(s.got), _mib(s.lent_by_heap),
                   f"{s.rss_before / MIB:,.0f} -> {s.rss_after / MIB:,.0f} MiB",
                   "still running" if s.survived else (s.note or "gone"))
                  for s in results])

# SPDX-License-Identifier: MIT
"""``labkit bench``: the unikernel and a Linux guest, measured side by side in one run.

Every figure states its mode (docs/design.md, "Measurement"):

``size``
    bytes on disk.
``icount``
    exact guest instruction counts under ``-icount shift=0,align=off,sleep=off``: the TSC
    advances one tick per executed instruction, so a TSC difference is the same on every host.
    (When a guest halts, QEMU moves virtual time on to the next timer: a span that includes
    idle time counts it too. Neither guest idles during its boot or in ``syscall_bench``.)
``wall``
    wall time under TCG, the median of ``runs`` runs, and only ever as a ratio against a
    baseline measured in the same run: QEMU booting a kernel that exits at its first
    instruction (``images/exit_at_entry.elf``) for the boot, the unikernel for the rest.
    Absolute seconds stay in the JSON record (``raw``), for the curious.
``boot``
    whether a guest boots and exits 0 at all (the memory bisection): no timing.
``host``
    the host's view (QEMU's resident memory).

The suite (:func:`run_suite`), each figure for both guests where it applies:

======== =============================================================================
size     bootable image for hello: stripped kernel ELF + boot archive, and bzImage +
         initramfs (busybox, /init, helper, the app)
boot     instructions from reset to the app (``app_main`` milestone, on Linux ``app_exec``);
         QEMU start to that milestone in wall time, as a ratio to the floor
syscall  ``getpid()`` and 1-byte ``write()`` per call, and an empty loop iteration (the
         compute-bound control), from ``syscall_bench`` under icount
memory   the smallest ``-m`` (MiB) at which hello boots and exits 0 (bisection)
net      UDP echo round trip and HTTP keep-alive requests per second with a Python client
         (from :mod:`labkit.net.bench` when it is there), instructions per packet on the
         unikernel
clients  real clients: wrk and ``ab -k`` against httpd, redis-benchmark against kvstore,
         guests interleaved, requests per second and errors (:mod:`labkit.net.realclients`)
balloon  inflate and deflate 64 MiB through virtio-balloon (from :mod:`labkit.balloon`)
======== =============================================================================

:func:`run_suite` returns a :class:`BenchResult`: figures, comparisons (each with its
``Linux / unikernel`` ratio), what was skipped and why, and the record of the machine, QEMU
and settings. :meth:`BenchResult.to_json` writes the JSON record (schema :data:`SCHEMA`,
documented in ``docs/benchmarks.md``); :func:`format_result` the table; :func:`plot_result`
the plot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths
from .errors import BootError, LabkitError
from .events import MILESTONES, Milestone
from .lessons.anatomy import stripped_size
from .outcome import Exited

if TYPE_CHECKING:
    from .machine import Machine

__all__ = [
    "Figure",
    "Comparison",
    "Skipped",
    "BenchResult",
    "BenchSettings",
    "run_suite",
    "run_suite_async",
    "run_bench",
    "format_table",
    "format_result",
    "plot_result",
    "load_result",
    "format_markdown",
    "update_markdown",
    "boot_instructions",
    "syscall_costs",
    "icount_figures",
    "min_memory",
    "SCHEMA",
    "GROUPS",
]

#: The JSON record's schema name (bump when a field changes meaning).
SCHEMA = "labkit-bench/2"

#: The suite's groups, in the order they run and print.
GROUPS = ("size", "boot", "syscall", "memory", "net", "clients", "balloon")

UNI, LINUX = "unikernel", "linux"


# ------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class Figure:
    """One measured number of one guest (``guest`` empty: the host or QEMU itself)."""

    name: str
    value: float
    unit: str
    mode: str   # size, icount, wall, host
    note: str = ""
    guest: str = ""
    group: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """The same figure on both guests, measured in the same run; ``ratio`` is Linux over the
    unikernel (None when either side is missing)."""

    key: str
    name: str
    group: str
    unit: str
    mode: str
    unikernel: float | None
    linux: float | None
    note: str = ""
    better: str = "lower"    # or "higher" (requests per second, a fraction given back)
    #: (min, max) over the runs behind a wall-clock median; None where it was not kept.
    unikernel_range: tuple[float, float] | None = None
    linux_range: tuple[float, float] | None = None

    @property
    def ratio(self) -> float | None:
        if self.unikernel in (None, 0) or self.linux is None:
            return None
        return self.linux / self.unikernel

    @property
    def winner(self) -> str | None:
        """``"unikernel"``, ``"linux"``, ``"tie"`` (exact figures within 5 %), ``"no clear
        difference"`` (a wall-clock figure whose two min-max ranges overlap, or were not
        kept), or None. Wall-clock medians alone never name a winner."""
        r = self.ratio
        if r is None:
            return None
        if self.mode == "wall":
            a, b = self.unikernel_range, self.linux_range
            if a is None or b is None or (min(b) <= max(a) and min(a) <= max(b)):
                return "no clear difference"
        elif abs(r - 1) <= 0.05:
            return "tie"
        return UNI if (r > 1) == (self.better == "lower") else LINUX

    def spread(self, guest: str) -> str:
        """``min-median-max`` of ``guest``'s figure, or just the median where no range was
        kept."""
        value = self.unikernel if guest == UNI else self.linux
        rng = self.unikernel_range if guest == UNI else self.linux_range
        if value is None:
            return "-"

        def num(v: float) -> str:
            return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"

        if rng is None:
            return num(value)
        return f"{num(min(rng))}-{num(value)}-{num(max(rng))}"

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "winner": self.winner}


def _comparison(d: dict[str, Any]) -> Comparison:
    """A :class:`Comparison` from its JSON form (ranges come back as lists)."""
    fields: dict[str, Any] = {k: v for k, v in d.items() if k not in ("ratio", "winner")}
    for key in ("unikernel_range", "linux_range"):
        if fields.get(key) is not None:
            fields[key] = tuple(fields[key])
    return Comparison(**fields)


@dataclass(frozen=True)
class Skipped:
    """A part of the suite that did not run (``failed`` False: not available here)."""

    what: str
    why: str
    failed: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class BenchResult:
    """What one ``labkit bench`` run measured, and where."""

    info: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def comparison(self, key: str) -> Comparison | None:
        return next((c for c in self.comparisons if c.key == key), None)

    def figure(self, name: str, guest: str | None = None) -> Figure | None:
        return next((f for f in self.figures
                     if f.name == name and (guest is None or f.guest == guest)), None)

    @property
    def failed(self) -> list[Skipped]:
        return [s for s in self.skipped if s.failed]

    def as_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **self.info,
                "comparisons": [c.as_dict() for c in self.comparisons],
                "figures": [f.as_dict() for f in self.figures],
                "skipped": [s.as_dict() for s in self.skipped],
                "raw": self.raw}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchResult:
        if d.get("schema") != SCHEMA:
            raise LabkitError(f"bench record has schema {d.get('schema')!r}, this labkit reads "
                              f"{SCHEMA!r}: run `labkit bench --json FILE` again")
        known = {"schema", "comparisons", "figures", "skipped", "raw"}
        return cls(info={k: v for k, v in d.items() if k not in known},
                   figures=[Figure(**f) for f in d.get("figures", [])],
                   comparisons=[_comparison(c) for c in d.get("comparisons", [])],
                   skipped=[Skipped(**s) for s in d.get("skipped", [])],
                   raw=d.get("raw", {}))


def load_result(path: str | os.PathLike[str]) -> BenchResult:
    """A :class:`BenchResult` from a JSON record written by ``labkit bench --json``."""
    return BenchResult.from_dict(json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class BenchSettings:
    """How the suite runs. ``quick`` is for tests: one wall run, fewer iterations, no
    bisection, no net or balloon."""

    runs: int = 5
    machine: str = "pc"
    memory: str = "128M"
    iterations: int = 20000
    groups: tuple[str, ...] = GROUPS
    linux: bool = True
    quick: bool = False
    jobs: int = 0        # icount runs at once (0: the host's CPUs, at most 2)

    @classmethod
    def quick_settings(cls, **overrides: Any) -> BenchSettings:
        base = dict(runs=1, iterations=2000, groups=("size", "boot", "syscall"), quick=True)
        return cls(**{**base, **overrides})


# ------------------------------------------------------------------------------ small helpers
def qemu_version(qemu: str = "qemu-system-x86_64") -> str:
    """QEMU's version line, e.g. ``7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)``."""
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    found = re.search(r"version (\S+(?: \([^)]*\))?)", out)
    return found.group(1) if found else out.splitlines()[0] if out else "unknown"


def host_info() -> dict[str, Any]:
    """The host, as far as a benchmark record needs it (no names, no paths)."""
    model = ""
    with open("/proc/cpuinfo") if os.path.exists("/proc/cpuinfo") else open(os.devnull) as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"arch": platform.machine(), "cpu": model or platform.processor() or "unknown",
            "cpus": os.cpu_count(), "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version()}


def _mib(text: str) -> int:
    m = re.fullmatch(r"(\d+)([MG]?)", text.strip().upper().rstrip("B").replace("I", ""))
    if not m:
        raise BootError(f"memory size {text!r}: use e.g. 128M or 1G")
    return int(m.group(1)) * (1024 if m.group(2) == "G" else 1)


# ------------------------------------------------------------------------------ the two guests
class Guests:
    """Makes machines for both guests with the same QEMU options."""

    def __init__(self, settings: BenchSettings, linux_apps: Sequence[str] = ()) -> None:
        self.settings = settings
        self.linux_error: str | None = None
        self._linux: dict[str, Any] = {}
        self.linux_info: dict[str, Any] = {}
        if not settings.linux:
            self.linux_error = "not asked for (--no-linux)"
            return
        from . import linux

        try:
            for app in linux_apps:
                modules = app not in ("hello", "syscall_bench")   # virtio only where needed
                self._linux[app] = linux.prepare(apps=[app], modules=modules)
        except LabkitError as exc:
            self.linux_error = str(exc)
            return
        any_guest = next(iter(self._linux.values()), None)
        if any_guest is not None:
            self.linux_info = {"kernel": any_guest.kernel.path.name,
                               "version": any_guest.kernel.version,
                               "source": any_guest.kernel.source,
                               "kernel_args": list(linux.LINUX_KERNEL_ARGS),
                               "init": "busybox sh /init + labkit-guest helper (labkit/linux.py)"}

    @property
    def have_linux(self) -> bool:
        return self.linux_error is None

    def linux_guest(self, app: str) -> Any:
        if app not in self._linux:
            from . import linux

            self._linux[app] = linux.prepare(apps=[app])
        return self._linux[app]

    def machine(self, guest: str, app: str | None, *args: str, **options: Any) -> Any:
        from .machine import Machine

        opts = {"machine": self.settings.machine, "memory": self.settings.memory, **options}
        if guest == UNI:
            return Machine(app, *args, **opts)
        from .linux import linux_machine

        assert app is not None
        return linux_machine(app, *args, guest=self.linux_guest(app), **opts)

    async def run(self, guest: str, app: str, *args: str, timeout: float = 120.0,
                  **options: Any) -> Any:
        m = self.machine(guest, app, *args, **options)
        await m.start()
        try:
            await m.wait(timeout)
        finally:
            await m.close()
        return m


#: The milestone each guest reaches just before the app runs.
APP_START = {UNI: "app_main", LINUX: "app_exec"}


def _check_exit(m: Machine, what: str) -> None:
    if not isinstance(m.outcome, Exited) or m.outcome.app_status != 0:
        tail = m.console.tail(5)
        raise BootError(f"{what}: {m.outcome.describe() if m.outcome else 'no outcome'}; "
                        f"console tail:\n{tail}")


# ------------------------------------------------------------------------------ size
def size_figures(guests: Guests, app: str = "hello") -> tuple[list[Figure], list[Comparison]]:
    kernel = paths.kernel_image()
    archive = paths.app_archive(app)
    stripped = stripped_size(kernel)          # BOOTABLE_IMAGE, as lesson 00 measures it
    uni_total = stripped + archive.stat().st_size
    figs = [
        Figure("kernel.elf", kernel.stat().st_size, "bytes", "size", "with DWARF and symbols",
               UNI, "size"),
        Figure("kernel.elf stripped", stripped, "bytes", "size", "strip --strip-all", UNI,
               "size"),
        Figure(f"{app}.cpio", archive.stat().st_size, "bytes", "size",
               "boot archive: the app .so", UNI, "size"),
        Figure(f"bootable image ({app})", uni_total, "bytes", "size",
               "stripped kernel + boot archive", UNI, "size"),
    ]
    linux_total = None
    if guests.have_linux:
        g = guests.linux_guest(app)
        bz, initrd = g.kernel.path.stat().st_size, g.initramfs.stat().st_size
        linux_total = bz + initrd
        figs += [
            Figure("bzImage", bz, "bytes", "size", g.kernel.path.name, LINUX, "size"),
            Figure(f"initramfs ({app})", initrd, "bytes", "size",
                   "gzip cpio: busybox, /init, labkit-guest, the static app", LINUX, "size"),
            Figure(f"bootable image ({app})", linux_total, "bytes", "size",
                   "bzImage + initramfs", LINUX, "size"),
        ]
    return figs, [Comparison("image_bytes", f"bootable image ({app})", "size", "bytes", "size",
                             uni_total, linux_total,
                             "stripped kernel ELF + cpio vs bzImage + initramfs")]


# ------------------------------------------------------------------------------ icount
async def boot_instructions(app: str = "hello", machine: str = "pc") -> dict[str, int]:
    """TSC stamps of the unikernel's boot milestones under ``-icount shift=0`` (instructions
    since reset), plus ``exit``."""
    guests = Guests(BenchSettings(machine=machine, linux=False))
    return _stamps(await guests.run(UNI, app, icount=0, timeout=60), app)


def _stamps(m: Machine, what: str) -> dict[str, int]:
    _check_exit(m, f"{what} under icount")
    stamps = {name: ev.tsc for name, ev in m.events.milestones.items()}
    if m.events.exit is not None and m.events.exit.tsc is not None:
        stamps["exit"] = m.events.exit.tsc
    return stamps


def icount_figures(stamps: dict[str, int], app: str = "hello") -> list[Figure]:
    """The unikernel's boot, phase by phase, from its milestone stamps."""
    figures = []
    if "entry" in stamps and "app_main" in stamps:
        figures.append(Figure("entry -> app_main", stamps["app_main"] - stamps["entry"],
                              "instructions", "icount", "kernel entry to the app's main"))
    order = [m for m in MILESTONES if m in stamps]
    for a, b in zip(order, order[1:], strict=False):
        figures.append(Figure(f"  {a} -> {b}", stamps[b] - stamps[a], "instructions",
                              "icount"))
    if "app_main" in stamps and "exit" in stamps:
        figures.append(Figure(f"{app} main -> exit", stamps["exit"] - stamps["app_main"],
                              "instructions", "icount", "the app itself"))
    return figures


def boot_figures(uni: dict[str, int], lin: dict[str, int] | None,
                 app: str = "hello") -> tuple[list[Figure], list[Comparison]]:
    figs = [dataclasses.replace(f, guest=UNI, group="boot") for f in icount_figures(uni, app)]
    figs.insert(0, Figure("reset -> app_main", uni["app_main"], "instructions", "icount",
                          "firmware + kernel, up to the app's main()", UNI, "boot"))
    lin_start = lin_run = None
    if lin is not None:
        lin_start = lin["app_exec"]
        figs += [
            Figure("reset -> /init", lin["init"], "instructions", "icount",
                   "firmware + Linux boot, up to the first line of /init", LINUX, "boot"),
            Figure("/init -> app_exec", lin["app_exec"] - lin["init"], "instructions",
                   "icount", "mounts, then fork and execve of the app", LINUX, "boot"),
            Figure("reset -> app_exec", lin_start, "instructions", "icount",
                   "firmware + Linux + /init, up to execve of the app", LINUX, "boot"),
        ]
        if "exit" in lin:
            lin_run = lin["exit"] - lin["app_exec"]
            figs.append(Figure(f"{app} execve -> exit", lin_run, "instructions", "icount",
                               "execve, the app, its exit and the wait in /init", LINUX, "boot"))
    comps = [Comparison("boot_instructions", "reset -> app start", "boot", "instructions",
                        "icount", uni["app_main"], lin_start,
                        "unikernel: app_main milestone; Linux: execve of the app")]
    if "exit" in uni:
        comps.append(Comparison("hello_run_instructions", f"{app}: app start -> exit", "boot",
                                "instructions", "icount", uni["exit"] - uni["app_main"],
                                lin_run, "printf of a few lines to the serial console, exit"))
    return figs, comps


_LINE = re.compile(r"^(\w+) ([-0-9.]+)\s*$", re.M)


def _costs(m: Machine) -> dict[str, float]:
    _check_exit(m, "syscall_bench under icount")
    costs = {k: float(v) for k, v in _LINE.findall(m.console.text)}
    if "getpid_ticks_per_call" not in costs:
        raise BootError("syscall_bench printed no 'getpid_ticks_per_call' line; console tail:\n"
                        + m.console.tail(5))
    return costs


async def syscall_costs(iterations: int = 20000, machine: str = "pc") -> dict[str, float]:
    """The unikernel's ``syscall_bench`` "name value" lines under icount."""
    guests = Guests(BenchSettings(machine=machine, linux=False))
    return _costs(await guests.run(UNI, "syscall_bench", str(iterations), icount=0))


SYSCALLS = (("getpid_ticks_per_call", "getpid_instructions", "getpid() per call",
             "unikernel: a function call; Linux: syscall, kernel entry and exit"),
            ("write_ticks_per_call", "write_instructions", "write(/dev/null, 1 byte) per call",
             "the same, with a file descriptor lookup"),
            ("loop_ticks_per_iter", "loop_instructions", "empty loop iteration",
             "compute-bound control: the same code on both (subtracted above)"))


def syscall_figures(uni: dict[str, float], lin: dict[str, float] | None,
                    iterations: int) -> tuple[list[Figure], list[Comparison]]:
    figs, comps = [], []
    for key, cmp_key, label, note in SYSCALLS:
        for guest, costs in ((UNI, uni), (LINUX, lin)):
            if costs is not None and key in costs:
                figs.append(Figure(label, costs[key], "instructions", "icount",
                                   f"syscall_bench {iterations}", guest, "syscall"))
        comps.append(Comparison(cmp_key, label, "syscall", "instructions", "icount",
                                uni.get(key), lin.get(key) if lin else None, note))
    return figs, comps


# ------------------------------------------------------------------------------ wall
def floor_kernel() -> Path:
    """The floor of the wall-time boot: a kernel (``labkit.tinykernel``) whose first
    instructions write one COM2 milestone, ``entry``, and exit. QEMU's start to that line is
    what QEMU and its firmware cost before any kernel runs."""
    folder = Path(tempfile.gettempdir()) / f"labkit-floor-{os.getuid()}"
    folder.mkdir(exist_ok=True, mode=0o700)
    from .tinykernel import write_tiny_kernel

    return write_tiny_kernel(folder / "floor.elf", exit_value=0,
                             com2=b'{"ev":"milestone","name":"entry","tsc":0}\n')


async def _timed_boot(guests: Guests, guest: str | None, app: str | None) -> tuple[float, float]:
    """(QEMU start -> the app's start milestone, QEMU start -> exit) in seconds, one run.
    ``guest`` None boots the floor kernel (its milestone: ``entry``)."""
    from .machine import Machine

    if guest is None:
        m = Machine(None, kernel=floor_kernel(), machine=guests.settings.machine,
                    memory=guests.settings.memory)
    else:
        m = guests.machine(guest, app)
    seen: dict[str, float] = {}
    target = APP_START.get(guest or "", "entry")
    m.events.subscribe(lambda ev: isinstance(ev, Milestone) and ev.name == target
                       and seen.setdefault("t", time.perf_counter()))
    await m.start()
    try:
        await m.wait(60)
    finally:
        await m.close()
    if guest is not None:
        _check_exit(m, f"{app} on {guest}")
    assert m.started_at is not None and m.wall_time is not None
    if "t" not in seen:
        raise BootError(f"no {target} milestone from {guest or 'the floor kernel'}")
    return seen["t"] - m.started_at, m.wall_time


def _range(values: Iterable[float]) -> tuple[float, float]:
    """(min, max) of a wall-clock figure's runs."""
    v = list(values)
    return (min(v), max(v))


async def wall_boot(guests: Guests, runs: int, app: str = "hello"
                    ) -> tuple[list[Figure], list[Comparison], dict[str, Any]]:
    """Interleaved runs (floor, unikernel, Linux, floor, ...) so that drift on a shared host
    hits all three alike; medians, as ratios to the floor of the same run."""
    who: list[str | None] = [None, UNI] + ([LINUX] if guests.have_linux else [])
    samples: dict[str, list[tuple[float, float]]] = {str(g): [] for g in who}
    for _ in range(runs):
        for g in who:
            samples[str(g)].append(await _timed_boot(guests, g, app))
    floor_start = statistics.median(s[0] for s in samples["None"])
    floor_exit = statistics.median(s[1] for s in samples["None"])
    start = {g: statistics.median(s[0] for s in samples[g]) for g in (UNI, LINUX)
             if samples.get(g)}
    end = {g: statistics.median(s[1] for s in samples[g]) for g in start}
    figs = []
    for g in start:
        figs += [Figure(f"QEMU start -> {APP_START[g]} / floor", start[g] / floor_start, "x",
                        "wall", f"median of {runs}; floor: QEMU start -> first instruction", g,
                        "boot"),
                 Figure(f"QEMU start -> exit of {app} / floor", end[g] / floor_exit, "x",
                        "wall", f"median of {runs}; floor: QEMU start -> exit at the first "
                                "instruction", g, "boot")]
    raw = {"floor_entry_ms": [s[0] * 1000 for s in samples["None"]],
           "floor_exit_ms": [s[1] * 1000 for s in samples["None"]],
           **{f"{g}_app_start_ms": [s[0] * 1000 for s in samples[g]] for g in start},
           **{f"{g}_exit_ms": [s[1] * 1000 for s in samples[g]] for g in start}}
    span = {g: _range(s[0] / floor_start for s in samples[g]) for g in start}
    comps = [Comparison("boot_wall_ratio", "QEMU start -> app start, x floor", "boot", "x floor",
                        "wall", start[UNI] / floor_start,
                        start[LINUX] / floor_start if LINUX in start else None,
                        f"median of {runs} under TCG, over the floor of the same run",
                        unikernel_range=span[UNI], linux_range=span.get(LINUX))]
    return figs, comps, raw


# ------------------------------------------------------------------------------ memory
async def min_memory(probe: Callable[[int], Awaitable[bool]], hi: int = 512,
                     lo: int = 1) -> tuple[int, list[tuple[int, bool]]]:
    """The smallest MiB count in ``(lo, hi]`` for which ``probe`` is true, by bisection
    (``lo`` is taken as failing: QEMU's firmware alone needs more than 1 MiB). Returns it
    with the probes made."""
    probes: list[tuple[int, bool]] = []
    ok = await probe(hi)
    probes.append((hi, ok))
    if not ok:
        raise BootError(f"hello does not boot even with -m {hi}M")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok = await probe(mid)
        probes.append((mid, ok))
        lo, hi = (lo, mid) if ok else (mid, hi)
    return hi, probes


async def memory_figures(guests: Guests, runner: Callable[..., Awaitable[Any]]
                         ) -> tuple[list[Figure], list[Comparison], dict[str, Any]]:
    async def probe_for(guest: str) -> tuple[int, list[tuple[int, bool]]]:
        async def probe(mib: int) -> bool:
            m = await runner(guests.run(guest, "hello", memory=f"{mib}M",
                                        timeout=30 if guest == LINUX else 10))
            return isinstance(m.outcome, Exited) and m.outcome.app_status == 0
        return await min_memory(probe)

    who = [UNI] + ([LINUX] if guests.have_linux else [])
    found = dict(zip(who, await asyncio.gather(*(probe_for(g) for g in who)), strict=True))
    figs = [Figure("smallest -m for hello", found[g][0], "MiB", "boot",
                   f"bisection, {len(found[g][1])} boots", g, "memory") for g in who]
    comps = [Comparison("min_memory_mib", "smallest -m for hello", "memory", "MiB", "boot",
                        found[UNI][0], found[LINUX][0] if LINUX in found else None,
                        "bisection between 1 and 512 MiB: boots and exits 0")]
    return figs, comps, {f"{g}_memory_probes": found[g][1] for g in who}


# ------------------------------------------------------------------------------ net
def _optional(module: str, name: str) -> Any:
    """``module.name`` if another part of the lab has added it yet, else None."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


async def _linux_udp_rtt(guests: Guests, count: int) -> float:
    from .net import Wire
    from .net.bench import median_udp_rtt

    m = guests.machine(LINUX, "netecho", net="wire")
    await m.start()
    try:
        await m.events.wait_milestone("app_exec", 60)
        with Wire.attach(m) as wire:
            for i in range(20):             # warm up: ARP, the app's first packets
                await asyncio.to_thread(_retry_udp, wire, b"warm %d" % i)
            return await median_udp_rtt(wire, count)
    finally:
        await m.close()


def _retry_udp(wire: Any, payload: bytes, tries: int = 50) -> bytes:
    """The first echo may come before the app has bound its port: try again."""
    last: Exception | None = None
    for _ in range(tries):
        try:
            return wire.udp(7, payload, timeout=1.0)
        except Exception as exc:  # noqa: BLE001 - the wire's timeout error
            last = exc
    raise BootError(f"no UDP echo from the Linux guest: {last}")


async def _linux_http_rate(guests: Guests, count: int) -> float:
    from .net import NetConfig

    requests = _optional("labkit.net.bench", "_http_requests")
    net = NetConfig("user", forward={80: 0})
    m = guests.machine(LINUX, "httpd", net=net)
    await m.start()
    try:
        await m.console.wait_for("httpd: listening", 60)
        port = net.host_port(80)
        await asyncio.to_thread(requests, port, 20)
        return count / await asyncio.to_thread(requests, port, count)
    finally:
        await m.close()


async def net_figures(guests: Guests, settings: BenchSettings
                      ) -> tuple[list[Figure], list[Comparison], list[Skipped]]:
    bench = _optional("labkit.net.bench", "bench")
    if bench is None:
        return [], [], [Skipped("UDP echo and HTTP", "not available yet: labkit.net.bench "
                                                     "has no bench()")]
    result = await bench(quick=settings.quick)
    figs: list[Figure] = []
    for (what, path), c in result.costs.items():
        figs.append(Figure(f"{what}, net={path}", c.total, "instructions", "icount",
                           f"per packet, kernel stages only ({c.count} packets)", UNI, "net"))
    for path, rtt in result.udp_rtt_us.items():
        figs.append(Figure(f"UDP echo RTT, net={path} / net=classic",
                           rtt / result.udp_rtt_us["classic"], "x", "wall", "median", UNI, "net"))
    for path, rps in result.http_rps.items():
        figs.append(Figure(f"HTTP requests/s, net={path} / net=classic",
                           rps / result.http_rps["classic"], "x", "wall", "keep-alive", UNI,
                           "net"))
    comps: list[Comparison] = []
    skipped: list[Skipped] = []
    linux_rtt = linux_rps = None
    if guests.have_linux:
        scale = 4 if settings.quick else 1
        try:
            linux_rtt = await _linux_udp_rtt(guests, 300 // scale)
            if _optional("labkit.net.bench", "_http_requests") is not None:
                linux_rps = await _linux_http_rate(guests, 500 // scale)
        except LabkitError as exc:
            skipped.append(Skipped("net on Linux", str(exc), failed=True))
    for path in result.udp_rtt_us:          # Linux has one path: shown once, on classic
        comps.append(Comparison(f"udp_rtt_{path}", f"UDP echo round trip (net={path})", "net",
                                "us", "wall", result.udp_rtt_us[path],
                                linux_rtt if path == "classic" else None,
                                "median; the ratio carries over between hosts, microseconds "
                                "do not"))
    for path in result.http_rps:
        comps.append(Comparison(f"http_rps_{path}",
                                f"HTTP requests/s, Python client (net={path})", "net", "req/s",
                                "wall", result.http_rps[path],
                                linux_rps if path == "classic" else None,
                                "keep-alive, one connection, through hostfwd; the client "
                                "is the bottleneck (see the clients group)", "higher"))
    skipped.append(Skipped("instructions per packet on Linux",
                           "the Linux guest has no per-stage counters; its whole-guest count "
                           "would include idle time under icount"))
    return figs, comps, skipped


# ------------------------------------------------------------------------------ real clients
async def clients_figures(settings: BenchSettings, progress: Callable[[str], None] | None = None
                          ) -> tuple[list[Figure], list[Comparison], list[Skipped], dict]:
    """The ``clients`` group of ``labkit bench`` (:mod:`labkit.bench`): figures, comparisons
    (requests/s, better higher; errors, better lower), what was skipped, and the raw samples."""
    from .net.realclients import BUDGETS, LINUX, UNI, client_bench

    runs = 1 if settings.quick else settings.runs
    result = await client_bench(runs, settings.quick, settings.memory, settings.linux,
                                progress, machine=settings.machine)
    figs: list[Figure] = []
    comps: list[Comparison] = []
    for name, v in result.rps.items():
        key = name.split("/")[0]
        ratio = result.ratio(name)
        budget = BUDGETS.get(name)
        note = (f"`{result.commands[key]}`, through hostfwd; median of {runs}, guests "
                "interleaved" + (f"; unikernel/Linux {ratio:.2f}x" if ratio else "")
                + (f" (budget >= {budget:g}x)" if budget else ""))
        comps.append(Comparison(f"clients_{name.replace('/', '_').lower()}",
                                result.labels[name], "clients", "req/s", "wall", v.get(UNI),
                                v.get(LINUX), note, "higher",
                                *(_range(result.samples[name][g]) if result.samples.get(name, {})
                                  .get(g) else None for g in (UNI, LINUX))))
        if ratio:
            figs.append(Figure(f"{result.labels[name]}: unikernel / Linux", ratio, "x", "wall",
                               note, UNI, "clients"))
    for key, by_guest in result.errors.items():
        comps.append(Comparison(f"clients_{key}_errors", f"{result.commands[key].split()[0]} "
                                "errors", "clients", "errors", "host", by_guest.get(UNI),
                                by_guest.get(LINUX), f"summed over {runs} runs: "
                                "socket errors, failed or non-2xx requests, error replies"))
    skipped = [Skipped(what, why) for what, why in result.skipped]
    skipped.append(Skipped("new connections per second",
                           "QEMU's hostfwd listener has a backlog of 1: a burst of new "
                           "connections waits ~1 s to connect on either guest, so such a "
                           "figure would measure QEMU; every client here keeps its "
                           "connections alive"))
    raw = {"clients_rps": result.samples, "clients_errors": result.errors,
           "clients_commands": result.commands}
    return figs, comps, skipped, raw


# ------------------------------------------------------------------------------ balloon
async def _inflate_pair(guests: Guests, guest: str, mib: int) -> tuple[float, float, float]:
    """(inflate s, deflate s, fraction of RSS returned) for ``mib`` MiB on ``guest``."""
    from . import balloon

    m = guests.machine(guest, "memhog", str(mib), memory="256M", balloon="on")
    await m.start()
    try:
        await m.console.wait_for(r"(?m)^ready", timeout=60)
        b = balloon.Balloon(m)
        await asyncio.sleep(0.3)
        before = b.host_memory().rss_bytes
        t0 = time.perf_counter()
        await b.take(mib * balloon.MIB)
        await b.wait_settled(60, poll=0.005)
        inflate = time.perf_counter() - t0
        inflated = b.host_memory().rss_bytes
        t0 = time.perf_counter()
        await b.give_back()
        await b.wait_settled(60, poll=0.005)
        deflate = time.perf_counter() - t0
    finally:
        await m.close()
    return inflate, deflate, (before - inflated) / (mib * balloon.MIB)


async def balloon_figures(guests: Guests, settings: BenchSettings
                          ) -> tuple[list[Figure], list[Comparison], list[Skipped], dict]:
    detail = _optional("labkit.lessons.ballooning", "balloon_figures")
    if _optional("labkit.balloon", "Balloon") is None:
        return [], [], [Skipped("balloon", "not available yet: no labkit.balloon")], {}
    figs: list[Figure] = []
    raw: dict[str, Any] = {}
    if detail is not None:
        for f in await detail(runs=1 if settings.quick else 3, machine=settings.machine):
            if f.mode == "wall" and f.unit in ("s", "ms", "us"):   # seconds: raw only
                raw.setdefault("balloon_detail_wall", {})[f.name] = [f.value, f.unit]
            else:
                figs.append(dataclasses.replace(f, guest=UNI, group="balloon"))
    mib, runs = 64, 1 if settings.quick else 3
    who = [UNI] + ([LINUX] if guests.have_linux else [])
    samples: dict[str, list[tuple[float, float, float]]] = {g: [] for g in who}
    for _ in range(runs):
        for g in who:
            samples[g].append(await _inflate_pair(guests, g, mib))
    med = {g: [statistics.median(s[i] for s in samples[g]) for i in range(3)] for g in who}
    span = {g: [_range(s[i] for s in samples[g]) for i in range(2)] for g in who}
    comps = [
        Comparison("balloon_inflate", f"inflate {mib} MiB", "balloon", "s", "wall",
                   med[UNI][0], med[LINUX][0] if LINUX in med else None,
                   f"QMP balloon until query-balloon reaches the target, median of {runs}",
                   unikernel_range=span[UNI][0],
                   linux_range=span[LINUX][0] if LINUX in span else None),
        Comparison("balloon_deflate", f"deflate {mib} MiB", "balloon", "s", "wall",
                   med[UNI][1], med[LINUX][1] if LINUX in med else None, "back to full size",
                   unikernel_range=span[UNI][1],
                   linux_range=span[LINUX][1] if LINUX in span else None),
        Comparison("balloon_rss_fraction", f"{mib} MiB ballooned leaving QEMU's RSS",
                   "balloon", "fraction", "host", med[UNI][2],
                   med[LINUX][2] if LINUX in med else None,
                   "after memhog touched and freed them", "higher"),
    ]
    raw.update({f"{g}_balloon_s": samples[g] for g in who})
    return figs, comps, [], raw


# ------------------------------------------------------------------------------ the suite
async def run_suite_async(settings: BenchSettings | None = None,
                          progress: Callable[[str], None] | None = None) -> BenchResult:
    """Run the suite; a part that fails is recorded in ``skipped`` (``failed=True``) and the
    rest still runs."""
    settings = settings or BenchSettings()
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    result = BenchResult()
    groups = [g for g in GROUPS if g in settings.groups]
    jobs = settings.jobs or max(1, min(2, os.cpu_count() or 1))
    limit = asyncio.Semaphore(jobs)

    async def limited(coro: Awaitable[Any]) -> Any:
        async with limit:
            return await coro

    linux_apps = [a for a in ("hello", "syscall_bench") if settings.linux]
    say("preparing the Linux guest" if settings.linux else "Linux guest skipped")
    guests = await asyncio.to_thread(Guests, settings, linux_apps)
    if not guests.have_linux:
        result.skipped.append(Skipped("the Linux side of every figure", guests.linux_error or "",
                                      failed=False))
    result.info = {
        "command": "labkit bench" + (" --quick" if settings.quick else ""),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": host_info(),
        "qemu": {"binary": "qemu-system-x86_64", "version": qemu_version()},
        "settings": {"accel": "tcg", "machine": settings.machine, "memory": settings.memory,
                     "smp": 1, "runs": settings.runs, "iterations": settings.iterations,
                     "quick": settings.quick, "groups": groups,
                     "icount": "shift=0,align=off,sleep=off"},
        "guests": {UNI: {"kernel": "images/kernel.elf", "floor": "images/exit_at_entry.elf"},
                   LINUX: guests.linux_info if guests.have_linux
                   else {"available": False, "why": guests.linux_error}},
    }

    def add(figs: list[Figure], comps: list[Comparison]) -> None:
        result.figures += figs
        result.comparisons += comps

    async def part(name: str, coro: Awaitable[Any]) -> Any:
        t0 = time.perf_counter()
        say(f"{name} ...")
        try:
            out = await coro
        except Exception as exc:  # noqa: BLE001 - one part failing must not lose the others
            result.skipped.append(Skipped(name, f"failed: {exc}", failed=True))
            say(f"{name}: FAILED: {exc}")
            return None
        result.raw.setdefault("seconds", {})[name] = round(time.perf_counter() - t0, 2)
        say(f"{name}: {time.perf_counter() - t0:.1f} s")
        return out

    lin = guests.have_linux
    if "size" in groups:
        out = await part("size", asyncio.to_thread(size_figures, guests))
        if out:
            add(*out)
    # The icount runs are exact whatever else the host does: run them side by side.
    icount: dict[str, Awaitable[Any]] = {}
    if "boot" in groups:
        icount["boot uni"] = limited(guests.run(UNI, "hello", icount=0))
        if lin:
            icount["boot linux"] = limited(guests.run(LINUX, "hello", icount=0))
    if "syscall" in groups:
        n = str(settings.iterations)
        icount["syscall uni"] = limited(guests.run(UNI, "syscall_bench", n, icount=0))
        if lin:
            icount["syscall linux"] = limited(guests.run(LINUX, "syscall_bench", n, icount=0))
    if "memory" in groups and not settings.quick:
        icount["memory"] = memory_figures(guests, limited)
    names = list(icount)
    done = await part("icount runs and memory bisection",
                      asyncio.gather(*icount.values(), return_exceptions=True))
    got = dict(zip(names, done or [None] * len(names), strict=True))
    for key, value in got.items():
        if isinstance(value, BaseException):
            result.skipped.append(Skipped(key, f"failed: {value}", failed=True))
            got[key] = None
    try:
        if got.get("boot uni") is not None:
            lin_stamps = (_stamps(got["boot linux"], "hello on Linux")
                          if got.get("boot linux") is not None else None)
            add(*boot_figures(_stamps(got["boot uni"], "hello"), lin_stamps))
        if got.get("syscall uni") is not None:
            add(*syscall_figures(_costs(got["syscall uni"]),
                                 _costs(got["syscall linux"]) if got.get("syscall linux")
                                 else None, settings.iterations))
        if got.get("memory") is not None:
            figs, comps, raw = got["memory"]
            add(figs, comps)
            result.raw.update(raw)
    except LabkitError as exc:
        result.skipped.append(Skipped("icount figures", f"failed: {exc}", failed=True))
    if "memory" in groups and settings.quick:
        result.skipped.append(Skipped("memory", "not in --quick (a bisection takes ~20 boots)"))
    # Wall time last and alone, so nothing else competes for the CPU.
    if "boot" in groups:
        out = await part("wall-time boots", wall_boot(guests, settings.runs))
        if out:
            add(out[0], out[1])
            result.raw.update(out[2])
    if "net" in groups:
        out = await part("net", net_figures(guests, settings))
        if out:
            add(out[0], out[1])
            result.skipped += out[2]
    if "clients" in groups:
        out = await part("real clients", clients_figures(settings, say))
        if out:
            add(out[0], out[1])
            result.skipped += out[2]
            result.raw.update(out[3])
    if "balloon" in groups:
        out = await part("balloon", balloon_figures(guests, settings))
        if out:
            add(out[0], out[1])
            result.skipped += out[2]
            result.raw.update(out[3])
    result.info["duration_s"] = round(time.perf_counter() - started, 1)
    return result


def run_suite(settings: BenchSettings | None = None,
              progress: Callable[[str], None] | None = None) -> BenchResult:
    """:func:`run_suite_async` for scripts and the command line (works where an event loop
    already runs, e.g. in a notebook, through labkit's loop thread)."""
    from .asyncrun import run_coroutine

    return run_coroutine(run_suite_async(settings, progress))


def run_bench(runs: int = 5, machine: str = "pc") -> list[Figure]:
    """The figures of a full run (see :func:`run_suite` for the whole record)."""
    return run_suite(BenchSettings(runs=runs, machine=machine)).figures


# ------------------------------------------------------------------------------ presentation
def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("bytes", "instructions", "MiB", "errors") and value == int(value):
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x" if r < 100 else f"{r:,.0f}x"


def format_table(figures: Sequence[Figure]) -> str:
    """Figures, one a line, with unit, mode and note."""
    width = max(len(f.name) for f in figures)
    lines = [f"{'figure':<{width}}  {'guest':<9}  {'value':>14}  {'unit':<12}  {'mode':<6}  note",
             "-" * (width + 62)]
    for f in figures:
        lines.append(f"{f.name:<{width}}  {f.guest or '-':<9}  {_fmt(f.value, f.unit):>14}  "
                     f"{f.unit:<12}  {f.mode:<6}  {f.note}")
    return "\n".join(lines)


def _shown(c: Comparison) -> tuple[float | None, float | None, str]:
    """Wall-clock comparisons print as ratios to the unikernel (1.00) unless already ratios."""
    if c.mode == "wall" and not c.unit.startswith("x"):
        return (1.0 if c.unikernel else None, c.ratio, f"x uni ({c.unit})")
    return c.unikernel, c.linux, c.unit


def format_result(result: BenchResult, details: bool = True) -> str:
    """The comparison table, then (``details``) every figure, then what was skipped."""
    info = result.info
    s = info.get("settings", {})
    host = info.get("host", {})
    lines = [f"labkit bench: QEMU {info.get('qemu', {}).get('version', '?')}, "
             f"accel {s.get('accel')}, machine {s.get('machine')}, -m {s.get('memory')}, 1 vCPU; "
             f"host {host.get('cpus')} x {host.get('cpu')}"]
    linux = info.get("guests", {}).get(LINUX, {})
    lines.append(f"Linux guest: {linux.get('version')} ({linux.get('source')})"
                 if linux.get("version") else f"Linux guest: none ({linux.get('why', '?')})")
    lines.append("")
    width = max([len(c.name) for c in result.comparisons] + [10])
    lines.append(f"{'':8}{'figure':<{width}}  {'unikernel':>14}  {'Linux':>14}  "
                 f"{'Linux/uni':>9}  {'unit':<14}  {'mode':<6}  better")
    lines.append("-" * (width + 90))
    for c in result.comparisons:
        u, lx, unit = _shown(c)
        ratio = _ratio(c.ratio)
        lines.append(f"{c.group:<8}{c.name:<{width}}  {_fmt(u, unit):>14}  {_fmt(lx, unit):>14}"
                     f"  {ratio:>9}  {unit:<14}  {c.mode:<6}  {c.winner or '-'}")
    lines += _spread_lines(result)
    if details and result.figures:
        lines += ["", "Every figure (wall-time figures are ratios; seconds are in the JSON's raw):",
                  format_table(result.figures)]
    if result.skipped:
        lines += ["", "Skipped:"]
        lines += [f"  {'FAILED ' if sk.failed else ''}{sk.what}: {sk.why}"
                  for sk in result.skipped]
    if "duration_s" in info:
        lines += ["", f"({info['duration_s']:.0f} s)"]
    return "\n".join(lines)


def _spread_lines(result: BenchResult) -> list[str]:
    """The wall rows' min-median-max, and the rule that names their winners."""
    wall = [c for c in result.comparisons if c.mode == "wall"]
    if not wall:
        return []
    out = ["", "wall rows, min-median-max over the runs (a winner is named only where the two "
               "ranges do not overlap; a median alone names none):"]
    for c in wall:
        out.append(f"  {c.name}: unikernel {c.spread(UNI)}, Linux {c.spread(LINUX)}")
    return out


MD_BEGIN, MD_END = "<!-- labkit bench: begin -->", "<!-- labkit bench: end -->"


def format_markdown(result: BenchResult) -> str:
    """The run as Markdown: where it ran, the comparison table, what was skipped."""
    info, s = result.info, result.info.get("settings", {})
    host, linux = info.get("host", {}), info.get("guests", {}).get(LINUX, {})
    lines = [f"Measured with `{info.get('command', 'labkit bench')}` on {info.get('started', '?')}"
             f" in {info.get('duration_s', 0):.0f} s: QEMU {info.get('qemu', {}).get('version')},"
             f" accel {s.get('accel')}, machine `{s.get('machine')}`, `-m {s.get('memory')}`, "
             f"1 vCPU, on {host.get('cpus')} x {host.get('cpu')} ({host.get('os')}). "
             f"wall: median of {s.get('runs')} runs; syscall_bench {s.get('iterations')} "
             "iterations.", "",
             f"Linux guest: `{linux.get('version')}`, {linux.get('source')}; command line "
             f"`{' '.join(linux.get('kernel_args', []))}`." if linux.get("version") else
             f"Linux guest: none ({linux.get('why', '?')}).", "",
             "| group | figure | unikernel | Linux | Linux / unikernel | unit | mode | better |",
             "|---|---|--:|--:|--:|---|---|---|"]
    for c in result.comparisons:
        u, lx, unit = _shown(c)
        lines.append(f"| {c.group} | {c.name} | {_fmt(u, unit)} | {_fmt(lx, unit)} | "
                     f"{_ratio(c.ratio)} | {unit} | {c.mode} | {c.winner or '-'} |")
    spread = _spread_lines(result)
    if spread:
        lines += ["", spread[1][0].upper() + spread[1][1:], ""]
        lines += [f"- {line.strip()}" for line in spread[2:]]
    if result.skipped:
        lines += ["", "Not measured in this run:", ""]
        lines += [f"- {'**failed** ' if sk.failed else ''}{sk.what}: {sk.why}"
                  for sk in result.skipped]
    return "\n".join(lines) + "\n"


def update_markdown(path: str | os.PathLike[str], result: BenchResult) -> bool:
    """Replace the text between :data:`MD_BEGIN` and :data:`MD_END` in ``path`` with
    :func:`format_markdown`; False (and nothing written) when the markers are missing."""
    doc = Path(path)
    text = doc.read_text() if doc.is_file() else ""
    if MD_BEGIN not in text or MD_END not in text:
        return False
    head, rest = text.split(MD_BEGIN, 1)
    _, tail = rest.split(MD_END, 1)
    doc.write_text(f"{head}{MD_BEGIN}\n{format_markdown(result)}{MD_END}{tail}")
    return True


def plot_result(result: BenchResult, path: str | os.PathLike[str] | None = None) -> Any:
    """One small panel per comparison (unikernel and Linux bars, ratio in the title), saved
    to ``path`` if given; returns the matplotlib figure."""
    import matplotlib

    if path is not None and "ipympl" not in matplotlib.get_backend():
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    comps = [c for c in result.comparisons if c.unikernel is not None]
    cols = 4
    rows = max(1, -(-len(comps) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, c in zip(axes.flat, comps, strict=False):
        u, lx, unit = _shown(c)
        values = [u, lx if lx is not None else 0.0]
        bars = ax.bar(["unikernel", "Linux"], values, color=["#1f77b4", "#d62728"])
        if lx is None:
            bars[1].set_hatch("//")
            bars[1].set_alpha(0.3)
        if values[1] and values[0] and max(values) / max(min(values), 1e-12) > 30:
            ax.set_yscale("log")
            ax.set_ylim(bottom=min(values) / 3)
        ratio = (f"  Linux/uni {_ratio(c.ratio)}" if c.ratio is not None
                 else "  (no Linux)" if c.linux is None else f"  {u:g} and {lx:g}")
        ax.set_title(f"{c.name}\n[{c.mode}]{ratio}", fontsize=8)
        ax.set_ylabel(f"{unit} ({c.better} is better)", fontsize=7)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(comps):]:
        ax.axis("off")
    s = result.info.get("settings", {})
    fig.suptitle(f"unikernel vs Linux, QEMU {result.info.get('qemu', {}).get('version', '?')}"
                 f" {s.get('accel', '')}, machine {s.get('machine', '')}", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _print_progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)

# SPDX-License-Identifier: MIT
"""Real clients against the lab's servers: ``wrk`` and ``ab`` against ``httpd``,
``redis-benchmark`` against ``kvstore``, on the unikernel and on the Linux guest.

Both guests boot the same app source with QEMU user networking, the guest's port forwarded
to a free port on 127.0.0.1 (:func:`serve`). The clients are Debian's (packages ``wrk``,
``apache2-utils`` and ``redis-tools``); where one is missing its figures are skipped and
:func:`missing` says which package brings it.

QEMU's hostfwd listener has a backlog of 1: a burst of new connections sees connect delays
of about a second on either guest. Keep-alive figures (wrk, ``ab -k``, redis-benchmark) open
their connections once and are not affected; a figure in new connections per second would
measure QEMU's listener, so none is given.

:func:`client_bench` measures both guests interleaved (unikernel, Linux, Linux, unikernel,
...) so that drift on a shared host hits both alike, and gives the medians.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import statistics
import subprocess
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import NetConfig

__all__ = ["UNI", "LINUX", "TOOLS", "BUDGETS", "ClientRun", "missing", "serve", "wrk", "ab",
           "redis_benchmark", "ClientBench", "client_bench", "format_client_bench"]

UNI, LINUX = "unikernel", "linux"
#: Each client program and the Debian package that has it.
TOOLS = {"wrk": "wrk", "ab": "apache2-utils", "redis-benchmark": "redis-tools",
         "redis-cli": "redis-tools", "curl": "curl"}
#: The guest port and readiness line of each server app.
APPS = {"httpd": (80, "httpd: listening"), "kvstore": (6379, "kvstore: listening")}


def missing(tool: str) -> str | None:
    """None if ``tool`` is on PATH, else why not and what to install."""
    if shutil.which(tool):
        return None
    return f"{tool} is not installed (Debian/Ubuntu package {TOOLS.get(tool, tool)})"


@contextlib.asynccontextmanager
async def serve(guest: str, app: str, memory: str = "128M", linux_guest: Any = None,
                **options: Any) -> AsyncIterator[tuple[Any, int]]:
    """Boot ``app`` (``httpd`` or ``kvstore``) on ``guest`` (:data:`UNI` or :data:`LINUX`)
    with its port forwarded; yields the running machine and the host port, and closes the
    machine on the way out. ``linux_guest`` is a prepared :class:`labkit.linux.LinuxGuest`
    holding the app (made here if None; raises :class:`labkit.linux.LinuxUnavailable`)."""
    from ..machine import Machine

    guest_port, ready = APPS[app]
    net = NetConfig("user", forward={guest_port: 0})
    if guest == UNI:
        m = Machine(app, net=net, memory=memory, **options)
    else:
        from .. import linux

        g = linux_guest or await asyncio.to_thread(linux.prepare, apps=[app])
        m = linux.linux_machine(app, guest=g, net=net, memory=memory, **options)
    await m.start()
    try:
        await m.console.wait_for(ready, 30 if guest == UNI else 120)
        yield m, net.host_port(guest_port)
    finally:
        await m.close()


# ------------------------------------------------------------------------------ the clients
@dataclass(frozen=True)
class ClientRun:
    """One run of a client: requests per second (by test for redis-benchmark), errors, and
    the command and its output."""

    tool: str
    rps: dict[str, float]
    errors: int
    command: list[str]
    output: str


def _run(cmd: list[str], timeout: float) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{cmd[0]} did not finish in {timeout:.0f} s") from exc
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 and cmd[0] != "redis-benchmark":
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out[-1500:]}")
    return out if proc.returncode == 0 else out + f"\n(exit status {proc.returncode})"


def wrk(port: int, connections: int = 4, seconds: int = 5, target: str = "/hello",
        threads: int = 1) -> ClientRun:
    """``wrk -t1 -cN -dS`` (keep-alive): requests/s; errors are socket errors and non-2xx
    answers."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           f"http://127.0.0.1:{port}{target}"]
    out = _run(cmd, seconds + 60)
    rate, errors = parse_wrk(out)
    return ClientRun("wrk", {"GET": rate}, errors, cmd, out)


def parse_wrk(out: str) -> tuple[float, int]:
    """(requests/s, errors) from wrk's report: socket errors and non-2xx/3xx answers."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return float(rate.group(1)) if rate else 0.0, errors


def ab(port: int, requests: int = 2000, concurrency: int = 4, keepalive: bool = True,
       target: str = "/hello") -> ClientRun:
    """``ab [-k] -n N -c C``: requests/s; errors are failed and non-2xx requests."""
    cmd = ["ab", *(["-k"] if keepalive else []), "-q", "-n", str(requests), "-c",
           str(concurrency), f"http://127.0.0.1:{port}{target}"]
    out = _run(cmd, 120)
    rate, errors = parse_ab(out, requests)
    return ClientRun("ab", {"GET": rate}, errors, cmd, out)


def parse_ab(out: str, requests: int) -> tuple[float, int]:
    """(requests/s, errors) from ab's report: failed, non-2xx and missing requests (all of
    them if there is no report)."""
    rate = re.search(r"Requests per second:\s+([\d.]+)", out)
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    complete = re.search(r"Complete requests:\s+(\d+)", out)
    if not (rate and failed and complete):
        return 0.0, requests
    errors = int(failed.group(1)) + (int(non2xx.group(1)) if non2xx else 0)
    return float(rate.group(1)), errors + requests - int(complete.group(1))


def redis_benchmark(port: int, tests: str = "ping,set,get", requests: int = 20000,
                    clients: int = 8, pipeline: int = 16) -> ClientRun:
    """``redis-benchmark -t TESTS -n N -c C -P P -q``: requests/s by test. It stops at the
    first error reply and exits 1: errors counts error replies and a failed exit."""
    cmd = ["redis-benchmark", "-p", str(port), "-t", tests, "-n", str(requests), "-c",
           str(clients), "-P", str(pipeline), "-q"]
    out = _run(cmd, 180)
    rates, errors = parse_redis_benchmark(out)
    return ClientRun("redis-benchmark", rates, errors, cmd, out)


def parse_redis_benchmark(out: str) -> tuple[dict[str, float], int]:
    """({test: requests/s}, errors) from ``redis-benchmark -q`` output: error replies,
    connection errors, and a failed exit (noted by :func:`_run`)."""
    rates = {name: float(v) for name, v in
             re.findall(r"(?:^|\r)\s*([A-Z_]+): ([\d.]+) requests per second", out, re.M)}
    errors = len(re.findall(r"Error from server|error:", out, re.I))
    return rates, errors + ("(exit status" in out)


# ------------------------------------------------------------------------------ both guests
#: The figures :func:`client_bench` measures: key -> (app, what, tool, runner)
def _cases(quick: bool) -> dict[str, tuple[str, str, str, Callable[[int], ClientRun]]]:
    seconds, n = (2, 5000) if quick else (5, 50000)
    return {
        "wrk_c4": ("httpd", "wrk -c4 keep-alive GET /hello", "wrk",
                   lambda port: wrk(port, 4, seconds)),
        "ab_k_c4": ("httpd", "ab -k -c4 GET /hello", "ab",
                    lambda port: ab(port, n // 10, 4, keepalive=True)),
        "redis_p16": ("kvstore", "redis-benchmark -c8 -P16", "redis-benchmark",
                      lambda port: redis_benchmark(port, "ping,set,get", n, 8, 16)),
    }


@dataclass
class ClientBench:
    """What :func:`client_bench` measured: requests/s per figure and guest (median over the
    runs), errors summed over the runs, every run's output, and what was skipped."""

    rps: dict[str, dict[str, float]] = field(default_factory=dict)      # "key/TEST" -> guest
    errors: dict[str, dict[str, int]] = field(default_factory=dict)     # "key" -> guest
    labels: dict[str, str] = field(default_factory=dict)                # "key/TEST" -> label
    commands: dict[str, str] = field(default_factory=dict)              # "key" -> command
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def ratio(self, key: str) -> float | None:
        """Unikernel over Linux requests/s."""
        v = self.rps.get(key, {})
        return v[UNI] / v[LINUX] if v.get(UNI) and v.get(LINUX) else None


async def _one_guest(guest: str, app: str, runners: Sequence[tuple[str, Callable]],
                     memory: str, linux_guest: Any, **options: Any) -> dict[str, ClientRun]:
    async with serve(guest, app, memory, linux_guest, **options) as (_, port):
        await asyncio.to_thread(_warm_up, app, port)
        return {key: await asyncio.to_thread(run, port) for key, run in runners}


def _warm_up(app: str, port: int) -> None:
    if app == "httpd":
        _run(["ab", "-k", "-q", "-n", "200", "-c", "2", f"http://127.0.0.1:{port}/hello"]
             if shutil.which("ab") else ["wrk", "-t1", "-c2", "-d1s",
                                         f"http://127.0.0.1:{port}/hello"], 60)
    else:
        redis_benchmark(port, "ping", 1000, 2, 1)


async def client_bench(runs: int = 3, quick: bool = False, memory: str = "128M",
                       linux: bool = True, progress: Callable[[str], None] | None = None,
                       **options: Any) -> ClientBench:
    """wrk and ``ab -k`` against httpd, redis-benchmark against kvstore, on both guests,
    ``runs`` rounds in the order uni, Linux, Linux, uni, ... (one boot per guest, app and
    round; every client of that app runs in it). ``options`` go to the machines
    (``machine="q35"``, ...)."""
    say = progress or (lambda _m: None)
    out = ClientBench()
    cases = _cases(quick)
    usable = {}
    for key, (app, label, tool, run) in cases.items():
        why = missing(tool)
        if why:
            out.skipped.append((label, why))
        else:
            usable[key] = (app, label, tool, run)
    guests = [UNI]
    linux_guests: dict[str, Any] = {}
    if linux:
        from .. import linux as lx

        try:
            for app in {a for a, *_ in usable.values()}:
                linux_guests[app] = await asyncio.to_thread(lx.prepare, apps=[app])
            guests.append(LINUX)
        except lx.LinuxUnavailable as exc:
            out.skipped.append(("the Linux side", str(exc).splitlines()[0]))
    for rnd in range(runs):
        order = guests if rnd % 2 == 0 else guests[::-1]
        for guest in order:
            for app in ("httpd", "kvstore"):
                runners = [(k, c[3]) for k, c in usable.items() if c[0] == app]
                if not runners:
                    continue
                say(f"real clients: {app} on {guest}, round {rnd + 1} of {runs}")
                got = await _one_guest(guest, app, runners, memory, linux_guests.get(app),
                                       **options)
                for key, result in got.items():
                    out.commands[key] = _shown_command(result.command)
                    out.errors.setdefault(key, {}).setdefault(guest, 0)
                    out.errors[key][guest] += result.errors
                    for test, rate in result.rps.items():
                        name = f"{key}/{test}"
                        out.labels[name] = (usable[key][1] if test == "GET" and key != "redis_p16"
                                            else f"redis-benchmark -c8 -P16 {test}")
                        out.samples.setdefault(name, {}).setdefault(guest, []).append(rate)
    for name, by_guest in out.samples.items():
        out.rps[name] = {g: statistics.median(v) for g, v in by_guest.items()}
    return out


def _shown_command(cmd: Sequence[str]) -> str:
    """The command with the run's port replaced by PORT."""
    text = " ".join(cmd)
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", re.sub(r"-p \d+", "-p PORT", text))


def format_client_bench(result: ClientBench) -> str:
    """The figures as a text table, ratios unikernel / Linux."""
    lines = ["Real clients through QEMU hostfwd (wall clock, TCG; requests/s, median):",
             f"  {'figure':<34}{'unikernel':>12}{'Linux':>12}{'uni/Linux':>11}{'errors':>12}"]
    for name, v in result.rps.items():
        key = name.split("/")[0]
        r = result.ratio(name)
        err = result.errors.get(key, {})
        lines.append(f"  {result.labels[name]:<34}{v.get(UNI, 0):>12,.0f}"
                     f"{v.get(LINUX, 0):>12,.0f}{f'{r:.2f}x' if r else '-':>11}"
                     f"{err.get(UNI, 0):>6}/{err.get(LINUX, 0):<5}")
    for what, why in result.skipped:
        lines.append(f"  skipped {what}: {why}")
    return "\n".join(lines)


#: What the benchmark holds each figure to (unikernel / Linux requests/s); reported, not
#: asserted: a shared host moves wall-clock figures.
BUDGETS = {"wrk_c4/GET": 3.0, "redis_p16/SET": 2.0, "redis_p16/GET": 2.0}

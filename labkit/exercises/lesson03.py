# SPDX-License-Identifier: MIT
"""Checks of lesson 03-net-channels. Each one measures what it needs by booting the kernel
(a second or two under TCG) and never raises for a wrong answer.

The grader's table (``labkit.exercises.CHECKS``) lists them as
``"lesson03": ("busiest_stage", "channel_count", "fragment", "upper", "early_drop")``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..events import NetDrops
from ._check import CheckResult, current, exercise, failed, passed
from ._run import run_async

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["check_busiest_stage", "check_channel_count", "check_fragment", "check_upper",
           "check_early_drop", "TRAFFIC"]

#: The traffic of exercise 2: (kind, count) sent to netecho on the channels path.
TRAFFIC = (("ping", 10), ("udp to port 7 (bound)", 20), ("udp to port 4444 (unbound)", 5))


async def _with_netecho(path: str, work: Any, app: str = "netecho", initrd: Any = None,
                        ready: str = "netecho:", seen: list[Any] | None = None
                        ) -> tuple[Any, Any]:
    """Boots ``app`` on the wire, runs ``work(wire)`` in a thread, returns (result, machine).
    The machine is also appended to ``seen``, so a caller can look at it when ``work``
    raises."""
    from ..machine import Machine
    from ..net import Wire

    m = Machine(app, initrd=initrd, net="wire", options={"net": path, "metrics": 50})
    if seen is not None:
        seen.append(m)
    await m.start()
    try:
        await m.console.wait_for(ready, 20)
        with Wire.attach(m) as wire:
            result = await asyncio.to_thread(work, wire)
            await asyncio.sleep(0.15)                 # two more samples after the work
        return result, m
    finally:
        await m.close()


@exercise("lesson03", 1, "the busiest stage", ("answer_stage",), boots=False)
def check_busiest_stage(answer: str) -> CheckResult:
    """Exercise 1: on the channels path, the receive stage (not ``tx``) that costs the reading
    thread the most instructions per UDP echo."""
    from ..net.bench import udp_costs

    name = current().label
    costs = run_async(udp_costs("channels", 50))
    ranked = sorted((s for s in costs.stages if s.stage != "tx"), key=lambda s: -s.thread)
    best = ranked[0]
    given = str(answer or "").strip().lower()
    if given == best.stage:
        return passed(name, f"yes: {best.stage}, {best.thread:.0f} instructions per echo in the "
                            f"thread (then {ranked[1].stage}, {ranked[1].thread:.0f})")
    known = {s.stage for s in costs.stages}
    if given not in known:
        return failed(name, f"{answer!r} is not a stage; the stages are {', '.join(known)}")
    mine = next(s for s in costs.stages if s.stage == given)
    return failed(name, f"{given} costs the thread {mine.thread:.0f} instructions per echo; "
                        "another stage costs more (look at the thread row of the table)")


@exercise("lesson03", 2, "which frames take a channel", ("answer_frames",), boots=False)
def check_channel_count(answer: int) -> CheckResult:
    """Exercise 2: how many frames of :data:`TRAFFIC` have their protocol work done in a thread
    on the channels path. Measured, not recomputed."""
    from ..net.stats import net_samples

    name = current().label

    def traffic(wire: Any) -> None:
        for i in range(10):
            wire.ping(i)
        for i in range(20):
            wire.udp(7, b"to a bound port %d" % i)
        for i in range(5):
            wire.send(_udp_to(4444, i))

    try:
        _, m = run_async(_with_netecho("channels", traffic))
        samples = net_samples(m)
        measured = samples[-1]["rx_channel"] if samples else -1   # counted from boot
    except Exception as exc:  # noqa: BLE001 - a broken machine is reported, not raised
        return failed(name, f"the measurement failed: {exc}")
    try:
        given = int(answer)
    except (TypeError, ValueError):
        return failed(name, f"give a number of frames, not {answer!r}")
    if given == measured:
        return passed(name, f"yes: {measured} frames went through a channel; pings and the "
                            "datagrams for an unbound port have no flow, so the interrupt "
                            "handled them (the classic path)")
    return failed(name, f"the kernel counted {measured}, not {given}: which of these frames "
                        "belong to a flow (an established TCP connection or a bound UDP port)?")


def _udp_to(port: int, i: int) -> bytes:
    from ..net import frames as fr

    return fr.udp_frame(fr.GUEST_MAC, fr.HOST_MAC, fr.HOST_IP, fr.GUEST_IP, 40000 + i, port,
                        b"nobody listens")


@exercise("lesson03", 3, "build a fragment", ("my_fragment",), boots=False)
def check_fragment(frame: bytes) -> CheckResult:
    """Exercise 3: a frame the kernel drops *as a fragment*: an IPv4 packet for the guest with
    more-fragments set or a fragment offset. Sent to the guest; its drop counters must show one
    more ``frag`` and nothing else."""
    from ..net import frames as fr

    name = current().label
    if not isinstance(frame, (bytes, bytearray)) or not frame:
        return failed(name, "give the frame as non-empty bytes (build it with labkit.net.frames)")
    f = fr.parse(bytes(frame))
    if not f.ip or f.ip.dst != fr.GUEST_IP or not f.eth or f.eth.dst != fr.GUEST_MAC:
        return failed(name, f"that is not an IPv4 packet for the guest ({f.summary()}): send it "
                            f"to {fr.GUEST_MAC} / {fr.GUEST_IP}")
    flags = int.from_bytes(bytes(frame)[20:22], "big")
    if not flags & 0x3FFF:
        return failed(name, "neither more-fragments (0x2000) nor an offset is set: this is a "
                            "whole packet, not a fragment (see flags_frag in ipv4_packet)")

    def send(wire: Any) -> None:
        wire.ping(1)
        time.sleep(0.12)                               # a sample before
        wire.send(bytes(frame))
        wire.ping(2)

    def drops(m: Machine) -> list[dict]:
        return [dict(e.reasons) for e in m.events.of_type(NetDrops)]

    try:
        _, m = run_async(_with_netecho("classic", send))
    except Exception as exc:  # noqa: BLE001
        return failed(name, f"the measurement failed: {exc}")
    series = drops(m)
    if len(series) < 2:
        return failed(name, "no drop counters came back from the kernel")
    first, last = series[0], series[-1]
    delta = {k: last[k] - first[k] for k in last if k != "ev" and last[k] != first[k]}
    if delta == {"frag": 1}:
        return passed(name, "dropped and counted as a fragment: the stack does not reassemble")
    return failed(name, f"the kernel's drop counters moved by {delta or 'nothing'}: fix the "
                        "frame so that only the fragment check rejects it (valid checksum, "
                        "lengths that add up)")


@exercise("lesson03", 4, "a server of your own", ("work/upper.c",), boots=True)
def check_upper(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 4: ``work/upper.c``, a UDP server on port 7000 that answers each datagram with
    its text in upper case. Booted on both receive paths; three datagrams each."""
    name = current().label
    src = Path(source)
    if not src.is_file():
        return failed(name, f"{source}: no such file (did the %%writefile cell run?)")
    out = tempfile.mkdtemp(prefix="labkit-check-")
    try:
        return _upper_verdict(name, src, out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _upper_verdict(name: str, src: Path, out: str) -> CheckResult:
    from ..build import compile_app
    from ..errors import LabkitError, WaitTimeout

    try:
        app = compile_app(src, name="upper", out_dir=out)
    except LabkitError as exc:
        return failed(name, f"it does not compile: {exc}\n{getattr(exc, 'output', '')}".strip())
    words = [b"net channels", b"van jacobson", b"osv 2013"]

    def ask(wire: Any) -> list[bytes]:
        out = []
        for w in words:
            for attempt in range(8):                    # the app may not have bound yet
                try:
                    out.append(wire.udp(7000, w, timeout=0.5))
                    break
                except WaitTimeout:
                    if attempt == 7:
                        raise
        return out

    for path in ("classic", "channels"):
        seen: list[Any] = []
        try:
            got, _ = run_async(_with_netecho(path, ask, app=app.name, initrd=app.archive,
                                             ready="net:", seen=seen))
        except Exception as exc:  # noqa: BLE001
            return failed(name, _why_no_answer(path, seen, exc))
        if got != [w.upper() for w in words]:
            return failed(name, f"on net={path} it answered {got}, not the upper-case text")
    return passed(name, "it answers in upper case on both receive paths")


def _why_no_answer(path: str, seen: list[Any], exc: Exception) -> str:
    """Feedback when the server did not answer: most often, the app returned from main."""
    m = seen[0] if seen else None
    exit_event = getattr(getattr(m, "events", None), "exit", None)
    panic = getattr(getattr(m, "events", None), "panic", None)
    if panic is not None:
        return f"on net={path} the kernel panicked: {panic.describe().splitlines()[0]}"
    if exit_event is not None:
        status = getattr(exit_event, "status", None)
        return (f"on net={path} your app exited (status {status}) before it answered: main "
                "returned, and with it the whole machine. A server must loop: receive a "
                "datagram, answer it, and wait for the next one, never returning from main")
    return f"on net={path} the server did not answer: {exc}"


@exercise("lesson03", 5, "a classifier rule (kernel)", ("my_edit",), boots=True, points=2)
def check_early_drop(change: object, count: int = 100) -> CheckResult:
    """Exercise 5 (kernel code): a classifier rule. On the channels path, a UDP datagram to a
    port nobody listens on goes the classic way: Ethernet, IP (checksum) and UDP run in the
    interrupt, only for ``udp.c`` to drop it (``udp_noport``). The rule, in
    ``channel_classify`` (``kernel/net/channel.c``): drop such a datagram right there, count
    it as ``udp_noport``, and tell the driver it was taken care of.

    The kernel is built with the change (an :class:`~labkit.variant.Edit`) and ``count``
    datagrams to a closed port are sent to ``netecho`` on it under icount, then one echo on
    port 7; the stock kernel gets the same traffic in the same run. 1 point when the guest
    still echoes and counts every datagram under ``udp_noport``; 1 when no protocol work ran
    for them (no frame took the classic path), with the interrupt's instructions per datagram
    before and after in the message."""
    from ..errors import LabkitError
    from ..net.bench import noport_costs
    from ._run import variant_or_verdict

    name = current().label
    variant = variant_or_verdict(change, name, 2)
    if isinstance(variant, CheckResult):
        return variant
    with variant:
        try:
            yours, drops = run_async(noport_costs("channels", count, kernel=variant.kernel))
        except (LabkitError, AssertionError, TimeoutError) as exc:
            return failed(name, f"netecho on your kernel stopped serving: "
                                f"{exc or type(exc).__name__}", 2)
    stock, _ = run_async(noport_costs("channels", count))
    points, notes = 0, []
    if drops.get("udp_noport") == count:
        points += 1
    else:
        notes.append(f"{count} datagrams to a closed port, but udp_noport counted "
                     f"{drops.get('udp_noport', 0)} (drops by reason: {drops})")
    if yours.rx_classic == 0:
        points += 1
    else:
        notes.append(f"{yours.rx_classic} of them still took the classic path (Ethernet, IP "
                     "and UDP in the interrupt): the rule must drop them in channel_classify")
    if points == 2:
        return passed(name, f"dropped in the classifier: {stock.irq:,.0f} -> {yours.irq:,.0f} "
                            "instructions per datagram in the interrupt (stock -> yours, under "
                            "icount, this run)", 2)
    return failed(name, "; ".join(notes), 2, points)

# SPDX-License-Identifier: MIT
"""TCP under real clients: httpd at 128M behind QEMU user networking and hostfwd on
127.0.0.1, driven by Debian's ``ab`` and by Python sockets, on the unikernel and (where a
Linux guest is at hand) on Linux with the same app source.

* connection churn: ``ab -n 2000 -c 4`` without keep-alive, twice in a row, 0 failures
  (every closed connection must give its memory back: TIME_WAIT keeps no buffers);
* a stalled reader: ``GET /bytes/8000000``, then 60 s without reading (the guest meets a
  zero window and must probe it, not give up), then every byte, checked;
* 100 idle connections held open while new clients are served, then each held one served.

Each guest boots once for the three checks. The stalled reader starts as soon as the guest is
up and runs in a thread while the other checks go on, so its 60 s cost the module once per
guest; its own test, last in the file, collects the result. QEMU's hostfwd listener has a
backlog of 1, so bursts of connects wait about 1 s each on any guest: nothing here is timed,
every wait only has a generous bound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from labkit import Machine
from labkit.events import NetSample
from labkit.net import NetConfig

pytestmark = [pytest.mark.boot, pytest.mark.slow]

MEMORY = "128M"
STALL_S = 60
BYTES = 8_000_000
IDLE = 100


def pattern(n: int) -> bytes:
    """httpd's /bytes/N body: 'a'..'z' over and over, restarting every 4096 bytes."""
    chunk = bytes(97 + i % 26 for i in range(4096))
    return (chunk * (n // 4096 + 1))[:n]


@dataclass
class Served:
    """One guest running httpd, reachable at 127.0.0.1:port."""

    guest: str
    port: int
    machine: Any
    loop: asyncio.AbstractEventLoop
    stalled: concurrent.futures.Future = field(default=None)  # type: ignore[assignment]

    def net_events(self) -> list[dict]:
        """The counters of every ``net`` sample so far (the TCP fields included)."""
        return [dict(e.counters) for e in self.machine.events.of_type(NetSample)]


def _loop_thread() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="tcp-clients-loop", daemon=True).start()
    return loop


def _machine(guest: str, net: NetConfig) -> Any:
    if guest == "unikernel":
        return Machine("httpd", net=net, memory=MEMORY, options={"metrics": 500})
    from labkit import linux

    try:
        g = linux.prepare(apps=["httpd"])
    except linux.LinuxUnavailable as exc:
        pytest.skip(f"no Linux guest here: {str(exc).splitlines()[0]}")
    return linux.linux_machine("httpd", guest=g, net=net, memory=MEMORY)


@pytest.fixture(scope="module", params=["unikernel", "linux"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    net = NetConfig("user", forward={80: 0})
    m = _machine(request.param, net)
    loop = _loop_thread()

    def call(coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    try:
        call(m.start(), 120)
        call(m.console.wait_for("httpd: listening", 120), 130)
        s = Served(request.param, net.host_port(80), m, loop)
        s.stalled = in_background(stalled_download, s.port)
        yield s
    finally:
        call(m.close(), 60)
        loop.call_soon_threadsafe(loop.stop)


# ---------------------------------------------------------------------------- clients
def in_background(fn: Any, *args: Any) -> concurrent.futures.Future:
    """fn(*args) in a daemon thread (never holding up the interpreter's exit)."""
    fut: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:                   # handed to whoever collects the result
            fut.set_exception(exc)

    threading.Thread(target=run, name="stalled-reader", daemon=True).start()
    return fut


def http_get(port: int, path: str = "/hello", timeout: float = 60) -> bytes:
    """One request on a new connection (Connection: close); the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return split_response(read_all(s))


def read_all(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def split_response(data: bytes) -> bytes:
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep and head.startswith(b"HTTP/1.1 200"), data[:200]
    return body


def stalled_download(port: int) -> dict[str, Any]:
    """GET /bytes/8000000, read 64 KiB, stop reading for STALL_S s, then read the rest."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)   # the stall reaches the guest
        s.settimeout(120)
        s.connect(("127.0.0.1", port))
        s.sendall(f"GET /bytes/{BYTES} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while len(data) < 65536:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        time.sleep(STALL_S)
        try:
            data += read_all(s)
            error = None
        except OSError as exc:                         # a reset: report what arrived
            error = repr(exc)
    head, _, body = data.partition(b"\r\n\r\n")
    return {"head": head, "body": body, "error": error}


def ab(port: int) -> tuple[int, int, str]:
    """ab -n 2000 -c 4 without keep-alive: (complete, failed, output)."""
    out = subprocess.run(["ab", "-r", "-s", "60", "-n", "2000", "-c", "4",
                          f"http://127.0.0.1:{port}/hello"],
                         capture_output=True, text=True, timeout=240).stdout

    def count(what: str) -> int:
        m = re.search(rf"^{what}:\s+(\d+)", out, re.M)
        assert m, out
        return int(m.group(1))

    return count("Complete requests"), count("Failed requests"), out


# ---------------------------------------------------------------------------- tests
@pytest.mark.skipif(shutil.which("ab") is None,
                    reason="ab (Debian's apache2-utils) is not installed")
def test_connection_churn_twice_without_a_failure(served: Served) -> None:
    for burst in (1, 2):
        complete, failed, out = ab(served.port)
        assert (complete, failed) == (2000, 0), f"{served.guest}, burst {burst}:\n{out}"
    if served.guest == "unikernel":
        # closed connections hold no buffer: what is left is the stalled reader's connection
        # (its two 32 KiB buffers) and a few sockets
        time.sleep(1.5)
        last = served.net_events()[-1]
        assert last["tcp_mem"] < 2 * 32768 + 8192, last


def test_idle_connections_do_not_lock_new_clients_out(served: Served) -> None:
    held = []
    try:
        for _ in range(IDLE):
            held.append(socket.create_connection(("127.0.0.1", served.port), timeout=60))
        time.sleep(1)                                   # let the guest accept every one
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            bodies = list(pool.map(lambda _: http_get(served.port), range(20)))
        assert bodies == [b"hello\n"] * 20
        for i, s in enumerate(held):                    # each held connection still served
            s.settimeout(60)
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert split_response(read_all(s)) == b"hello\n", f"held connection {i}"
    finally:
        for s in held:
            s.close()


def test_stalled_reader_gets_every_byte(served: Served) -> None:
    got = served.stalled.result(timeout=STALL_S + 180)
    assert got["error"] is None and len(got["body"]) == BYTES, \
        f"{served.guest}: {got['error']}, {len(got['body'])} of {BYTES} bytes"
    assert got["body"] == pattern(BYTES)
    if served.guest == "unikernel":
        last = served.net_events()[-1]
        assert last["tcp_persist_probes"] > 0, last     # the window did close on the guest


# ---------------------------------------------------------------------- crafted segments
# labkit's wire (no host stack in between) plays a peer that loses a segment or resends its
# FIN; netecho echoes on port 7. The guest's counters come from its `net` events.
async def fresh_net(m: Machine, timeout: float = 10.0) -> dict:
    """A `net` event sent after this call (two periods later, so it saw what came before)."""
    def events() -> list[dict]:
        return [dict(e.counters) for e in m.events.of_type(NetSample)]

    seen = len(events())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(events()) > seen + 1:
            return events()[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("no net event from the kernel")


async def wire_netecho() -> Machine:
    m = Machine("netecho", net="wire", options={"metrics": 100})
    await m.start()
    await m.console.wait_for("netecho:", 30)
    return m


async def test_three_duplicate_acks_resend_the_lost_segment_at_once() -> None:
    from labkit.net import Wire
    from labkit.net import frames as fr

    m = await wire_netecho()
    try:
        with Wire.attach(m) as wire:
            def lose_one() -> tuple[int, bool]:
                c = wire.tcp(7).connect()            # no MSS option: the guest sends 536 bytes
                first = c.ack
                mark = wire.mark()
                c.send(bytes(range(256)) * 16, mss=1024)

                def data(f: Any) -> bool:
                    return bool(f.tcp and f.tcp.dport == c.sport and f.payload)

                seg = wire.expect(lambda f: data(f) and f.tcp.seq == first, 10, mark)
                for _ in range(3):                     # more in flight behind it
                    wire.expect(lambda f: data(f) and f.tcp.seq != first, 10, mark)
                # the peer got the first segment, lost the second, and saw three more
                c.ack = (first + len(seg.payload)) & 0xFFFFFFFF
                since = wire.mark()
                for _ in range(4):                     # one new ACK, then three duplicates
                    c._send(fr.ACK)
                again = wire.expect(lambda f: data(f) and f.tcp.seq == c.ack, 10, since)
                return len(again.payload), again.tcp.seq == c.ack

            size, ok = await asyncio.to_thread(lose_one)
            assert ok and size > 0
            net = await fresh_net(m)
            assert net["tcp_fast_retransmits"] >= 1 and net["tcp_recoveries"] >= 1, net
            assert net["tcp_retransmits"] == 0, net    # not the retransmission timer
            assert 0 < net["tcp_ssthresh"] < 2**32 - 1 and net["tcp_cwnd"] > 0, net
    finally:
        await m.close()


async def test_a_resent_fin_is_not_out_of_order() -> None:
    from labkit.net import Wire
    from labkit.net import frames as fr

    m = await wire_netecho()
    try:
        with Wire.attach(m) as wire:
            c = await asyncio.to_thread(lambda: wire.tcp(7).connect())
            await asyncio.to_thread(c.send, b"ping")
            assert await asyncio.to_thread(c.recv_until, lambda b: len(b) >= 4) == b"ping"
            before = (await fresh_net(m))["tcp_ooo"]

            def fin_twice() -> bool:
                since = wire.mark()
                c._send(fr.FIN | fr.ACK)                 # netecho sees the end and closes
                fin = wire.expect(lambda f: bool(f.tcp and f.tcp.dport == c.sport and
                                                 f.tcp.flags & fr.FIN), 10, since)
                since = wire.mark()
                c.seq = (c.seq - 1) & 0xFFFFFFFF         # the same FIN again (our ACK was "lost")
                c._send(fr.FIN | fr.ACK)
                answer = wire.expect(lambda f: bool(f.tcp and f.tcp.dport == c.sport), 10, since)
                c.ack = (fin.tcp.seq + 1) & 0xFFFFFFFF
                c._send(fr.ACK)                          # the guest's FIN, acknowledged
                return bool(answer.tcp.flags & fr.ACK) and not answer.tcp.flags & fr.RST

            assert await asyncio.to_thread(fin_twice)
            assert (await fresh_net(m))["tcp_ooo"] == before
    finally:
        await m.close()

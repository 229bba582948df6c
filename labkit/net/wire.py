# SPDX-License-Identifier: MIT
"""The wire: labkit as the other end of the guest's network cable.

QEMU exchanges raw Ethernet frames with labkit, one frame per datagram, over one of two
transports (:mod:`labkit.net.config`):

- ``dgram`` (QEMU 7.2 and later, the default): two unix datagram sockets in the machine's
  private runtime directory (0700), so only this user reaches them;
- ``udp`` (the fallback for QEMU 6.2 to 7.1, or ``LABKIT_WIRE=udp``): ``-netdev socket,udp=``
  on 127.0.0.1. Loopback UDP can be reached by **every local user**: anyone on the machine
  can send datagrams to QEMU's port and so inject frames into the guest. labkit's own end is
  connected to QEMU's port and takes datagrams from it alone. Use it where QEMU offers
  nothing better, not on a shared machine where that matters.

:class:`Wire` is labkit's end: it records every frame in both directions, answers the
guest's ARP requests for the addresses it plays (by default the gateway 10.0.2.2, so the
guest keeps talking to it), and offers small conversations: :meth:`Wire.ping`,
:meth:`Wire.udp`, a :class:`TcpClient`. Both transports behave the same to its users.

Everything here is synchronous and thread-safe (a reader thread fills the capture); from
async code call it through ``await asyncio.to_thread(wire.ping)``::

    m = await Machine("udp_echo", net="wire").start()
    with Wire.attach(m) as wire:
        rtt = wire.ping()                      # seconds
        assert wire.udp(7, b"hello") == b"hello"

QEMU facts it relies on (QEMU-NOTES): frames sent to QEMU before it binds are lost; a
zero-length datagram would stop QEMU reading the NIC for good (dgram and socket netdevs
alike), so :meth:`Wire.send` refuses one. When QEMU has gone, the reader thread ends
quietly (:attr:`Wire.peer_gone`) and :meth:`Wire.send` raises :class:`NetError`.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LabkitError, WaitTimeout
from . import frames as fr
from .config import LOOPBACK
from .frames import Frame

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["Wire", "Captured", "TcpClient", "NetError"]


class NetError(LabkitError):
    """A network conversation with the guest failed (no answer, reset, bad frame)."""


@dataclass(frozen=True)
class Captured:
    """One frame seen on the wire: when (``time.monotonic()``), which way, the bytes."""

    t: float
    outbound: bool            # True: labkit sent it to the guest
    raw: bytes

    @property
    def frame(self) -> Frame:
        return fr.parse(self.raw)


class Wire:
    """A peer on the guest's wire. ``qemu_path`` is the socket QEMU binds (frames sent there
    reach the guest), ``path`` the one this peer binds (QEMU sends there): unix socket paths,
    or for the UDP transport ``(host, port)`` pairs (see :meth:`over_udp`)."""

    def __init__(self, qemu_path: str | os.PathLike[str] | tuple[str, int],
                 path: str | os.PathLike[str] | tuple[str, int], *,
                 mac: str = fr.HOST_MAC, ips: tuple[str, ...] = (fr.HOST_IP,),
                 guest_mac: str = fr.GUEST_MAC, guest_ip: str = fr.GUEST_IP,
                 answer_arp: bool = True, sock: socket.socket | None = None) -> None:
        #: "udp" (loopback UDP) or "dgram" (unix datagram sockets)
        self.transport = "udp" if isinstance(qemu_path, tuple) else "dgram"
        self.qemu_path: str | tuple[str, int] = (qemu_path if isinstance(qemu_path, tuple)
                                                 else str(qemu_path))
        self.path: str | tuple[str, int] = path if isinstance(path, tuple) else str(path)
        self.mac, self.ips = mac, tuple(ips)
        self.guest_mac, self.guest_ip = guest_mac, guest_ip
        self.answer_arp = answer_arp
        self.frames: list[Captured] = []
        self.arp_answered = 0
        #: True once QEMU's end has gone (a send found nobody there): the reader has ended
        self.peer_gone = False
        self._cond = threading.Condition()
        self._sock: socket.socket | None = None
        self._given_sock = sock
        self._thread: threading.Thread | None = None
        self._closing = False
        self._ident = random.randrange(1, 0xFFFF)

    @classmethod
    def over_udp(cls, qemu_port: int, sock: socket.socket | int, **kwargs: Any) -> Wire:
        """A wire on loopback UDP: QEMU's socket netdev listens on ``qemu_port``; ``sock`` is
        labkit's bound socket (or a port number to bind)."""
        if isinstance(sock, int):
            port, given = sock, None
        else:
            port, given = sock.getsockname()[1], sock
        return cls((LOOPBACK, qemu_port), (LOOPBACK, port), sock=given, **kwargs)

    @classmethod
    def attach(cls, machine: Machine, **kwargs: Any) -> Wire:
        """The wire of a started :class:`~labkit.Machine` booted with ``net="wire"``."""
        rundir = getattr(machine, "rundir", None)
        net = getattr(getattr(machine, "config", None), "net", None)
        if rundir is None or net is None or getattr(net, "mode", "wire") != "wire":
            raise NetError("the machine has no wire: boot it with net='wire' and start it first")
        if getattr(net, "transport", None) == "udp":
            if net.udp_ports is None:
                raise NetError("the machine's UDP wire has no ports yet: start it first")
            try:
                sock = net.take_wire_socket()
            except OSError:
                raise NetError("this machine's wire is attached already: close the other Wire "
                               "first (wire.close())") from None
            return cls.over_udp(net.udp_ports[0], sock, **kwargs).start()
        return cls(rundir.path / "net-qemu.sock", rundir.path / "net-wire.sock", **kwargs).start()

    # ------------------------------------------------------------------ life
    def start(self) -> Wire:
        if self.transport == "udp":
            sock = self._given_sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._given_sock = None
            if sock.getsockname()[1] == 0:
                sock.bind(self.path)
            sock.connect(self.qemu_path)  # only QEMU's datagrams get through
        else:
            assert isinstance(self.path, str)  # a unix socket's path on the dgram wire
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(self.path)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._reader, name="labkit-wire", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing = True
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.transport == "dgram" and isinstance(self.path, str):
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reader(self) -> None:
        assert self._sock is not None
        sock = self._sock
        while not self._closing:
            try:
                raw = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:     # closed, or (UDP) QEMU's port is gone: nothing more comes
                self.peer_gone = self.peer_gone or not self._closing
                return
            if not raw:
                continue        # a real wire never carries an empty frame
            with self._cond:
                self.frames.append(Captured(time.monotonic(), False, raw))
                self._cond.notify_all()
            if self.answer_arp:
                try:
                    self._maybe_answer_arp(raw)
                except NetError:     # QEMU went away between its request and our answer
                    self.peer_gone = True
                    return

    def _maybe_answer_arp(self, raw: bytes) -> None:
        if len(raw) < 42 or raw[12:14] != b"\x08\x06":
            return
        try:
            f = fr.parse(raw)
        except (ValueError, IndexError, struct.error):
            return          # not an ARP packet we can read: nothing to answer
        if f.arp and f.arp.op == 1 and f.arp.tpa in self.ips:
            self.send(fr.arp_frame(2, self.mac, f.arp.tpa, f.arp.sha, f.arp.spa))
            self.arp_answered += 1

    # ------------------------------------------------------------------ frames
    def send(self, frame: bytes) -> None:
        """Inject one frame into the guest's NIC (never an empty one: QEMU-NOTES)."""
        if not frame:
            raise NetError("refusing to send a zero-length frame: it stops QEMU reading "
                           "this NIC for good (see QEMU-NOTES)")
        sock = self._sock
        if sock is None:
            raise NetError("the wire is closed")
        deadline = time.monotonic() + 10.0
        while True:
            try:
                if self.transport == "udp":
                    sock.send(frame)
                else:
                    sock.sendto(frame, self.qemu_path)  # type: ignore[arg-type]
                break
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                self.peer_gone = True
                raise NetError(f"QEMU's end of the wire ({self.qemu_path}) is gone: {exc}") from exc
            except (TimeoutError, BlockingIOError):
                # QEMU stops reading while the guest has no free receive buffer: wait for it
                if time.monotonic() > deadline:
                    raise NetError("the guest has not taken a frame for 10 s: its NIC is stuck") \
                        from None
        with self._cond:
            self.frames.append(Captured(time.monotonic(), True, frame))

    def mark(self) -> int:
        """A cursor: :meth:`expect` with ``since=mark`` looks only at frames after it."""
        with self._cond:
            return len(self.frames)

    def expect(self, match: Callable[[Frame], bool], timeout: float = 5.0,
               since: int | None = None) -> Frame:
        """The first frame from the guest after ``since`` that ``match`` accepts."""
        deadline = time.monotonic() + timeout
        index = self.mark() if since is None else since
        with self._cond:
            while True:
                while index < len(self.frames):
                    c = self.frames[index]
                    index += 1
                    if not c.outbound:
                        f = c.frame
                        if match(f):
                            return f
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout(f"no matching frame from the guest within {timeout:g} s "
                                      f"({self.received} frames received in all)")
                self._cond.wait(left)

    @property
    def received(self) -> int:
        return sum(1 for c in self.frames if not c.outbound)

    # ------------------------------------------------------------------ conversations
    def arp(self, timeout: float = 5.0) -> str:
        """Ask who has the guest's address; returns the MAC it answers with."""
        since = self.mark()
        self.send(fr.arp_frame(1, self.mac, self.ips[0], "00:00:00:00:00:00", self.guest_ip))
        f = self.expect(lambda f: bool(f.arp and f.arp.op == 2 and f.arp.spa == self.guest_ip),
                        timeout, since)
        return f.arp.sha  # type: ignore[union-attr]

    def ping(self, seq: int = 1, data: bytes = b"labkit ping", timeout: float = 5.0) -> float:
        """One ICMP echo to the guest; returns the round trip in seconds (wall clock)."""
        since = self.mark()
        t0 = time.monotonic()
        self.send(fr.icmp_echo_frame(self.guest_mac, self.mac, self.ips[0], self.guest_ip,
                                     self._ident, seq, data))
        self.expect(lambda f: bool(f.icmp and f.icmp.type == 0 and f.icmp.seq == seq
                                   and f.icmp.ident == self._ident), timeout, since)
        return time.monotonic() - t0

    def udp(self, dport: int, payload: bytes, sport: int = 40000, timeout: float = 5.0) -> bytes:
        """Send one datagram to the guest's port ``dport``; return the first datagram it sends
        back to ``sport``."""
        since = self.mark()
        self.send(fr.udp_frame(self.guest_mac, self.mac, self.ips[0], self.guest_ip, sport,
                               dport, payload))
        f = self.expect(lambda f: bool(f.udp and f.udp.dport == sport), timeout, since)
        return f.payload

    def tcp(self, dport: int, sport: int | None = None) -> TcpClient:
        """A TCP client speaking to the guest's port ``dport`` over this wire."""
        return TcpClient(self, dport, sport or random.randrange(20000, 60000))

    def write_pcap(self, path: str | os.PathLike[str]) -> Path:
        """What this peer saw and sent, as a pcap file (see also QEMU's filter-dump)."""
        from .pcap import write_pcap

        with self._cond:
            frames = list(self.frames)
        return write_pcap(path, [(c.t, c.raw) for c in frames])


class TcpClient:
    """A small TCP client made of crafted segments: enough to test the guest's TCP (and to
    count instructions per segment) without any host stack in between."""

    def __init__(self, wire: Wire, dport: int, sport: int) -> None:
        self.wire, self.dport, self.sport = wire, dport, sport
        self.seq = random.randrange(1 << 32)
        self.ack = 0
        self.received = bytearray()
        self.peer_fin = False
        self._cursor = wire.mark()

    def _send(self, flags: int, payload: bytes = b"") -> None:
        w = self.wire
        w.send(fr.tcp_frame(w.guest_mac, w.mac, w.ips[0], w.guest_ip, self.sport, self.dport,
                            self.seq, self.ack, flags, payload))
        self.seq = (self.seq + len(payload) + (1 if flags & (fr.SYN | fr.FIN) else 0)) & 0xFFFFFFFF

    def _mine(self, f: Frame) -> bool:
        return bool(f.tcp and f.tcp.sport == self.dport and f.tcp.dport == self.sport)

    def _next(self, timeout: float) -> Frame:
        f = self.wire.expect(self._mine, timeout, self._cursor)
        with self.wire._cond:
            # continue after this frame next time
            for i in range(self._cursor, len(self.wire.frames)):
                if self.wire.frames[i].raw == f.raw and not self.wire.frames[i].outbound:
                    self._cursor = i + 1
                    break
        if f.tcp and f.tcp.flags & fr.RST:
            raise NetError(f"the guest reset the connection to port {self.dport}")
        return f

    def connect(self, timeout: float = 5.0) -> TcpClient:
        self._send(fr.SYN)
        f = self._next(timeout)
        if not (f.tcp and f.tcp.has(fr.SYN | fr.ACK)):
            raise NetError(f"expected SYN-ACK, got {f.summary()}")
        self.ack = (f.tcp.seq + 1) & 0xFFFFFFFF
        self._send(fr.ACK)
        return self

    def send(self, data: bytes, mss: int = 1460) -> None:
        for i in range(0, len(data), mss):
            self._send(fr.ACK | fr.PSH, data[i:i + mss])

    def _take(self, f: Frame) -> None:
        assert f.tcp is not None
        if f.payload and f.tcp.seq == self.ack:
            self.received += f.payload
            self.ack = (self.ack + len(f.payload)) & 0xFFFFFFFF
        if f.tcp.flags & fr.FIN and (f.tcp.seq + len(f.payload)) & 0xFFFFFFFF == self.ack:
            self.peer_fin = True
            self.ack = (self.ack + 1) & 0xFFFFFFFF
        if f.payload or f.tcp.flags & fr.FIN:
            self._send(fr.ACK)

    def recv_until(self, done: Callable[[bytes], bool], timeout: float = 5.0) -> bytes:
        """Read (acknowledging each segment) until ``done(all bytes so far)`` or the FIN."""
        deadline = time.monotonic() + timeout
        while not done(bytes(self.received)) and not self.peer_fin:
            self._take(self._next(max(0.01, deadline - time.monotonic())))
        return bytes(self.received)

    def close(self, timeout: float = 5.0) -> None:
        """Send our FIN and wait for the guest's."""
        self._send(fr.FIN | fr.ACK)
        deadline = time.monotonic() + timeout
        while not self.peer_fin:
            self._take(self._next(max(0.01, deadline - time.monotonic())))

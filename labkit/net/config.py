# SPDX-License-Identifier: MIT
"""The guest's network card, as QEMU flags: ``MachineConfig(net=...)``.

Two wirings (docs/design.md, "Network wire"):

``"wire"``
    labkit is the whole network (:class:`~labkit.net.wire.Wire` crafts, injects and captures
    frames), over one of two transports (``transport``):

    ``"dgram"`` (the default where QEMU has it, 7.2 and later)
        a ``dgram`` netdev on two unix sockets in the machine's private runtime directory:
        only this user can reach them.
    ``"udp"`` (the fallback: QEMU 6.2 to 7.1 lack ``-netdev dgram``)
        ``-netdev socket,udp=127.0.0.1:P,localaddr=127.0.0.1:Q``: one frame per UDP
        datagram on loopback. **Other local users can send datagrams to QEMU's port Q**, and
        so inject frames into the guest (labkit's own end only accepts datagrams from Q). On a
        shared machine prefer a QEMU with ``dgram``.

    ``LABKIT_WIRE=udp`` forces the fallback (to test it where dgram exists), ``LABKIT_WIRE=
    dgram`` forces dgram; unset, labkit asks QEMU (``-netdev help``) once per binary. Ports
    are picked safely: labkit's port P is bound before QEMU starts and kept; QEMU's port Q is
    held (bound first without, then with, ``SO_REUSEADDR``, so no other prober is given it)
    until QEMU has bound it itself, and a QEMU that still loses it is started again with new
    ports (:class:`~labkit.machine.Machine` retries).
``"user"``
    QEMU's user-mode networking (the guest is 10.0.2.15 behind a NAT at 10.0.2.2) with
    ``hostfwd`` rules on 127.0.0.1 only, so curl, nc or redis-benchmark on the host reach the
    guest's servers. Host ports are chosen free when the command is built; read them back with
    :meth:`NetConfig.host_port`.

Either can also write a pcap of both directions with QEMU's ``filter-dump`` (``pcap=PATH``).
The NIC is a transitional virtio-net (legacy interface) with the MAC :data:`GUEST_MAC`.

>>> cfg = NetConfig("user", forward={80: 8080})
>>> [f.words[1] for f in cfg.flags(Path("/run/x"))][0]
'user,id=n0,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:8080-:80'
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BootError
from ..qemuflag import Flag
from .frames import GUEST_MAC

__all__ = ["NetConfig", "QEMU_SOCKET", "WIRE_SOCKET", "TRANSPORTS", "free_port",
           "qemu_has_dgram", "wire_transport"]

QEMU_SOCKET = "net-qemu.sock"     #: the dgram socket QEMU binds in the runtime directory
WIRE_SOCKET = "net-wire.sock"     #: the one labkit's Wire binds
TRANSPORTS = ("dgram", "udp")     #: how the wire's frames travel between QEMU and labkit
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.lru_cache(maxsize=8)
def _netdev_backends(qemu_path: str) -> frozenset[str] | None:
    try:
        proc = subprocess.run([qemu_path, "-netdev", "help"], capture_output=True, text=True,
                              timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Available netdev backend types"):
            return frozenset(w.strip() for w in lines[i + 1:] if w.strip())
    return None


def qemu_has_dgram(qemu: str = "qemu-system-x86_64") -> bool | None:
    """Whether this QEMU offers ``-netdev dgram`` (new in 7.2), from ``QEMU -netdev help``;
    None when QEMU cannot be asked (not installed, or it answers something else)."""
    path = shutil.which(qemu)
    if path is None:
        return None
    backends = _netdev_backends(path)
    return None if backends is None else "dgram" in backends


def wire_transport(qemu: str = "qemu-system-x86_64") -> str:
    """``"dgram"`` or ``"udp"``: ``$LABKIT_WIRE`` when set, else dgram where QEMU has it."""
    forced = os.environ.get("LABKIT_WIRE", "").strip().lower()
    if forced:
        if forced not in TRANSPORTS:
            raise BootError(f"LABKIT_WIRE={forced!r}: use 'dgram' (unix sockets, the default "
                            "where QEMU has them) or 'udp' (loopback UDP, for QEMU before 7.2)")
        return forced
    return "udp" if qemu_has_dgram(qemu) is False else "dgram"


def _hold_udp_port() -> socket.socket:
    """A loopback UDP socket on a port nobody uses, which QEMU may bind as well.

    Bound without ``SO_REUSEADDR``, the kernel picks a port no socket holds (not even one
    with the option); setting the option afterwards lets QEMU's bind (which sets it) share
    the port, while every other prober that binds port 0 is steered away from it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def _wire_socket() -> socket.socket:
    """labkit's end of a UDP wire: its own port, never shared."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    return sock


@dataclass
class NetConfig:
    """How the guest's NIC is wired. ``forward`` maps guest TCP ports to host ports on
    127.0.0.1 (0: pick a free one) in ``"user"`` mode; ``pcap`` records the traffic."""

    mode: str = "wire"
    forward: Mapping[int, int] = field(default_factory=dict)
    pcap: str | os.PathLike[str] | None = None
    mac: str = GUEST_MAC
    #: ``"dgram"``, ``"udp"`` or None (decided by :func:`wire_transport` when QEMU's flags
    #: are built); only for mode ``"wire"``
    transport: str | None = None
    #: the QEMU binary asked whether it has dgram (Machine sets it to the one it starts)
    qemu: str = "qemu-system-x86_64"
    host_ports: dict[int, int] = field(default_factory=dict)   # filled by flags()
    #: for transport "udp", filled by flags(): (QEMU's port Q, labkit's port P) on 127.0.0.1
    udp_ports: tuple[int, int] | None = field(default=None, init=False, compare=False)
    _wire_sock: socket.socket | None = field(default=None, init=False, repr=False,
                                             compare=False)
    _qemu_hold: socket.socket | None = field(default=None, init=False, repr=False,
                                             compare=False)

    def __post_init__(self) -> None:
        if self.mode not in ("wire", "user"):
            raise BootError(f"unknown net mode {self.mode!r}: use 'wire' (labkit is the "
                            "network) or 'user' (QEMU user networking with hostfwd)")
        if self.forward and self.mode != "user":
            raise BootError("port forwarding needs net mode 'user'")
        if self.transport is not None and (self.mode != "wire" or
                                           self.transport not in TRANSPORTS):
            raise BootError(f"transport={self.transport!r}: only net mode 'wire' has one, "
                            f"and it is one of {', '.join(TRANSPORTS)}")

    @classmethod
    def coerce(cls, value: Any) -> NetConfig:
        """``"wire"``, ``"user"``, a mapping of fields, or a NetConfig."""
        if isinstance(value, NetConfig):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            return cls(**value)
        raise BootError(f"net={value!r}: give 'wire', 'user' or a labkit.net.NetConfig")

    def host_port(self, guest_port: int) -> int:
        """The host port (on 127.0.0.1) that reaches the guest's ``guest_port``."""
        try:
            return self.host_ports[guest_port]
        except KeyError:
            raise BootError(f"guest port {guest_port} is not forwarded (forward="
                            f"{dict(self.forward)}; start the machine first)") from None

    # ---------------------------------------------------------------- the UDP wire's ports
    def take_wire_socket(self) -> socket.socket:
        """labkit's bound end of a UDP wire, for :class:`~labkit.net.wire.Wire`: the socket
        held since the flags were built, or (attached again) a new one on the same port,
        which raises :class:`OSError` while an earlier Wire still holds it."""
        sock, self._wire_sock = self._wire_sock, None
        if sock is not None:
            return sock
        if self.udp_ports is None:
            raise BootError("the machine's UDP wire has no ports yet: start the machine first")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((LOOPBACK, self.udp_ports[1]))
        except OSError:
            sock.close()
            raise
        return sock

    def qemu_bound(self) -> None:
        """QEMU has bound its port: labkit's hold on it can go."""
        hold, self._qemu_hold = self._qemu_hold, None
        if hold is not None:
            hold.close()

    def release(self) -> None:
        """Close every socket this config still holds (the machine has ended)."""
        self.qemu_bound()
        sock, self._wire_sock = self._wire_sock, None
        if sock is not None:
            sock.close()

    def _udp_netdev(self) -> str:
        self.release()
        hold, wire = _hold_udp_port(), _wire_socket()
        self._qemu_hold, self._wire_sock = hold, wire
        qemu_port, wire_port = hold.getsockname()[1], wire.getsockname()[1]
        self.udp_ports = (qemu_port, wire_port)
        return (f"socket,id=n0,udp={LOOPBACK}:{wire_port},"
                f"localaddr={LOOPBACK}:{qemu_port}")

    def flags(self, rundir: Path) -> list[Flag]:
        """The QEMU flags for this NIC, with sockets under ``rundir`` (for the UDP wire,
        fresh loopback ports, held until QEMU has them)."""
        if self.mode == "wire":
            if self.transport is None:
                self.transport = wire_transport(self.qemu)
            if self.transport == "udp":
                netdev = self._udp_netdev()
                why = ("the NIC's cable is loopback UDP, one frame per datagram (QEMU before "
                       "7.2 has no dgram netdev; other local users can reach these ports)")
            else:
                netdev = (f"dgram,id=n0,local.type=unix,local.path={rundir / QEMU_SOCKET},"
                          f"remote.type=unix,remote.path={rundir / WIRE_SOCKET}")
                why = ("the NIC's cable ends in a unix datagram socket: labkit's Wire is the "
                       "network")
        else:
            self.host_ports = {g: (h or free_port()) for g, h in self.forward.items()}
            rules = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in self.host_ports.items())
            netdev = f"user,id=n0,net=10.0.2.0/24{rules}"
            why = ("QEMU user networking (NAT, guest 10.0.2.15, host 10.0.2.2); hostfwd binds "
                   "127.0.0.1 only")
        flags = [
            Flag(("-netdev", netdev), why),
            Flag(("-device", f"virtio-net-pci,netdev=n0,mac={self.mac},disable-legacy=off,"
                             "disable-modern=on,romfile="),
                 "a transitional virtio-net NIC driven through its legacy I/O BAR; no boot ROM"),
        ]
        if self.pcap is not None:
            flags.append(Flag(("-object", f"filter-dump,id=dump0,netdev=n0,file={self.pcap}"),
                              "write every frame, both directions, to a pcap file"))
        return flags

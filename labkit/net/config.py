# SPDX-License-Identifier: MIT
"""The guest's network card, as QEMU flags: ``MachineConfig(net=...)``.

Two wirings (docs/design.md, "Network wire"):

``"wire"``
    a ``dgram`` netdev on two unix sockets in the machine's private runtime directory: labkit
    is the whole network (:class:`~labkit.net.wire.Wire` crafts, injects and captures frames).
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

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BootError
from ..qemuargs import Flag
from .frames import GUEST_MAC

__all__ = ["NetConfig", "QEMU_SOCKET", "WIRE_SOCKET", "free_port"]

QEMU_SOCKET = "net-qemu.sock"     #: the dgram socket QEMU binds in the runtime directory
WIRE_SOCKET = "net-wire.sock"     #: the one labkit's Wire binds


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class NetConfig:
    """How the guest's NIC is wired. ``forward`` maps guest TCP ports to host ports on
    127.0.0.1 (0: pick a free one) in ``"user"`` mode; ``pcap`` records the traffic."""

    mode: str = "wire"
    forward: Mapping[int, int] = field(default_factory=dict)
    pcap: str | os.PathLike[str] | None = None
    mac: str = GUEST_MAC
    host_ports: dict[int, int] = field(default_factory=dict)   # filled by flags()

    def __post_init__(self) -> None:
        if self.mode not in ("wire", "user"):
            raise BootError(f"unknown net mode {self.mode!r}: use 'wire' (labkit is the "
                            "network) or 'user' (QEMU user networking with hostfwd)")
        if self.forward and self.mode != "user":
            raise BootError("port forwarding needs net mode 'user'")

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

    def flags(self, rundir: Path) -> list[Flag]:
        """The QEMU flags for this NIC, with sockets under ``rundir``."""
        if self.mode == "wire":
            netdev = (f"dgram,id=n0,local.type=unix,local.path={rundir / QEMU_SOCKET},"
                      f"remote.type=unix,remote.path={rundir / WIRE_SOCKET}")
            why = "the NIC's cable ends in a unix datagram socket: labkit's Wire is the network"
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

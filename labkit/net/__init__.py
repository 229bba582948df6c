# SPDX-License-Identifier: MIT
"""labkit.net: the guest's network, from the host side.

- :class:`NetConfig` (``MachineConfig(net=...)``): the NIC's wiring, ``"wire"`` or ``"user"``
  with hostfwd on 127.0.0.1 and an optional pcap;
- :class:`Wire`: labkit as the other end of the cable (ARP, ping, UDP, a crafted TCP client,
  capture);
- :mod:`~labkit.net.frames`: build and parse frames; :mod:`~labkit.net.pcap`: pcap files;
- :mod:`~labkit.net.malformed`: a generator of broken frames; :mod:`~labkit.net.stats`: the
  kernel's ``net`` events as time series and per-stage instruction counts;
- :mod:`~labkit.net.bench`: the measurements of lesson 03 (``labkit bench``).
"""

from __future__ import annotations

from .config import NetConfig, free_port
from .pcap import read_pcap, write_pcap
from .wire import Captured, NetError, TcpClient, Wire

__all__ = ["NetConfig", "Wire", "TcpClient", "Captured", "NetError", "read_pcap", "write_pcap",
           "free_port"]

# SPDX-License-Identifier: MIT
"""pcap files (the classic libpcap format, link type Ethernet): write frames, read them back.

QEMU's ``filter-dump`` writes the same format, so :func:`read_pcap` also reads what the
machine's NIC saw (``net=NetConfig(pcap=...)``). Wireshark and tcpdump open both.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from pathlib import Path

__all__ = ["write_pcap", "read_pcap", "PcapError"]

MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1


class PcapError(ValueError):
    """The file is not a pcap of Ethernet frames (or is cut short)."""


def write_pcap(path: str | os.PathLike[str], frames: Iterable[tuple[float, bytes]]) -> Path:
    """Write ``(timestamp_seconds, frame)`` pairs as a pcap file; returns its path."""
    path = Path(path)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", MAGIC, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        for t, raw in frames:
            sec = int(t)
            f.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(raw), len(raw)))
            f.write(raw)
    return path


def read_pcap(path: str | os.PathLike[str]) -> list[tuple[float, bytes]]:
    """The ``(timestamp_seconds, frame)`` pairs of a pcap file; raises :class:`PcapError`."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise PcapError(f"{path}: {len(data)} bytes, shorter than a pcap header")
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (MAGIC, 0xA1B23C4D) else ">"
    if struct.unpack(endian + "I", data[:4])[0] not in (MAGIC, 0xA1B23C4D):
        raise PcapError(f"{path}: not a pcap file (magic {data[:4].hex()})")
    nano = struct.unpack(endian + "I", data[:4])[0] == 0xA1B23C4D
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != LINKTYPE_ETHERNET:
        raise PcapError(f"{path}: link type {linktype}, not Ethernet")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            raise PcapError(f"{path}: record at byte {off - 16} runs past the end")
        out.append((sec + frac / (1e9 if nano else 1e6), data[off:off + incl]))
        off += incl
    return out

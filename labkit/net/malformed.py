# SPDX-License-Identifier: MIT
"""Broken frames, by the thousand: the robustness half of the network lesson.

:func:`malformed_frames` yields ``(kind, frame)`` pairs from a seeded random generator:
truncated headers at every layer, lengths that lie, bad checksums, IP and TCP options (good
and bad), fragments, odd flag combinations, other EtherTypes, random garbage, oversized frames
and floods of SYNs and datagrams. A correct stack drops and counts each one (or answers it
properly, e.g. a RST) and goes on serving. No frame is ever empty: a zero-length datagram
stops QEMU 7.2 reading the NIC (QEMU-NOTES), which would test QEMU, not the kernel.

>>> kinds = {k for k, f in malformed_frames(500, seed=1)}
>>> len(kinds) > 15 and all(len(f) > 0 for _, f in malformed_frames(200, seed=2))
True
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator

from . import frames as fr

__all__ = ["malformed_frames", "KINDS"]

G_MAC, H_MAC, G_IP, H_IP = fr.GUEST_MAC, fr.HOST_MAC, fr.GUEST_IP, fr.HOST_IP


def _valid_udp(r: random.Random, dport: int | None = None) -> bytes:
    return fr.udp_frame(G_MAC, H_MAC, H_IP, G_IP, r.randrange(1024, 65536),
                        dport if dport is not None else r.choice([7, 9, 53, 4444]),
                        r.randbytes(r.randrange(0, 64)))


def _valid_tcp(r: random.Random, flags: int = fr.SYN) -> bytes:
    return fr.tcp_frame(G_MAC, H_MAC, H_IP, G_IP, r.randrange(1024, 65536),
                        r.choice([7, 80, 6379, 1]), r.getrandbits(32), r.getrandbits(32), flags)


def _ip(r: random.Random, proto: int, payload: bytes, **kw) -> bytes:
    return fr.ethernet(G_MAC, H_MAC, fr.ETH_IP, fr.ipv4_packet(H_IP, G_IP, proto, payload, **kw))


def truncated(r: random.Random) -> bytes:
    f = r.choice([_valid_udp(r), _valid_tcp(r), fr.icmp_echo_frame(G_MAC, H_MAC, H_IP, G_IP, 1, 1),
                  fr.arp_frame(1, H_MAC, H_IP, "00:00:00:00:00:00", G_IP)])
    return f[:r.randrange(1, len(f))]


def ip_bad_length(r: random.Random) -> bytes:
    body = r.randbytes(r.randrange(8, 40))
    lie = r.choice([0, 5, 19, 20 + len(body) + r.randrange(1, 3000)])
    return _ip(r, fr.UDP, body, total_len=lie)


def ip_bad_ihl(r: random.Random) -> bytes:
    raw = bytearray(_valid_udp(r))
    raw[14] = 0x40 | r.choice([0, 1, 4, 15])             # too short, or longer than the packet
    return bytes(raw)


def ip_bad_version(r: random.Random) -> bytes:
    raw = bytearray(_valid_udp(r))
    raw[14] = (r.choice([0, 5, 6, 15]) << 4) | 5
    return bytes(raw)


def ip_bad_checksum(r: random.Random) -> bytes:
    return _ip(r, fr.UDP, r.randbytes(16), bad_checksum=True)


def ip_options(r: random.Random) -> bytes:
    ihl = r.randrange(6, 16)
    opts = r.randbytes((ihl - 5) * 4) if r.random() < 0.5 else b"\x01" * ((ihl - 5) * 4)
    icmp = struct.pack("!BBHHH", 8, 0, 0, 7, r.randrange(1 << 16)) + b"opt"
    icmp = icmp[:2] + struct.pack("!H", fr.checksum(icmp)) + icmp[4:]
    return _ip(r, fr.ICMP, icmp, ihl=ihl, options=opts)


def fragment(r: random.Random) -> bytes:
    flags = r.choice([0x2000, 0x2000 | r.randrange(1, 0x1FFF), r.randrange(1, 0x1FFF)])
    return _ip(r, fr.UDP, r.randbytes(24), flags_frag=flags)


def other_protocol(r: random.Random) -> bytes:
    return _ip(r, r.choice([0, 2, 41, 47, 50, 132, 255]), r.randbytes(r.randrange(1, 64)))


def not_for_us(r: random.Random) -> bytes:
    payload = fr.ipv4_packet(H_IP, r.choice(["10.0.2.99", "255.255.255.255", "224.0.0.1"]),
                             fr.UDP, r.randbytes(12))
    return fr.ethernet(r.choice([G_MAC, fr.BROADCAST, "02:00:00:00:00:01"]), H_MAC, fr.ETH_IP,
                       payload)


def other_ethertype(r: random.Random) -> bytes:
    return fr.ethernet(G_MAC, H_MAC, r.choice([0x86DD, 0x8100, 0x88CC, 0x0000, 0xFFFF]),
                       r.randbytes(r.randrange(1, 100)))


def icmp_bad(r: random.Random) -> bytes:
    body = struct.pack("!BBHHH", r.choice([8, 0, 3, 5, 13, 255]), r.randrange(3), 0, 1, 1)
    body += r.randbytes(r.randrange(0, 20))
    if r.random() < 0.5:
        body = body[:2] + struct.pack("!H", fr.checksum(body)) + body[4:]
    return _ip(r, fr.ICMP, body[:r.randrange(1, len(body) + 1)])


def udp_bad_length(r: random.Random) -> bytes:
    return fr.udp_frame(G_MAC, H_MAC, H_IP, G_IP, 5000, 7, r.randbytes(20),
                        length=r.choice([0, 7, 29, 1000, 65535]))


def udp_bad_checksum(r: random.Random) -> bytes:
    return fr.udp_frame(G_MAC, H_MAC, H_IP, G_IP, 5000, 7, r.randbytes(20), bad_checksum=True)


def tcp_bad_checksum(r: random.Random) -> bytes:
    return fr.tcp_frame(G_MAC, H_MAC, H_IP, G_IP, 5000, 80, 1, 0, fr.SYN, bad_checksum=True)


def tcp_bad_offset(r: random.Random) -> bytes:
    raw = bytearray(_valid_tcp(r))
    raw[14 + 20 + 12] = r.choice([0, 1, 4, 15]) << 4      # data offset below 5 or past the end
    return bytes(raw)


def tcp_bad_options(r: random.Random) -> bytes:
    opts = r.choice([b"\x02\x00", b"\x02\x01\x05\xb4", b"\x02\x04", b"\x08\x30", b"\x03",
                     b"\x02\x04\x00\x00", b"\x02\x04\xff\xff", r.randbytes(r.randrange(1, 40))])
    return fr.tcp_frame(G_MAC, H_MAC, H_IP, G_IP, r.randrange(1024, 65536), 80, 1, 0, fr.SYN,
                        options=opts)


def tcp_odd_flags(r: random.Random) -> bytes:
    flags = r.choice([fr.SYN | fr.FIN, fr.SYN | fr.RST, fr.FIN, fr.RST, 0, 0xFF, fr.ACK,
                      fr.PSH | fr.ACK, fr.FIN | fr.PSH | 0x20])
    return fr.tcp_frame(G_MAC, H_MAC, H_IP, G_IP, r.randrange(1024, 65536),
                        r.choice([7, 80, 1, 6379]), r.getrandbits(32), r.getrandbits(32), flags,
                        r.randbytes(r.randrange(0, 30)))


def arp_bad(r: random.Random) -> bytes:
    raw = bytearray(fr.arp_frame(r.choice([1, 2, 3, 0]), H_MAC, r.choice([H_IP, "0.0.0.0",
                                 "10.0.2.77"]), "00:00:00:00:00:00",
                                 r.choice([G_IP, "10.0.2.1"])))
    if r.random() < 0.5:
        raw[14 + r.randrange(0, 6)] = r.randrange(256)       # htype, ptype, hlen, plen
    return bytes(raw[:r.randrange(15, len(raw) + 1)])


def garbage(r: random.Random) -> bytes:
    raw = bytearray(r.randbytes(r.randrange(1, 1515)))
    if r.random() < 0.5 and len(raw) >= 14:
        raw[0:6] = fr.mac_bytes(G_MAC)
        raw[12:14] = r.choice([b"\x08\x00", b"\x08\x06"])
    return bytes(raw)


def oversized(r: random.Random) -> bytes:
    return _ip(r, fr.UDP, r.randbytes(r.randrange(1500, 9000)))


def syn_flood(r: random.Random) -> bytes:
    return fr.tcp_frame(G_MAC, H_MAC, H_IP, G_IP, r.randrange(1024, 65536), 7,
                        r.getrandbits(32), 0, fr.SYN, options=b"\x02\x04\x05\xb4")


def udp_flood(r: random.Random) -> bytes:
    return _valid_udp(r, dport=9)


#: Every kind of broken frame, by name.
KINDS: dict[str, Callable[[random.Random], bytes]] = {
    f.__name__: f for f in (truncated, ip_bad_length, ip_bad_ihl, ip_bad_version,
                            ip_bad_checksum, ip_options, fragment, other_protocol, not_for_us,
                            other_ethertype, icmp_bad, udp_bad_length, udp_bad_checksum,
                            tcp_bad_checksum, tcp_bad_offset, tcp_bad_options, tcp_odd_flags,
                            arp_bad, garbage, oversized, syn_flood, udp_flood)
}


def malformed_frames(count: int, seed: int = 0,
                     kinds: tuple[str, ...] | None = None) -> Iterator[tuple[str, bytes]]:
    """``count`` broken frames, reproducibly (same seed, same frames)."""
    r = random.Random(seed)
    names = list(kinds or KINDS)
    for _ in range(count):
        kind = r.choice(names)
        frame = KINDS[kind](r)
        yield kind, frame or b"\0"          # never an empty datagram

# SPDX-License-Identifier: MIT
"""Ethernet frames, crafted and parsed: Ethernet II, ARP, IPv4, ICMP echo, UDP and TCP.

Builders return ``bytes`` ready for the wire (checksums filled in unless told otherwise);
:func:`parse` turns a frame into a :class:`Frame` dataclass whose fields say what each layer
carried and whether its checksum was right. Nothing here does I/O.

>>> f = parse(udp_frame(GUEST_MAC, HOST_MAC, "10.0.2.2", "10.0.2.15", 5000, 7, b"hi"))
>>> (f.ip.src, f.udp.dport, f.payload, f.udp.checksum_ok)
('10.0.2.2', 7, b'hi', True)
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

__all__ = [
    "GUEST_MAC", "HOST_MAC", "BROADCAST", "GUEST_IP", "HOST_IP",
    "ETH_IP", "ETH_ARP", "ICMP", "TCP", "UDP",
    "FIN", "SYN", "RST", "PSH", "ACK",
    "checksum", "mac_bytes", "mac_text", "ip_bytes",
    "ethernet", "arp_frame", "ipv4_packet", "icmp_echo_frame", "udp_frame", "tcp_frame",
    "Frame", "EthInfo", "ArpInfo", "IpInfo", "IcmpInfo", "UdpInfo", "TcpInfo", "parse",
]

GUEST_MAC = "52:54:00:12:34:56"      #: QEMU's default NIC address, which labkit gives the guest
HOST_MAC = "52:55:0a:00:02:02"       #: the wire peer's address (QEMU user networking's host)
BROADCAST = "ff:ff:ff:ff:ff:ff"
GUEST_IP = "10.0.2.15"               #: the kernel's default address (ip=)
HOST_IP = "10.0.2.2"                 #: the kernel's default gateway (gw=): the wire peer

ETH_IP, ETH_ARP = 0x0800, 0x0806
ICMP, TCP, UDP = 1, 6, 17
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac_bytes(mac: str | bytes) -> bytes:
    return mac if isinstance(mac, bytes) else bytes.fromhex(mac.replace(":", ""))


def mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def ip_bytes(ip: str | bytes) -> bytes:
    return ip if isinstance(ip, bytes) else ipaddress.IPv4Address(ip).packed


def ethernet(dst: str | bytes, src: str | bytes, ethertype: int, payload: bytes) -> bytes:
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ethertype) + payload


def arp_frame(op: int, sha: str, spa: str, tha: str, tpa: str, dst: str | None = None) -> bytes:
    """An ARP request (op 1) or reply (op 2); requests go to the broadcast address."""
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IP, 6, 4, op, mac_bytes(sha), ip_bytes(spa),
                       mac_bytes(tha), ip_bytes(tpa))
    return ethernet(dst or (BROADCAST if op == 1 else tha), sha, ETH_ARP, body)


def ipv4_packet(src: str, dst: str, proto: int, payload: bytes, *, ident: int = 1,
                ttl: int = 64, flags_frag: int = 0x4000, bad_checksum: bool = False,
                total_len: int | None = None, ihl: int = 5, options: bytes = b"") -> bytes:
    """An IPv4 header (with ``options``, padded to ``ihl`` words) and payload."""
    options = options.ljust((ihl - 5) * 4, b"\0")
    length = total_len if total_len is not None else 20 + len(options) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length & 0xFFFF, ident, flags_frag, ttl,
                      proto, 0, ip_bytes(src), ip_bytes(dst)) + options
    csum = checksum(hdr) ^ (0x5555 if bad_checksum else 0)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + payload


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    return ip_bytes(src) + ip_bytes(dst) + struct.pack("!BBH", 0, proto, length)


def icmp_echo_frame(dst_mac: str, src_mac: str, src: str, dst: str, ident: int, seq: int,
                    data: bytes = b"labkit", reply: bool = False) -> bytes:
    body = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + data
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    return ethernet(dst_mac, src_mac, ETH_IP, ipv4_packet(src, dst, ICMP, body))


def udp_frame(dst_mac: str, src_mac: str, src: str, dst: str, sport: int, dport: int,
              payload: bytes, *, bad_checksum: bool = False, length: int | None = None) -> bytes:
    ulen = 8 + len(payload) if length is None else length
    hdr = struct.pack("!HHHH", sport, dport, ulen & 0xFFFF, 0)
    csum = checksum(_pseudo(src, dst, UDP, 8 + len(payload)) + hdr + payload) or 0xFFFF
    csum ^= 0x5555 if bad_checksum else 0
    seg = hdr[:6] + struct.pack("!H", csum) + payload
    return ethernet(dst_mac, src_mac, ETH_IP, ipv4_packet(src, dst, UDP, seg))


def tcp_frame(dst_mac: str, src_mac: str, src: str, dst: str, sport: int, dport: int,
              seq: int, ack: int, flags: int, payload: bytes = b"", *, window: int = 65535,
              options: bytes = b"", bad_checksum: bool = False) -> bytes:
    options = options + b"\0" * (-len(options) % 4)
    off = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4,
                      flags, window, 0, 0) + options
    seg = hdr + payload
    csum = checksum(_pseudo(src, dst, TCP, len(seg)) + seg) ^ (0x5555 if bad_checksum else 0)
    seg = seg[:16] + struct.pack("!H", csum) + seg[18:]
    return ethernet(dst_mac, src_mac, ETH_IP, ipv4_packet(src, dst, TCP, seg))


# ---------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class EthInfo:
    dst: str
    src: str
    type: int


@dataclass(frozen=True)
class ArpInfo:
    op: int
    sha: str
    spa: str
    tha: str
    tpa: str


@dataclass(frozen=True)
class IpInfo:
    src: str
    dst: str
    proto: int
    ttl: int
    ident: int
    total_len: int
    checksum_ok: bool


@dataclass(frozen=True)
class IcmpInfo:
    type: int
    code: int
    ident: int
    seq: int
    checksum_ok: bool


@dataclass(frozen=True)
class UdpInfo:
    sport: int
    dport: int
    length: int
    checksum_ok: bool


@dataclass(frozen=True)
class TcpInfo:
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    mss: int | None
    checksum_ok: bool

    def has(self, flags: int) -> bool:
        return self.flags & flags == flags


@dataclass(frozen=True)
class Frame:
    """One parsed frame; a layer that is absent (or unparsable) is None."""

    raw: bytes
    eth: EthInfo | None = None
    arp: ArpInfo | None = None
    ip: IpInfo | None = None
    icmp: IcmpInfo | None = None
    udp: UdpInfo | None = None
    tcp: TcpInfo | None = None
    payload: bytes = b""

    def summary(self) -> str:
        """One line, tcpdump style."""
        if self.arp:
            what = "who-has" if self.arp.op == 1 else "is-at"
            return f"ARP {what} {self.arp.tpa} tell {self.arp.spa} ({self.arp.sha})"
        if not self.ip:
            return f"ethertype {self.eth.type:#06x} ({len(self.raw)} bytes)" if self.eth else "?"
        head = f"IP {self.ip.src} > {self.ip.dst}"
        if self.icmp:
            names = {8: "echo request", 0: "echo reply"}
            kind = names.get(self.icmp.type, f"type {self.icmp.type}")
            return f"{head} ICMP {kind} id {self.icmp.ident} seq {self.icmp.seq}"
        if self.udp:
            return f"{head} UDP {self.udp.sport} > {self.udp.dport} len {len(self.payload)}"
        if self.tcp:
            names = "".join(c for bit, c in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"),
                                              (ACK, ".")) if self.tcp.flags & bit)
            return (f"{head} TCP {self.tcp.sport} > {self.tcp.dport} [{names}] seq {self.tcp.seq}"
                    f" ack {self.tcp.ack} win {self.tcp.window} len {len(self.payload)}")
        return f"{head} proto {self.ip.proto}"


def _tcp_mss(options: bytes) -> int | None:
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(options) or options[i + 1] < 2:
            break
        if kind == 2 and options[i + 1] == 4 and i + 4 <= len(options):
            return struct.unpack("!H", options[i + 2:i + 4])[0]
        i += options[i + 1]
    return None


def _parse_l4(ip: IpInfo, seg: bytes) -> dict:
    pseudo = _pseudo(ip.src, ip.dst, ip.proto, len(seg))
    if ip.proto == ICMP and len(seg) >= 8:
        t, c, _, ident, seq = struct.unpack("!BBHHH", seg[:8])
        return {"icmp": IcmpInfo(t, c, ident, seq, checksum(seg) == 0), "payload": seg[8:]}
    if ip.proto == UDP and len(seg) >= 8:
        sport, dport, length, csum = struct.unpack("!HHHH", seg[:8])
        ok = csum == 0 or checksum(pseudo + seg) == 0
        return {"udp": UdpInfo(sport, dport, length, ok), "payload": seg[8:length]}
    if ip.proto == TCP and len(seg) >= 20:
        sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", seg[:16])
        hl = (off >> 4) * 4
        info = TcpInfo(sport, dport, seq, ack, flags, win, _tcp_mss(seg[20:hl]),
                       checksum(pseudo + seg) == 0)
        return {"tcp": info, "payload": seg[hl:]}
    return {}


def parse(raw: bytes) -> Frame:
    """Parse a frame as far as its headers allow; never raises."""
    if len(raw) < 14:
        return Frame(raw)
    eth = EthInfo(mac_text(raw[0:6]), mac_text(raw[6:12]), struct.unpack("!H", raw[12:14])[0])
    body = raw[14:]
    if eth.type == ETH_ARP and len(body) >= 28:
        op, sha, spa, tha, tpa = struct.unpack("!6xH6s4s6s4s", body[:28])
        arp = ArpInfo(op, mac_text(sha), str(ipaddress.IPv4Address(spa)), mac_text(tha),
                      str(ipaddress.IPv4Address(tpa)))
        return Frame(raw, eth, arp=arp)
    if eth.type != ETH_IP or len(body) < 20 or body[0] >> 4 != 4:
        return Frame(raw, eth)
    ihl = (body[0] & 15) * 4
    total = struct.unpack("!H", body[2:4])[0]
    if ihl < 20 or len(body) < ihl:
        return Frame(raw, eth)
    ip = IpInfo(str(ipaddress.IPv4Address(body[12:16])), str(ipaddress.IPv4Address(body[16:20])),
                body[9], body[8], struct.unpack("!H", body[4:6])[0], total,
                checksum(body[:ihl]) == 0)
    return Frame(raw, eth, ip=ip, **_parse_l4(ip, body[ihl:max(ihl, min(total, len(body)))]))

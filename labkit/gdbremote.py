# SPDX-License-Identifier: MIT
"""The GDB remote serial protocol, client side, over QEMU's GDB stub socket (no gdb needed).

A packet is ``$payload#cs`` (``cs``: the sum of the payload bytes mod 256, two hex digits);
the receiver answers ``+`` (or ``-`` to ask again) until ``QStartNoAckMode`` turns acks off.
Replies may escape bytes (``}`` then the byte xor 0x20) and run-length encode them (``X*n``:
X repeated ``ord(n) - 29`` more times). A raw 0x03 byte interrupts a running target. Stop
replies look like ``T05thread:p01.01;`` (signal 5 = SIGTRAP), ``W``/``X`` when the target ends.

:class:`RemoteProtocol` does the framing and one command at a time; :mod:`labkit.debugger`
builds the debugger on top. The register layout QEMU 7.2 sends for x86-64 ('g', 608 bytes)
is :data:`REGISTER_LAYOUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

from .errors import DebuggerError, WaitTimeout

__all__ = [
    "RemoteProtocol",
    "Registers",
    "StopReply",
    "REGISTER_LAYOUT",
    "frame",
    "checksum",
    "decode_payload",
    "parse_stop_reply",
    "parse_registers",
]

#: (name, size in bytes) in the order of QEMU's 'g' reply for x86-64 (608 bytes in all);
#: the index in this list is the register number for 'p'/'P'.
REGISTER_LAYOUT: list[tuple[str, int]] = (
    [(n, 8) for n in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                      "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip")]
    + [(n, 4) for n in ("eflags", "cs", "ss", "ds", "es", "fs", "gs")]
    + [(n, 8) for n in ("fs_base", "gs_base", "k_gs_base", "cr0", "cr2", "cr3", "cr4", "cr8",
                        "efer")]
    + [(f"st{i}", 10) for i in range(8)]
    + [(n, 4) for n in ("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop")]
    + [(f"xmm{i}", 16) for i in range(16)]
    + [("mxcsr", 4)]
)
REGISTERS_SIZE = sum(size for _, size in REGISTER_LAYOUT)
assert REGISTERS_SIZE == 608
REGISTER_NUMBER = {name: i for i, (name, _) in enumerate(REGISTER_LAYOUT)}

_EFLAGS_BITS = [(0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"),
                (10, "DF"), (11, "OF")]
_CR0_BITS = [(0, "PE"), (1, "MP"), (2, "EM"), (3, "TS"), (4, "ET"), (5, "NE"), (16, "WP"),
             (18, "AM"), (29, "NW"), (30, "CD"), (31, "PG")]
_EFER_BITS = [(0, "SCE"), (8, "LME"), (10, "LMA"), (11, "NXE")]


def _bits(value: int, table: list[tuple[int, str]]) -> str:
    return " ".join(name for bit, name in table if value >> bit & 1)


@dataclass(frozen=True)
class Registers:
    """The x86-64 registers as QEMU's stub reports them; ``values`` has every one by name."""

    values: dict[str, int] = field(repr=False)

    def __getattr__(self, name: str) -> int:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> int:
        return self.values[name]

    @property
    def pc(self) -> int:
        return self.values["rip"]

    @property
    def cpl(self) -> int:
        """Current privilege level: the low two bits of CS (0 = ring 0, the kernel's ring)."""
        return self.values["cs"] & 3

    @property
    def long_mode(self) -> bool:
        """EFER.LMA: the CPU runs in 64-bit long mode."""
        return bool(self.values["efer"] >> 10 & 1)

    @property
    def paging(self) -> bool:
        return bool(self.values["cr0"] >> 31 & 1)

    @property
    def interrupts_enabled(self) -> bool:
        return bool(self.values["eflags"] >> 9 & 1)

    def describe(self) -> str:
        """A register dump in the style of a kernel panic."""
        v = self.values
        gprs = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
        lines = []
        for i in range(0, 16, 4):
            lines.append("  ".join(f"{n:>3}={v[n]:016x}" for n in gprs[i:i + 4]))
        lines.append(f"rip={v['rip']:016x}  eflags={v['eflags']:08x} "
                     f"[{_bits(v['eflags'], _EFLAGS_BITS)}]")
        lines.append("  ".join(f"{n}={v[n]:04x}" for n in ("cs", "ss", "ds", "es", "fs", "gs"))
                     + f"  CPL={self.cpl}")
        lines.append(f"cr0={v['cr0']:08x} [{_bits(v['cr0'], _CR0_BITS)}]  cr2={v['cr2']:016x}")
        lines.append(f"cr3={v['cr3']:016x}  cr4={v['cr4']:08x}  efer={v['efer']:x} "
                     f"[{_bits(v['efer'], _EFER_BITS)}]")
        lines.append(f"fs_base={v['fs_base']:x}  gs_base={v['gs_base']:x}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Registers rip={self.pc:#x} rsp={self.values['rsp']:#x} cpl={self.cpl}>"


def parse_registers(hexdata: str) -> Registers:
    """Decode a 'g' reply (hex, little-endian, 608 bytes for x86-64)."""
    try:
        raw = bytes.fromhex(hexdata.replace("x", "0"))  # 'xx' marks unavailable registers
    except ValueError as exc:
        raise DebuggerError(f"malformed 'g' reply: {exc}") from exc
    if len(raw) < REGISTERS_SIZE:
        raise DebuggerError(f"'g' reply is {len(raw)} bytes, expected {REGISTERS_SIZE} "
                            "(is this an x86-64 QEMU?)")
    values = {}
    pos = 0
    for name, size in REGISTER_LAYOUT:
        values[name] = int.from_bytes(raw[pos:pos + size], "little")
        pos += size
    return Registers(values)


def checksum(payload: bytes) -> int:
    return sum(payload) & 0xFF


def frame(payload: str | bytes) -> bytes:
    """``$payload#cs`` with ``$ # } *`` escaped."""
    data = payload.encode("latin-1") if isinstance(payload, str) else payload
    escaped = bytearray()
    for b in data:
        if b in b"$#}*":
            escaped += bytes([0x7D, b ^ 0x20])
        else:
            escaped.append(b)
    return b"$" + bytes(escaped) + b"#" + b"%02x" % checksum(bytes(escaped))


def decode_payload(raw: bytes) -> bytes:
    """Undo escapes and run-length encoding of a received payload."""
    out = bytearray()
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x7D and i + 1 < len(raw):
            out.append(raw[i + 1] ^ 0x20)
            i += 2
        elif b == 0x2A and out and i + 1 < len(raw):  # '*': run-length
            out += bytes([out[-1]]) * (raw[i + 1] - 29)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


@dataclass(frozen=True)
class StopReply:
    """Why the target stopped: ``kind`` is 'signal', 'exited' or 'terminated'."""

    kind: str
    signal: int = 0
    info: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def thread(self) -> str | None:
        return self.info.get("thread")


def parse_stop_reply(reply: str) -> StopReply:
    """Parse ``S05``, ``T05thread:01;...``, ``W00``, ``X09`` replies."""
    if not reply:
        raise DebuggerError("empty stop reply")
    kind = reply[0]
    try:
        if kind in "ST":
            info = {}
            for item in reply[3:].split(";"):
                if ":" in item:
                    k, _, v = item.partition(":")
                    info[k] = v
            return StopReply("signal", int(reply[1:3], 16), info, reply)
        if kind == "W":
            return StopReply("exited", int(reply[1:3], 16), {}, reply)
        if kind == "X":
            return StopReply("terminated", int(reply[1:3], 16), {}, reply)
    except ValueError as exc:
        raise DebuggerError(f"malformed stop reply {reply!r}") from exc
    raise DebuggerError(f"unexpected stop reply {reply!r}")


class RemoteProtocol:
    """One connection to a GDB stub: send a packet, get its reply; one exchange at a time."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._packets: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._ack = True
        self.features: dict[str, str] = {}
        self.closed = False
        self.console_output: list[str] = []

    async def connect(self, path: str, timeout: float = 10.0) -> None:
        """Connect to a stub listening on unix socket ``path`` and negotiate features."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                self._reader, self._writer = await asyncio.open_unix_connection(path)
                break
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                if loop.time() > deadline:
                    raise DebuggerError(f"cannot connect to the GDB stub at {path}: {exc} (is "
                                        "another debugger attached? the stub takes one)") from exc
                await asyncio.sleep(0.02)
        self._task = asyncio.create_task(self._read_loop(), name="gdb-remote")
        reply = await self.command("qSupported:multiprocess+;vContSupported+", timeout)
        for item in reply.split(";"):
            if "=" in item:
                k, _, v = item.partition("=")
                self.features[k] = v
            elif item:
                self.features[item.rstrip("+-?")] = item[-1]
        if await self.command("QStartNoAckMode", timeout) == "OK":
            self._ack = False

    async def _read_loop(self) -> None:
        assert self._reader is not None
        buf = b""
        try:
            while True:
                chunk = await self._reader.read(65536)
                if not chunk:
                    break
                buf += chunk
                while True:
                    buf = buf.lstrip(b"+-")
                    if not buf:
                        break
                    if buf[0:1] != b"$" and buf[0:1] != b"%":
                        buf = buf[1:]  # noise
                        continue
                    end = buf.find(b"#")
                    if end < 0 or len(buf) < end + 3:
                        break
                    payload = buf[1:end]
                    buf = buf[end + 3:]
                    if self._ack and self._writer is not None:
                        self._writer.write(b"+")
                    await self._packets.put(decode_payload(payload))
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed = True
            await self._packets.put(None)

    def _send_raw(self, data: bytes) -> None:
        if self._writer is None or self.closed:
            raise DebuggerError("the GDB stub connection is closed (QEMU exited?)")
        self._writer.write(data)

    async def _next_packet(self, timeout: float | None) -> str:
        try:
            packet = await asyncio.wait_for(self._packets.get(), timeout)
        except asyncio.TimeoutError:
            raise WaitTimeout(f"the GDB stub did not answer within {timeout:g} s") from None
        if packet is None:
            await self._packets.put(None)  # keep reporting the closed connection
            raise DebuggerError("the GDB stub closed the connection (QEMU exited?)")
        return packet.decode("latin-1")

    async def command(self, payload: str, timeout: float | None = 10.0) -> str:
        """Send one packet and return its reply; console ('O') packets are collected."""
        async with self._lock:
            self._send_raw(frame(payload))
            while True:
                reply = await self._next_packet(timeout)
                if reply.startswith("O") and reply != "OK" and _is_hex(reply[1:]):
                    self.console_output.append(bytes.fromhex(reply[1:]).decode(errors="replace"))
                    continue
                return reply

    async def send(self, payload: str) -> None:
        """Send a packet whose reply comes later (``c``), or never (``k``)."""
        async with self._lock:
            self._send_raw(frame(payload))

    async def wait_packet(self, timeout: float | None = None) -> str:
        """The next packet from the stub (e.g. the stop reply after ``c``)."""
        return await self._next_packet(timeout)

    def interrupt(self) -> None:
        """Send the interrupt byte (0x03) to stop a running target."""
        self._send_raw(b"\x03")

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
                await asyncio.wait_for(self._writer.wait_closed(), 1.0)
        if self._task is not None:
            self._task.cancel()
        self.closed = True


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)


def pack_u64(value: int) -> str:
    """A register value as the stub wants it for 'P' (little-endian hex)."""
    return struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF).hex()

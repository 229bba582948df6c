# SPDX-License-Identifier: MIT
"""A fake QEMU GDB stub for unit tests: speaks the remote protocol on a unix socket over a
tiny simulated CPU (registers, sparse memory, 1-byte instructions, breakpoints)."""

from __future__ import annotations

import asyncio

from labkit.gdbremote import REGISTER_LAYOUT, checksum


class FakeStub:
    def __init__(self, path: str, rip: int = 0x1000, cs: int = 0x8, ack: bool = True,
                 rle: bool = False):
        self.path = path
        self.regs = {name: 0 for name, _ in REGISTER_LAYOUT}
        self.regs.update(rip=rip, cs=cs, rsp=0x8000, efer=0xD00, cr0=0x80010013)
        self.memory: dict[int, int] = {}
        self.breakpoints: set[int] = set()
        self.ack = ack
        self.rle = rle
        self.sstep = 0x7
        self.received: list[str] = []
        self.running = False
        self.close_on_cont = False
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> FakeStub:
        self._server = await asyncio.start_unix_server(self._serve, path=self.path)
        return self

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()

    def poke(self, addr: int, data: bytes) -> None:
        for i, b in enumerate(data):
            self.memory[addr + i] = b

    def _g(self) -> str:
        out = b""
        for name, size in REGISTER_LAYOUT:
            out += (self.regs[name] & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        return out.hex()

    def _send(self, payload: str) -> None:
        data = payload.encode()
        if self.rle and len(set(payload)) == 1 and len(payload) > 4:
            data = payload[0].encode() + b"*" + bytes([len(payload) - 1 + 29])
        assert self._writer is not None
        self._writer.write(b"$" + data + b"#%02x" % checksum(data))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        buf = b""
        while True:
            chunk = await reader.read(4096)
            if not chunk:
                return
            buf += chunk
            while buf:
                if buf[:1] in (b"+", b"-"):
                    buf = buf[1:]
                    continue
                if buf[:1] == b"\x03":
                    buf = buf[1:]
                    if self.running:
                        self.running = False
                        self._send("T02thread:01;")
                    continue
                end = buf.find(b"#")
                if buf[:1] != b"$" or end < 0 or len(buf) < end + 3:
                    break
                payload = buf[1:end].decode()
                assert int(buf[end + 1:end + 3], 16) == checksum(buf[1:end]), "bad checksum"
                buf = buf[end + 3:]
                if self.ack:
                    writer.write(b"+")
                self.received.append(payload)
                self._handle(payload)

    def _handle(self, p: str) -> None:
        if p.startswith("qSupported"):
            self._send("PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+")
        elif p == "QStartNoAckMode":
            self._send("OK")
            self.ack = False
        elif p == "?":
            self._send("T05thread:01;")
        elif p == "g":
            self._send(self._g())
        elif p.startswith("P"):
            num, _, val = p[1:].partition("=")
            name = REGISTER_LAYOUT[int(num, 16)][0]
            self.regs[name] = int.from_bytes(bytes.fromhex(val), "little")
            self._send("OK")
        elif p.startswith("m"):
            addr, _, size = p[1:].partition(",")
            a, n = int(addr, 16), int(size, 16)
            if any(a + i not in self.memory for i in range(n)):
                self._send("E14")
            else:
                self._send(bytes(self.memory[a + i] for i in range(n)).hex())
        elif p.startswith("M"):
            head, _, data = p[1:].partition(":")
            addr = int(head.split(",")[0], 16)
            self.poke(addr, bytes.fromhex(data))
            self._send("OK")
        elif p == "s":
            self.regs["rip"] += 1
            self._send("T05thread:01;")
        elif p == "c":
            if self.close_on_cont:
                assert self._writer is not None
                self._writer.close()
                return
            later = sorted(b for b in self.breakpoints if b > self.regs["rip"])
            if later:
                self.regs["rip"] = later[0]
                self._send("T05thread:01;")
            else:
                self.running = True  # until interrupted
        elif p[:2] in ("Z0", "Z1", "z0", "z1"):
            addr = int(p.split(",")[1], 16)
            (self.breakpoints.add if p[0] == "Z" else self.breakpoints.discard)(addr)
            self._send("OK")
        elif p == "qqemu.sstep":
            self._send(f"0x{self.sstep:x}")
        elif p.startswith("Qqemu.sstep="):
            self.sstep = int(p.split("=")[1], 16)
            self._send("OK")
        elif p.startswith("qRcmd,"):
            text = bytes.fromhex(p[6:]).decode()
            self._send("O" + f"you said {text}\n".encode().hex())
            self._send("OK")
        elif p in ("D", "D;1"):
            self._send("OK")
        else:
            self._send("")

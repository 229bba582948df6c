# SPDX-License-Identifier: MIT
"""The wire's loopback-UDP fallback (QEMU before 7.2 has no ``-netdev dgram``), run on the local
QEMU so that it stays tested where dgram exists: ARP, ping, UDP echo and a crafted TCP
exchange through ``-netdev socket,udp=``; ``LABKIT_WIRE`` choosing the transport; a port lost
to another program before QEMU binds it; and the reader thread ending quietly when QEMU goes.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from labkit import Machine
from labkit.errors import BootError
from labkit.machine import MachineState
from labkit.net import NetConfig, Wire
from labkit.net import config as netconfig
from labkit.net import frames as fr
from labkit.net.wire import NetError


def run(fn, *args):
    return asyncio.to_thread(fn, *args)


async def boot_netecho(net: object) -> Machine:
    m = Machine("netecho", net=net, options={"net": "classic"})
    await m.start()
    await m.console.wait_for("netecho:", 30)
    return m


# ---------------------------------------------------------------------------- no QEMU
def test_labkit_wire_chooses_the_transport(monkeypatch):
    monkeypatch.setenv("LABKIT_WIRE", "udp")
    assert netconfig.wire_transport() == "udp"
    monkeypatch.setenv("LABKIT_WIRE", "DGRAM")
    assert netconfig.wire_transport() == "dgram"
    monkeypatch.setenv("LABKIT_WIRE", "tap")
    with pytest.raises(BootError, match="LABKIT_WIRE='tap'"):
        netconfig.wire_transport()
    monkeypatch.delenv("LABKIT_WIRE")
    monkeypatch.setattr(netconfig, "qemu_has_dgram", lambda qemu="": False)
    assert netconfig.wire_transport() == "udp"            # QEMU 6.2 to 7.1
    monkeypatch.setattr(netconfig, "qemu_has_dgram", lambda qemu="": None)
    assert netconfig.wire_transport() == "dgram"          # cannot ask: the default


def test_netdev_help_is_read_for_dgram(tmp_path):
    old = tmp_path / "qemu-6.2"
    old.write_text("#!/bin/sh\nprintf 'Available netdev backend types:\\nsocket\\nhubport\\n"
                   "tap\\nuser\\n'\n")
    new = tmp_path / "qemu-7.2"
    new.write_text("#!/bin/sh\nprintf 'Available netdev backend types:\\nsocket\\nstream\\n"
                   "dgram\\nuser\\n'\n")
    odd = tmp_path / "qemu-odd"
    odd.write_text("#!/bin/sh\necho nothing useful\n")
    for f in (old, new, odd):
        f.chmod(0o755)
    assert netconfig.qemu_has_dgram(str(old)) is False
    assert netconfig.qemu_has_dgram(str(new)) is True
    assert netconfig.qemu_has_dgram(str(odd)) is None
    assert netconfig.qemu_has_dgram(str(tmp_path / "absent")) is None


def test_udp_flags_use_loopback_ports_that_are_held(tmp_path):
    net = NetConfig("wire", transport="udp")
    try:
        [netdev, device] = net.flags(tmp_path)
        qemu_port, wire_port = net.udp_ports
        assert netdev.words[1] == (f"socket,id=n0,udp=127.0.0.1:{wire_port},"
                                   f"localaddr=127.0.0.1:{qemu_port}")
        assert device.words[1].startswith("virtio-net-pci,netdev=n0")
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(OSError):                       # nobody else gets either port
            probe.bind(("127.0.0.1", qemu_port))
        with pytest.raises(OSError):
            probe.bind(("127.0.0.1", wire_port))
        probe.close()
        qemu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # QEMU binds as it does
        qemu.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        qemu.bind(("127.0.0.1", qemu_port))
        qemu.close()
    finally:
        net.release()
    with pytest.raises(BootError):
        NetConfig("user", transport="udp")


def test_the_reader_ends_quietly_when_qemu_is_gone(tmp_path):
    """An ARP request that arrives just before QEMU exits: answering it finds nobody there.
    The reader thread ends without an uncaught exception, and the next send says why."""
    errors: list[BaseException] = []
    hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        qemu_path = tmp_path / "qemu.sock"
        qemu = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        qemu.bind(str(qemu_path))
        wire = Wire(qemu_path, tmp_path / "wire.sock").start()
        qemu.close()                                        # QEMU exits
        request = fr.arp_frame(1, fr.GUEST_MAC, fr.GUEST_IP, "00:00:00:00:00:00", fr.HOST_IP)
        other = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        other.sendto(request, str(tmp_path / "wire.sock"))  # ... with a request in flight
        other.close()
        wire._thread.join(5)
        assert not wire._thread.is_alive() and wire.peer_gone
        with pytest.raises(NetError, match="is gone"):
            wire.send(request)
        with pytest.raises(NetError, match="zero-length"):
            wire.send(b"")
        wire.close()
    finally:
        threading.excepthook = hook
    assert errors == []


# ---------------------------------------------------------------------------- real QEMU
@pytest.mark.boot
async def test_the_wire_conversations_over_udp(monkeypatch):
    """ARP, ping, UDP echo and a TCP exchange through -netdev socket,udp= (LABKIT_WIRE=udp
    makes the ordinary net="wire" take it), then QEMU goes and the wire notices quietly."""
    monkeypatch.setenv("LABKIT_WIRE", "udp")
    m = await boot_netecho("wire")
    try:
        net = m.config.net
        assert net.transport == "udp" and net.udp_ports is not None
        assert any("socket,id=n0,udp=127.0.0.1:" in w for w in m.command())
        with Wire.attach(m) as wire:
            assert wire.transport == "udp"
            assert await run(wire.arp) == fr.GUEST_MAC
            for seq in range(3):
                await run(wire.ping, seq, b"x" * (seq * 600))
            for i in range(10):
                payload = bytes([i]) * (1 + i * 140)
                assert await run(wire.udp, 7, payload) == payload
            data = bytes(range(256)) * 24                 # 6 KiB: several segments each way

            def converse():
                c = wire.tcp(7).connect()
                c.send(data)
                got = c.recv_until(lambda b: len(b) >= len(data), timeout=10)
                c.close()
                return got, c.peer_fin

            got, fin = await run(converse)
            assert got == data and fin
            assert all(len(c.raw) > 0 for c in wire.frames)
            with pytest.raises(NetError, match="attached already"):
                Wire.attach(m)
        with Wire.attach(m) as wire:          # attached again (a cell run twice) once closed
            assert await run(wire.udp, 7, b"again") == b"again"
            await m.kill()
            with pytest.raises(NetError):
                for _ in range(3):      # the first datagram may leave before the refusal
                    await run(wire.send, fr.arp_frame(1, fr.HOST_MAC, fr.HOST_IP,
                                                      "00:00:00:00:00:00", fr.GUEST_IP))
                    await asyncio.sleep(0.2)
            wire._thread.join(5)
            assert not wire._thread.is_alive() and wire.peer_gone
    finally:
        await m.close()
    assert net._wire_sock is None and net._qemu_hold is None     # nothing held afterwards


@pytest.mark.boot
async def test_a_port_taken_before_qemu_binds_it_is_picked_again(monkeypatch):
    """Another program takes QEMU's port between labkit's choice and QEMU's bind: QEMU
    refuses to start ("Address already in use") and labkit starts it again on new ports."""
    thief = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    thief.bind(("127.0.0.1", 0))                  # no SO_REUSEADDR: QEMU's bind must fail
    taken = thief.getsockname()[1]
    real_hold = netconfig._hold_udp_port
    calls = []

    def fake_hold():
        calls.append(1)
        return _PortOnly(taken) if len(calls) == 1 else real_hold()

    monkeypatch.setattr(netconfig, "_hold_udp_port", fake_hold)
    try:
        m = await boot_netecho(NetConfig("wire", transport="udp"))
        try:
            assert len(calls) == 2 and m.config.net.udp_ports[0] != taken
            assert m.state == MachineState.RUNNING
            with Wire.attach(m) as wire:
                assert await run(wire.udp, 7, b"second try") == b"second try"
        finally:
            await m.close()
    finally:
        thief.close()


class _PortOnly:
    """Stands for a held socket whose port another program took first."""

    def __init__(self, port: int) -> None:
        self.port = port

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        pass

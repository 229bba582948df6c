# SPDX-License-Identifier: MIT
"""The GDB remote protocol client and the Debugger against a fake stub."""

from __future__ import annotations

import asyncio

import pytest

from labkit.debugger import Debugger, gdb_command_line, predict_app_base
from labkit.errors import DebuggerError, MachineStateError, WaitTimeout
from labkit.gdbremote import (
    REGISTERS_SIZE,
    decode_payload,
    frame,
    parse_registers,
    parse_stop_reply,
)

from .fake_stub import FakeStub


def test_framing_and_escapes():
    assert frame("g") == b"$g#67"
    assert frame("a$b") == b"$a}\x04b#" + b"%02x" % ((ord("a") + 0x7D + 0x04 + ord("b")) & 0xFF)
    assert decode_payload(b"0* ") == b"0" * 4  # ' ' is 32: 3 more repeats
    assert decode_payload(b"}\x03") == b"#"


def test_register_layout():
    assert REGISTERS_SIZE == 608
    raw = bytearray(608)
    raw[16 * 8:17 * 8] = (0x10000001040).to_bytes(8, "little")  # rip
    raw[136 + 4:136 + 8] = (0x8).to_bytes(4, "little")  # cs after eflags
    raw[164 + 8 * 8:164 + 9 * 8] = (0xD00).to_bytes(8, "little")  # efer
    regs = parse_registers(raw.hex())
    assert regs.rip == regs.pc == 0x10000001040
    assert regs.cs == 8 and regs.cpl == 0 and regs.long_mode
    regs3 = parse_registers(raw[:136].hex() + "00000000" + "33000000" + raw[144:].hex())
    assert regs3.cpl == 3
    with pytest.raises(DebuggerError, match="608"):
        parse_registers("00" * 100)
    assert "CPL=0" in regs.describe()


def test_stop_replies():
    stop = parse_stop_reply("T05thread:p01.01;")
    assert (stop.kind, stop.signal, stop.thread) == ("signal", 5, "p01.01")
    assert parse_stop_reply("S02").signal == 2
    assert parse_stop_reply("W00").kind == "exited"
    with pytest.raises(DebuggerError):
        parse_stop_reply("Q")


@pytest.fixture
async def stub(tmp_path):
    s = await FakeStub(str(tmp_path / "gdb.sock")).start()
    yield s
    await s.stop()


async def test_attach_registers_memory(stub, host_so):
    stub.poke(0x2000, bytes(range(256)) * 8)
    dbg = await Debugger.connect(stub.path, host_so)
    assert dbg.remote.features["PacketSize"] == "1000"
    assert "QStartNoAckMode" in stub.received and not dbg.remote._ack
    regs = await dbg.registers()
    assert regs.rip == 0x1000 and regs.cpl == 0
    data = await dbg.read_memory(0x2000, 2048)  # more than one packet
    assert data == bytes(range(256)) * 8
    assert sum(1 for p in stub.received if p.startswith("m")) == 2
    with pytest.raises(DebuggerError, match="not mapped"):
        await dbg.read_memory(0x9000, 4)
    await dbg.write_memory(0x2000, b"\xcc\xcc")
    assert await dbg.read_memory(0x2000, 3) == b"\xcc\xcc\x02"
    await dbg.set_register("rax", 0x1234)
    assert (await dbg.registers()).rax == 0x1234
    assert (await dbg.sstep_flags()).irqs_masked
    await dbg.set_sstep_flags(irqs_masked=False)
    assert stub.sstep == 0x5 and not (await dbg.sstep_flags()).irqs_masked
    assert await dbg.monitor("info cpus") == "you said info cpus\n"
    await dbg.detach()


async def test_breakpoints_continue_interrupt(stub, host_so):
    dbg = await Debugger.connect(stub.path, host_so)
    bp = await dbg.break_at(0x1010)
    assert bp.hardware and "Z1,1010,1" in stub.received
    stop = await dbg.stepi(3)
    assert stop.reason == "step" and stop.pc == 0x1003
    stop = await dbg.cont(5)
    assert stop.reason == "breakpoint" and stop.breakpoint == bp
    await dbg.delete(bp)
    assert "z1,1010,1" in stub.received
    await dbg.break_at(0x1020, hardware=False)
    assert "Z0,1020,1" in stub.received
    await dbg.delete(0x1020)
    await dbg.remote.send("c")  # run with no breakpoint: only an interrupt stops it
    dbg.running = True
    with pytest.raises(MachineStateError, match="running"):
        await dbg.registers()
    stop = await dbg.interrupt()
    assert stop.reason == "interrupt" and stop.signal == 2
    with pytest.raises(WaitTimeout, match="interrupt"):
        await dbg.cont(0.1)
    await dbg.interrupt()
    await dbg.detach()


async def test_symbolic_breakpoint_and_ack_mode_with_rle(tmp_path, host_so):
    stub = await FakeStub(str(tmp_path / "g.sock"), rle=True).start()
    try:
        dbg = await Debugger.connect(stub.path, host_so, app=host_so, app_base=0x5000)
        addr = dbg.resolve("app:twice")
        assert addr == 0x5000 + dbg.symbols.app.symbol("twice").value
        await dbg.break_at("twice")
        stub.regs["rip"] = 0x5000
        stop = await dbg.cont(5)
        assert stop.function == "twice" and stop.location.image == "lib"
        with pytest.raises(DebuggerError, match="no symbol"):
            dbg.resolve("no_such_function")
    finally:
        await stub.stop()


async def test_stub_closing_means_exited(stub, host_so):
    dbg = await Debugger.connect(stub.path, host_so)
    stub.close_on_cont = True
    stop = await dbg.cont(5)
    assert stop.reason == "exited" and dbg.exited
    with pytest.raises(MachineStateError, match="exited"):
        await dbg.registers()


async def test_connect_failure_says_why(tmp_path, host_so):
    with pytest.raises(DebuggerError, match="cannot connect"):
        await Debugger.connect(tmp_path / "none.sock", host_so, timeout=0.1)


def test_gdb_command_line(tmp_path):
    cmd = gdb_command_line(tmp_path / "k.elf", tmp_path / "gdb.sock", tmp_path / "a.so",
                           0x10000000000)
    text = " ".join(cmd)
    assert "set architecture i386:x86-64" in text
    assert text.index("set architecture") < text.index("target remote")
    assert f"add-symbol-file {tmp_path / 'a.so'} -o 0x10000000000" in text
    assert "set backtrace past-main on" in text


def test_predict_app_base_from_memlayout():
    base = predict_app_base(None)
    assert base is None or base == 0x10000000000


async def test_interrupt_requires_running(stub, host_so):
    dbg = await Debugger.connect(stub.path, host_so)
    with pytest.raises(MachineStateError, match="not running"):
        await dbg.interrupt()
    await asyncio.wait_for(dbg.detach(), 5)


def test_symbolizer_lines_and_plt(host_so):
    from labkit.elf import load_elf
    from labkit.symbols import Symbolizer

    app = load_elf(host_so)
    sym = Symbolizer(app, app, app_base=0x10000000000, app_name="lib")
    main = sym.address("app:main")
    loc = sym.lookup(main)
    assert (loc.symbol, loc.offset, loc.image) == ("main", 0, "lib")
    assert loc.file.endswith("lib.c") and loc.line == 6
    assert sym.address("lib.c:6") == main                # FILE:LINE
    assert sym.address("kernel:main") == app.address_of("main")
    plt = set(sym._plt.values())
    assert {"puts@plt", "write@plt"} <= plt  # (twice@plt too: main calls it interposably)
    plt_addr = next(a for a, n in sym._plt.items() if n == "puts@plt") + 0x10000000000
    assert sym.lookup(plt_addr).symbol == "puts@plt"
    assert "lib.c:6" in str(loc)
    with pytest.raises(DebuggerError, match="FILE:LINE"):
        sym.address("weird:thing")
    unknown_base = Symbolizer(app, app, app_base=None)
    with pytest.raises(DebuggerError, match="load base"):
        unknown_base.address("app:main")

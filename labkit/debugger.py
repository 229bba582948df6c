# SPDX-License-Identifier: MIT
"""A debugger for the running kernel and its app, over QEMU's GDB stub (no gdb needed).

Start the machine paused with the stub, attach, and drive it::

    m = await Machine("hello", paused=True, gdb=True).start()
    dbg = await m.debugger()
    await dbg.break_at("main")            # hardware breakpoint: works before the app loads
    stop = await dbg.cont(timeout=10)      # stop.location -> main at hello.c:8
    (await dbg.registers()).cpl            # 0: the app runs in ring 0
    await dbg.step()                       # one source line; into printf, a kernel function

Breakpoints are hardware breakpoints (``Z1``) by default: they do not write ``int3`` into
memory, so they can be set on app code before the kernel has loaded it there. The app's
symbols are placed at its load base: the ``app_loaded`` milestone on COM2 when it has
arrived, else ``APP_AREA_START`` from ``memlayout.h`` (where the kernel loads every app).

While single-stepping, QEMU masks interrupts and timers (``qqemu.sstep``, see
:meth:`Debugger.sstep_flags`), so a step never lands in an interrupt handler.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cpio, memlayout, paths
from .elf import ElfImage, load_elf
from .errors import DebuggerError, MachineStateError, WaitTimeout
from .events import Milestone
from .gdbremote import (
    REGISTER_NUMBER,
    Registers,
    RemoteProtocol,
    StopReply,
    pack_u64,
    parse_registers,
    parse_stop_reply,
)
from .symbols import Location, Symbolizer

if TYPE_CHECKING:
    from .machine import Machine

__all__ = [
    "Debugger",
    "Stop",
    "Breakpoint",
    "Instruction",
    "Frame",
    "SstepFlags",
    "predict_app_base",
    "gdb_command_line",
]

SIGTRAP = 5
SIGINT = 2


@dataclass(frozen=True)
class Breakpoint:
    """A breakpoint at ``address`` (``hardware``: Z1, else a software int3 through Z0)."""

    address: int
    hardware: bool
    location: Location
    temporary: bool = False


@dataclass(frozen=True)
class Stop:
    """Why and where the CPU stopped. ``reason``: breakpoint, watchpoint, step, interrupt,
    signal, exited. A watchpoint stop names the ``data_address`` that was accessed."""

    reason: str
    location: Location | None = None
    signal: int = 0
    breakpoint: Breakpoint | None = None
    data_address: int | None = None

    @property
    def pc(self) -> int | None:
        return self.location.address if self.location else None

    @property
    def function(self) -> str | None:
        return self.location.symbol if self.location else None

    def __str__(self) -> str:
        return f"{self.reason} at {self.location}" if self.location else self.reason


@dataclass(frozen=True)
class Instruction:
    """One disassembled instruction with symbol annotations."""

    address: int
    size: int
    raw: bytes
    mnemonic: str
    op_str: str
    location: Location
    target: Location | None = None

    @property
    def is_call(self) -> bool:
        return self.mnemonic == "call"

    def __str__(self) -> str:
        sym = self.location.symbol
        where = f"<{sym}+{self.location.offset}>" if sym else ""
        text = f"{self.address:#x} {where:<24} {self.raw.hex():<20} {self.mnemonic} {self.op_str}"
        if self.target is not None and self.target.symbol:
            off = f"+{self.target.offset:#x}" if self.target.offset else ""
            text += f"    ; {self.target.symbol}{off}"
            if self.target.image and self.target.image != self.location.image:
                text += f" [{self.target.image}]"
        return text.rstrip()


@dataclass(frozen=True)
class Frame:
    """One frame of a backtrace (frame-pointer walk)."""

    index: int
    address: int
    location: Location

    def __str__(self) -> str:
        return f"#{self.index:<2} {self.location}"


@dataclass(frozen=True)
class SstepFlags:
    """QEMU's single-step behaviour (``qqemu.sstep``): bit 0 enable, bit 1 no IRQs, bit 2 no
    timers. QEMU's default, 0x7, masks interrupts and timers while stepping."""

    value: int

    @property
    def irqs_masked(self) -> bool:
        return bool(self.value & 0x2)

    @property
    def timers_masked(self) -> bool:
        return bool(self.value & 0x4)


def predict_app_base(machine: Machine | None = None) -> int | None:
    """Where the app is (or will be) loaded: the ``app_loaded`` milestone if it arrived, the
    ``layout`` event's app area, else ``APP_AREA_START`` from ``memlayout.h``."""
    if machine is not None:
        if machine.events.app_base is not None:
            return machine.events.app_base
        layouts = [e for e in machine.events.events if type(e).__name__ == "Layout"]
        if layouts:
            return layouts[-1].app_area  # type: ignore[attr-defined]
    return memlayout.app_area_start()


def gdb_command_line(kernel: str | os.PathLike[str], socket_path: str | os.PathLike[str],
                     app_object: str | os.PathLike[str] | None = None,
                     app_base: int | None = None, gdb: str = "gdb") -> list[str]:
    """The gdb argv that attaches to a stub on a unix socket with kernel (and app) symbols.

    ``set architecture i386:x86-64`` comes before ``target remote`` (QEMU-NOTES: otherwise gdb
    may reject the long-mode 'g' reply); the app's symbols are added at its load base.
    """
    cmd = [shutil.which(gdb) or gdb, "-q", "-nx",
           "-ex", "set confirm off", "-ex", "set pagination off",
           "-ex", "set backtrace past-main on",
           "-ex", "set architecture i386:x86-64",
           "-ex", f"file {Path(kernel).resolve()}"]
    if app_object is not None and app_base is not None:
        cmd += ["-ex", f"add-symbol-file {Path(app_object).resolve()} -o {app_base:#x}"]
    cmd += ["-ex", f"target remote {socket_path}"]
    return cmd


class Debugger:
    """labkit's debugger on one machine's GDB stub. Create it with ``await machine.debugger()``
    (or :meth:`connect` for a stub labkit did not start)."""

    def __init__(self, remote: RemoteProtocol, symbols: Symbolizer,
                 machine: Machine | None = None) -> None:
        self.remote = remote
        self.symbols = symbols
        self.machine = machine
        self.breakpoints: dict[int, Breakpoint] = {}
        self.running = False
        self.exited = False
        self.last_stop: Stop | None = None
        self._unsubscribe: Any = None
        self._cs: Any = None

    # ------------------------------------------------------------------ attaching
    @classmethod
    async def attach(cls, machine: Machine, timeout: float = 10.0) -> Debugger:
        """Attach to ``machine`` (started with ``gdb=True``); QEMU stops the CPU on attach."""
        assert machine.rundir is not None
        kernel_path = Path(machine.config.kernel) if machine.config.kernel else \
            paths.kernel_image()
        kernel = load_elf(kernel_path)
        app = _app_image(machine)
        symbols = Symbolizer(kernel, app, predict_app_base(machine), machine.config.app)
        remote = RemoteProtocol()
        await remote.connect(str(machine.rundir.gdb), timeout)
        dbg = cls(remote, symbols, machine)
        await dbg._query_stop(timeout)
        dbg._unsubscribe = machine.events.subscribe(dbg._on_event)
        return dbg

    @classmethod
    async def connect(cls, socket_path: str | os.PathLike[str],
                      kernel: str | os.PathLike[str] | ElfImage,
                      app: str | os.PathLike[str] | ElfImage | None = None,
                      app_base: int | None = None, timeout: float = 10.0) -> Debugger:
        """Attach to any GDB stub on a unix socket, with the given symbol files."""
        k = kernel if isinstance(kernel, ElfImage) else load_elf(kernel)
        a = app if isinstance(app, ElfImage) or app is None else load_elf(app)
        remote = RemoteProtocol()
        await remote.connect(str(socket_path), timeout)
        dbg = cls(remote, Symbolizer(k, a, app_base))
        await dbg._query_stop(timeout)
        return dbg

    async def _query_stop(self, timeout: float) -> None:
        reply = parse_stop_reply(await self.remote.command("?", timeout))
        self.running = False
        self.last_stop = await self._make_stop(reply, "attach")

    def _on_event(self, event: object) -> None:
        if isinstance(event, Milestone) and event.name == "app_loaded" and event.base is not None:
            self.symbols.app_base = event.base

    async def detach(self) -> None:
        """Leave the stub (QEMU removes the breakpoints and lets the CPU run)."""
        if self._unsubscribe is not None:
            with contextlib.suppress(ValueError):
                self._unsubscribe()
            self._unsubscribe = None
        if not self.remote.closed and not self.running:
            with contextlib.suppress(DebuggerError, WaitTimeout):
                # With multiprocess extensions QEMU wants the pid (the CPU is process 1).
                multi = "multiprocess" in self.remote.features
                reply = await self.remote.command("D;1" if multi else "D", 5)
                if reply != "OK":
                    await self.remote.send("c")  # at least leave the CPU running
        await self.remote.close()

    async def __aenter__(self) -> Debugger:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.detach()

    # ------------------------------------------------------------------ guards
    def _require_stopped(self, doing: str) -> None:
        if self.exited or self.remote.closed:
            raise MachineStateError(f"cannot {doing}: the machine has exited")
        if self.machine is not None and not self.machine.state.alive:
            raise MachineStateError(f"cannot {doing}: the machine is {self.machine.state.value}")
        if self.running:
            raise MachineStateError(f"cannot {doing}: the CPU is running; "
                                    "`await dbg.interrupt()` stops it")

    async def _checked(self, payload: str, doing: str, timeout: float = 10.0) -> str:
        reply = await self.remote.command(payload, timeout)
        if reply.startswith("E") and len(reply) == 3:
            raise DebuggerError(f"{doing}: the stub answered {reply}")
        if reply == "":
            raise DebuggerError(f"{doing}: the stub does not support {payload.split(',')[0]!r}")
        return reply

    # ------------------------------------------------------------------ state
    async def registers(self) -> Registers:
        """All registers (``.cpl``, ``.rip``, ``.cr3``, ``.describe()`` ...)."""
        self._require_stopped("read registers")
        return parse_registers(await self._checked("g", "reading registers"))

    async def set_register(self, name: str, value: int) -> None:
        """Write one 64-bit register (``rax`` .. ``r15``, ``rip``)."""
        self._require_stopped("write a register")
        number = REGISTER_NUMBER.get(name)
        if number is None or number > 16:
            raise DebuggerError(f"cannot write register {name!r}: only rax..r15 and rip")
        reply = await self._checked(f"P{number:x}={pack_u64(value)}", f"writing {name}")
        if reply != "OK":
            raise DebuggerError(f"writing {name}: unexpected reply {reply!r}")

    async def read_memory(self, address: int, size: int) -> bytes:
        """``size`` bytes of guest virtual memory at ``address`` (through the current CR3)."""
        self._require_stopped("read memory")
        out = bytearray()
        while len(out) < size:
            chunk = min(1024, size - len(out))
            addr = address + len(out)
            reply = await self.remote.command(f"m{addr:x},{chunk:x}")
            if reply.startswith("E") or not reply:
                raise DebuggerError(f"cannot read {chunk} bytes at {addr:#x} ({reply or 'empty'}"
                                    "): the address is not mapped")
            out += bytes.fromhex(reply)
        return bytes(out)

    async def read_u64(self, address: int) -> int:
        return int.from_bytes(await self.read_memory(address, 8), "little")

    async def write_memory(self, address: int, data: bytes) -> None:
        """Write ``data`` into guest memory at ``address``."""
        self._require_stopped("write memory")
        for pos in range(0, len(data), 1024):
            chunk = data[pos:pos + 1024]
            reply = await self.remote.command(f"M{address + pos:x},{len(chunk):x}:{chunk.hex()}")
            if reply != "OK":
                raise DebuggerError(f"cannot write {len(chunk)} bytes at {address + pos:#x} "
                                    f"({reply}): not mapped or read-only")

    async def where(self) -> Location:
        """Where the CPU is stopped."""
        return self.symbols.lookup((await self.registers()).pc)

    async def monitor(self, command: str) -> str:
        """Run a QEMU monitor command through the stub (``qRcmd``); returns its output."""
        self._require_stopped("run a monitor command")
        self.remote.console_output.clear()
        reply = await self.remote.command("qRcmd," + command.encode().hex())
        if reply.startswith("E"):
            raise DebuggerError(f"monitor command {command!r} failed ({reply})")
        return "".join(self.remote.console_output)

    async def sstep_flags(self) -> SstepFlags:
        """QEMU's single-step flags (``qqemu.sstep``)."""
        reply = await self._checked("qqemu.sstep", "reading qqemu.sstep")
        return SstepFlags(int(reply, 16))

    async def set_sstep_flags(self, irqs_masked: bool = True, timers_masked: bool = True) -> None:
        """Choose whether interrupts and timers stay masked while single-stepping."""
        value = 0x1 | (0x2 if irqs_masked else 0) | (0x4 if timers_masked else 0)
        reply = await self._checked(f"Qqemu.sstep={value:#x}", "setting qqemu.sstep")
        if reply != "OK":
            raise DebuggerError(f"setting qqemu.sstep: unexpected reply {reply!r}")

    # ------------------------------------------------------------------ breakpoints
    def resolve(self, where: int | str) -> int:
        """An address from an int, a symbol (``main``, ``kernel:write``) or ``FILE:LINE``."""
        return where if isinstance(where, int) else self.symbols.address(where)

    async def break_at(self, where: int | str, hardware: bool = True,
                       temporary: bool = False) -> Breakpoint:
        """Set a breakpoint; hardware (Z1) by default so it also works on code not loaded
        yet."""
        self._require_stopped("set a breakpoint")
        address = self.resolve(where)
        if address in self.breakpoints:
            return self.breakpoints[address]
        kind = 1 if hardware else 0
        reply = await self._checked(f"Z{kind},{address:x},1", f"breakpoint at {address:#x}")
        if reply != "OK":
            raise DebuggerError(f"breakpoint at {address:#x}: unexpected reply {reply!r}")
        bp = Breakpoint(address, hardware, self.symbols.lookup(address, with_line=True),
                        temporary)
        self.breakpoints[address] = bp
        return bp

    async def delete(self, bp: Breakpoint | int | str) -> None:
        """Remove a breakpoint."""
        self._require_stopped("delete a breakpoint")
        address = bp.address if isinstance(bp, Breakpoint) else self.resolve(bp)
        found = self.breakpoints.pop(address, None)
        if found is None:
            raise DebuggerError(f"no breakpoint at {address:#x}")
        await self._checked(f"z{1 if found.hardware else 0},{address:x},1",
                            f"removing the breakpoint at {address:#x}")

    async def watch(self, address: int, size: int = 8, access: str = "w") -> None:
        """A watchpoint: stop when ``address`` is written ('w'), read ('r') or either ('a')."""
        self._require_stopped("set a watchpoint")
        kind = {"w": 2, "r": 3, "a": 4}[access]
        await self._checked(f"Z{kind},{address:x},{size:x}", f"watchpoint at {address:#x}")

    async def unwatch(self, address: int, size: int = 8, access: str = "w") -> None:
        """Remove a watchpoint set with :meth:`watch` (same address, size and access)."""
        self._require_stopped("remove a watchpoint")
        kind = {"w": 2, "r": 3, "a": 4}[access]
        await self._checked(f"z{kind},{address:x},{size:x}",
                            f"removing the watchpoint at {address:#x}")

    # ------------------------------------------------------------------ running
    async def _make_stop(self, reply: StopReply, default: str) -> Stop:
        if reply.kind != "signal":
            self.exited = True
            return Stop("exited", None, reply.signal)
        regs = parse_registers(await self._checked("g", "reading registers"))
        location = self.symbols.lookup(regs.pc)
        bp = self.breakpoints.get(regs.pc)
        reason = default
        watched = next((reply.info[k] for k in ("watch", "rwatch", "awatch") if k in reply.info),
                       None)
        if watched is not None:
            reason = "watchpoint"
        elif bp is not None and default in ("cont", "step"):
            reason = "breakpoint"
        elif default == "cont":
            reason = "interrupt" if reply.signal == SIGINT else "signal"
        stop = Stop(reason, location, reply.signal, bp,
                    int(watched, 16) if watched is not None else None)
        self.last_stop = stop
        return stop

    async def _wait_stop(self, timeout: float | None, default: str) -> Stop:
        try:
            packet = await self.remote.wait_packet(timeout)
        except DebuggerError:
            self.running = False
            self.exited = True
            self.last_stop = Stop("exited")
            return self.last_stop
        self.running = False
        return await self._make_stop(parse_stop_reply(packet), default)

    async def stepi(self, count: int = 1) -> Stop:
        """Execute ``count`` instructions, one at a time."""
        stop: Stop | None = None
        for _ in range(count):
            self._require_stopped("step")
            try:
                reply = await self.remote.command("s", 10.0)
            except DebuggerError:
                self.exited = True
                return Stop("exited")
            stop = await self._make_stop(parse_stop_reply(reply), "step")
            if stop.reason != "step":
                break
        assert stop is not None
        return stop

    async def cont(self, timeout: float | None = 30.0) -> Stop:
        """Let the CPU run until a breakpoint, an interrupt or the end of the machine.

        Starting on a breakpoint, the CPU first executes that instruction with the breakpoint
        lifted, as gdb does: QEMU would otherwise report the same breakpoint again at once.
        Raises :class:`WaitTimeout` after ``timeout`` seconds with the CPU still running
        (call :meth:`interrupt` to stop it).
        """
        self.resume_nowait_check()
        stepped = await self._step_off_breakpoint()
        if stepped is not None and stepped.reason != "step":
            return stepped                      # the one instruction ended the run already
        await self.remote.send("c")
        self.running = True
        try:
            return await self._wait_stop(timeout, "cont")
        except WaitTimeout:
            raise WaitTimeout(f"the CPU is still running after {timeout:g} s; "
                              "`await dbg.interrupt()` stops it") from None

    async def _step_off_breakpoint(self) -> Stop | None:
        """If the CPU sits on a breakpoint, run that one instruction with it lifted."""
        pc = (await self.registers()).pc
        bp = self.breakpoints.get(pc)
        if bp is None:
            return None
        await self.delete(bp)
        try:
            return await self.stepi()
        finally:
            if not self.exited:
                await self.break_at(bp.address, hardware=bp.hardware, temporary=bp.temporary)

    def resume_nowait_check(self) -> None:
        self._require_stopped("continue")

    async def interrupt(self, timeout: float = 5.0) -> Stop:
        """Stop a running CPU (the byte 0x03) and report where."""
        if not self.running:
            raise MachineStateError("cannot interrupt: the CPU is not running")
        self.remote.interrupt()
        return await self._wait_stop(timeout, "cont")

    # ------------------------------------------------------------------ source-level stepping
    async def step(self, max_instructions: int = 50000) -> Stop:
        """Step one source line, into calls (a call into the kernel stops in the kernel
        function's first line). Code without line information (PLT stubs, assembly) is
        stepped through."""
        start = await self.where()
        if start.line is None:
            return await self.stepi()
        key = (start.file, start.line)
        for _ in range(max_instructions):
            stop = await self.stepi()
            if stop.reason != "step" or stop.location is None:
                return stop
            if stop.breakpoint is not None:
                return Stop("breakpoint", stop.location, stop.signal, stop.breakpoint)
            if await self._new_line(stop.location, key):
                return stop
        raise DebuggerError(f"step did not reach another line within {max_instructions} "
                            "instructions: set a breakpoint and cont instead")

    async def _new_line(self, loc: Location, key: tuple[str | None, int | None]) -> bool:
        if loc.line is None:
            return False
        return (loc.file, loc.line) != key and self.symbols.is_line_start(loc.address)

    async def next(self, max_instructions: int = 50000, timeout: float = 30.0) -> Stop:
        """Step one source line, over calls (a call runs to its return at full speed)."""
        start = await self.where()
        if start.line is None:
            return await self.stepi()
        key = (start.file, start.line)
        for _ in range(max_instructions):
            regs = await self.registers()
            insn = await self.instruction_at(regs.pc)
            if insn.is_call:
                stop = await self._run_to(regs.pc + insn.size, regs.rsp, timeout)
                if stop.reason != "step":
                    return stop
            else:
                stop = await self.stepi()
                if stop.reason != "step" or stop.location is None:
                    return stop
                if stop.breakpoint is not None:
                    return Stop("breakpoint", stop.location, stop.signal, stop.breakpoint)
            assert stop.location is not None
            if await self._new_line(stop.location, key):
                return stop
        raise DebuggerError(f"next did not reach another line within {max_instructions} "
                            "instructions")

    async def _run_to(self, address: int, rsp: int, timeout: float) -> Stop:
        """Run to ``address`` in the frame whose stack pointer is ``rsp`` (or shallower)."""
        temporary = address not in self.breakpoints
        if temporary:
            await self.break_at(address, hardware=True, temporary=True)
        try:
            while True:
                stop = await self.cont(timeout)
                if stop.reason == "breakpoint" and stop.pc == address:
                    if (await self.registers()).rsp < rsp:
                        continue  # a deeper (recursive) activation reached it first
                    return Stop("step", stop.location, stop.signal)
                return stop
        finally:
            if temporary and address in self.breakpoints and not self.exited:
                await self.delete(address)

    async def finish(self, timeout: float = 30.0) -> Stop:
        """Run until the current function returns to its caller."""
        frames = await self.backtrace(2)
        if len(frames) < 2:
            raise DebuggerError("finish: no caller frame found")
        regs = await self.registers()
        return await self._run_to(frames[1].address, regs.rsp + 8, timeout)

    # ------------------------------------------------------------------ code and stack
    def _capstone(self) -> Any:
        if self._cs is None:
            import capstone

            self._cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        return self._cs

    async def _read_code(self, address: int, size: int) -> bytes:
        try:
            return await self.read_memory(address, size)
        except DebuggerError:
            for shorter in (64, 16):  # near the end of a mapping
                with contextlib.suppress(DebuggerError):
                    return await self.read_memory(address, shorter)
            raise

    def decode(self, code: bytes, address: int, count: int) -> list[Instruction]:
        """Disassemble ``code`` located at ``address`` with symbol annotations."""
        out = []
        for insn in self._capstone().disasm(code, address):
            target = None
            if insn.mnemonic.startswith(("call", "j")) and insn.op_str.startswith("0x"):
                with contextlib.suppress(ValueError):
                    target = self.symbols.lookup(int(insn.op_str, 16), with_line=False)
            out.append(Instruction(insn.address, insn.size, bytes(insn.bytes), insn.mnemonic,
                                   insn.op_str,
                                   self.symbols.lookup(insn.address, with_line=False), target))
            if len(out) == count:
                break
        return out

    async def instruction_at(self, address: int) -> Instruction:
        insns = self.decode(await self._read_code(address, 16), address, 1)
        if not insns:
            raise DebuggerError(f"cannot decode an instruction at {address:#x}")
        return insns[0]

    async def disassemble(self, where: int | str | None = None, count: int = 10
                          ) -> list[Instruction]:
        """``count`` instructions from ``where`` (default: the current pc), from live memory."""
        address = (await self.registers()).pc if where is None else self.resolve(where)
        return self.decode(await self._read_code(address, 15 * count), address, count)

    async def backtrace(self, limit: int = 32) -> list[Frame]:
        """The call stack by walking frame pointers (kernel and apps keep them)."""
        regs = await self.registers()
        frames = [Frame(0, regs.pc, self.symbols.lookup(regs.pc))]
        loc = frames[0].location
        rbp = regs.rbp
        # At the entry of a function the frame is not set up yet: the caller is at [rsp].
        first_insn = loc.symbol is not None and loc.offset == 0
        after_push = loc.symbol is not None and loc.offset == 1
        if first_insn or after_push:
            with contextlib.suppress(DebuggerError):
                ret = await self.read_u64(regs.rsp + (8 if after_push else 0))
                frames.append(Frame(1, ret, self._caller_location(ret)))
        seen = set()
        while len(frames) < limit and rbp and rbp not in seen:
            seen.add(rbp)
            try:
                ret = await self.read_u64(rbp + 8)
                rbp = await self.read_u64(rbp)
            except DebuggerError:
                break
            if not ret:
                break
            frames.append(Frame(len(frames), ret, self._caller_location(ret)))
        return frames

    def _caller_location(self, ret: int) -> Location:
        """A return address, shown with the line of the call (ret - 1)."""
        loc = self.symbols.lookup(ret)
        call = self.symbols.lookup(ret - 1)
        return Location(ret, loc.image, loc.symbol, loc.offset, call.file, call.line)


def _app_image(machine: Machine) -> ElfImage | None:
    """The app's ELF, taken from the boot archive that was booted (the bytes that run)."""
    app = machine.config.app
    if not app:
        return None
    initrd = machine.config.initrd or (paths.images_dir() / f"{app}.cpio")
    name = app if app.endswith(".so") else f"{app}.so"
    try:
        members = {m.name: m.data for m in cpio.read_archive(initrd)}
    except (OSError, Exception):  # noqa: BLE001 - fall back to images/apps
        members = {}
    so = paths.app_object(app)
    if name in members and so.is_file() and so.read_bytes() == members[name]:
        return load_elf(so)  # the same bytes, at a path that outlives the machine
    if name in members and machine.rundir is not None:
        path = machine.rundir.path / name
        path.write_bytes(members[name])
        with contextlib.suppress(Exception):
            return load_elf(path)
    if so.is_file():
        with contextlib.suppress(Exception):
            return load_elf(so)
    return None

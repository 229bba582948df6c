# SPDX-License-Identifier: MIT
"""Debugger recipes the lessons share, over :class:`labkit.Debugger`.

The lessons' experiments: follow the dynamic linker until it looks up one name, and trace a
call instruction by instruction with the privilege level at each step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["read_cstring", "lookups_until", "source_line", "source_context",
           "disassembly_window", "TraceStep", "trace_instructions"]


async def read_cstring(dbg: Any, address: int, limit: int = 64) -> str:
    """The NUL-terminated string at ``address`` in guest memory."""
    return (await dbg.read_memory(address, limit)).split(b"\0", 1)[0].decode(errors="replace")


async def lookups_until(dbg: Any, name: str, function: str = "kexport_lookup",
                        limit: int = 500, timeout: float = 20.0) -> list[str]:
    """Stop at every call of ``function`` (whose first argument is a symbol name) until it is
    asked for ``name``; returns the names looked up, in order, ending with ``name``."""
    await dbg.break_at(function)
    seen: list[str] = []
    for _ in range(limit):
        stop = await dbg.cont(timeout)
        if stop.reason == "exited":
            raise RuntimeError(f"the machine ended before {function}({name!r}): "
                               f"looked up {seen}")
        regs = await dbg.registers()
        if stop.function != function:
            continue
        seen.append(await read_cstring(dbg, regs.rdi))
        if seen[-1] == name:
            return seen
    raise RuntimeError(f"{function} was not asked for {name!r} in {limit} calls")


@dataclass(frozen=True)
class TraceStep:
    """One executed instruction: where, what, and at which privilege level."""

    address: int
    where: str
    image: str | None
    text: str
    cpl: int


async def trace_instructions(dbg: Any, count: int, stop_at: int | None = None
                             ) -> list[TraceStep]:
    """Single-step ``count`` instructions (or until ``stop_at``), recording each one."""
    out: list[TraceStep] = []
    for _ in range(count):
        regs = await dbg.registers()
        insn = await dbg.instruction_at(regs.pc)
        loc = insn.location
        where = f"{loc.symbol}+{loc.offset:#x}" if loc.symbol else f"{regs.pc:#x}"
        out.append(TraceStep(regs.pc, where, loc.image, f"{insn.mnemonic} {insn.op_str}".strip(),
                             regs.cpl))
        if stop_at is not None and regs.pc == stop_at:
            break
        stop = await dbg.stepi()
        if stop.reason != "step":
            break
    return out


def source_line(file: str | None, line: int | None, strip: bool = True) -> str:
    """The text of ``file:line`` from the kernel or app sources ('' when not found)."""
    import os

    from .. import paths

    if not file or not line:
        return ""
    candidates = [file, os.path.join(paths.kernel_dir(), file)]
    for root in ("core", "arch/x86_64", "libc", "drivers", "apps", "net"):
        candidates.append(os.path.join(paths.kernel_dir(), root, os.path.basename(file)))
    for path in candidates:
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
            if not 0 < line <= len(lines):
                return ""
            return lines[line - 1].strip() if strip else lines[line - 1].rstrip()
    return ""


def source_context(file: str | None, line: int | None, before: int = 4,
                   after: int = 0) -> str:
    """Numbered source lines around ``file:line`` (the line itself marked ``>``)."""
    if not file or not line:
        return ""
    out = []
    for n in range(max(1, line - before), line + after + 1):
        text = source_line(file, n, strip=False)
        out.append(f"{'>' if n == line else ' '} {n:4} | {text}")
    return "\n".join(out)


async def disassembly_window(dbg: Any, before: int = 3, after: int = 6,
                             max_back: int = 4096) -> tuple[list[Any], int]:
    """Instructions around the current pc: up to ``before`` before it and ``after`` from it.

    x86 code cannot be decoded backwards, so decoding starts at the enclosing function's first
    byte (from the symbol table) when it is within ``max_back`` bytes. Returns the instructions
    and the index of the one at pc."""
    regs = await dbg.registers()
    pc = regs.pc
    loc = dbg.symbols.lookup(pc, with_line=False)
    start = pc - loc.offset if loc.symbol and 0 < loc.offset <= max_back else pc
    if start < pc:
        try:
            code = await dbg.read_memory(start, pc - start + 15 * after)
            insns = dbg.decode(code, start, 100000)
            at = next((i for i, x in enumerate(insns) if x.address == pc), None)
            if at is not None:
                lo = max(0, at - before)
                return insns[lo:at + after], at - lo
        except Exception:  # noqa: BLE001 - fall back to decoding from pc
            pass
    return await dbg.disassemble(pc, after), 0

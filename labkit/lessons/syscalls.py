# SPDX-License-Identifier: MIT
"""Lesson 01: what a "system call" costs, counted in instructions.

``syscall_bench`` times ``getpid()`` and a one-byte ``write()`` with the TSC, minus an empty
loop; under ``-icount shift=0`` a TSC tick is one guest instruction, so the figures are exact
and identical on every machine. The same source built for Linux calls glibc, whose
``getpid`` executes the ``syscall`` instruction: :func:`disassemble_function` shows it from
the static Linux binary, without running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..elf import load_elf

__all__ = ["CallCosts", "parse_syscall_bench", "measure_call_costs", "disassemble_function",
           "linux_binary"]


@dataclass(frozen=True)
class CallCosts:
    """syscall_bench's figures (ticks per call beyond the empty loop; instructions under
    icount)."""

    iterations: int
    loop: float
    getpid: float
    write: float
    icount: bool


def parse_syscall_bench(text: str, icount: bool = True) -> CallCosts:
    """Read syscall_bench's ``name value`` lines."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                values[parts[0]] = float(parts[1])
            except ValueError:
                pass
    try:
        return CallCosts(int(values["iterations"]), values["loop_ticks_per_iter"],
                         values["getpid_ticks_per_call"], values["write_ticks_per_call"],
                         icount)
    except KeyError as exc:
        raise ValueError(f"syscall_bench output lacks {exc.args[0]!r}:\n{text[-500:]}") from None


def measure_call_costs(iterations: int = 10000, icount: bool = True,
                       timeout: float = 30.0) -> CallCosts:
    """Boot syscall_bench once and return its figures."""
    from ..machine import run_sync

    options = {"icount": 0} if icount else {}
    m = run_sync("syscall_bench", str(iterations), timeout=timeout, **options)
    return parse_syscall_bench(m.console.text, icount)


def linux_binary(app: str) -> Path:
    """The same app source, built as a static Linux program (``images/linux/APP``)."""
    return paths.images_dir() / "linux" / app


def disassemble_function(binary: str | Path, function: str, limit: int = 12) -> list[str]:
    """``address: mnemonic operands`` lines of ``function`` in an ELF file (up to ``limit``,
    stopping after the first ``ret``)."""
    import capstone

    image = load_elf(binary)
    sym = image.symbol(function)
    if sym is None:
        raise KeyError(f"{Path(binary).name} has no symbol {function!r}")
    cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    out = []
    for insn in cs.disasm(image.read(sym.value, max(sym.size, 16)), sym.value):
        out.append(f"{insn.address:#x}: {insn.mnemonic} {insn.op_str}".rstrip())
        if insn.mnemonic == "ret" or len(out) >= limit:
            break
    return out

# SPDX-License-Identifier: MIT
"""Lessons 01 and 05: the instructions ``syscall_bench`` executes per iteration, read from the
binary that was built.

How many instructions an empty loop or a ``getpid()`` call costs depends on the compiler (gcc
12 and gcc 14 lay out the same loop differently), so the lessons never hard-code it. This
module disassembles (capstone) the loop of a ``time_*`` function of the app and, for a call
through the PLT, follows it: the PLT stub's indirect ``jmp``, then the kernel function the
dynamic linker binds the slot to, up to its ``ret``. The listing is what one iteration runs;
its length is the figure ``syscall_bench`` must measure under ``-icount shift=0``.

A compiler may unroll a loop (gcc 14 runs two iterations of the empty loop per pass, with the
counter stepping by 2): the count per iteration is the pass's length divided by the counter's
step, which :func:`iterations_per_pass` reads from the instruction that advances the counter.

Only straight-line code is counted: a loop body or kernel function with a branch inside would
take a path that depends on data, and :func:`loop_body` and :func:`call_path` refuse it
(ValueError) rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..elf import ElfImage, load_elf

__all__ = ["CountedInstruction", "CountedPath", "DerivedCosts", "loop_body", "call_path",
           "iterations_per_pass", "derive_call_costs", "linux_loop", "agrees", "TOLERANCE"]

#: How far a measured figure may be from the counted one: the timed region also runs the
#: loop's set-up and the second rdtsc, a dozen instructions spread over thousands of
#: iterations (0.001 per iteration at 10,000), and syscall_bench prints two decimals.
TOLERANCE = 0.05


def agrees(measured: float, counted: float) -> bool:
    """Whether an icount figure per iteration is the counted one (within :data:`TOLERANCE`)."""
    return abs(measured - counted) < TOLERANCE


@dataclass(frozen=True)
class CountedInstruction:
    """One instruction executed per iteration, and where it lives."""

    where: str        # "app time_getpid", "app PLT", "kernel getpid", ...
    address: int      # its address at run time
    text: str         # "mov rax, qword ptr [rip + 0x2d89]"


@dataclass(frozen=True)
class CountedPath:
    """The instructions one iteration of a loop executes, calls followed."""

    what: str
    instructions: tuple[CountedInstruction, ...]
    iterations: int = 1       # source iterations per pass (more than 1: the loop is unrolled)

    @property
    def count(self) -> int:
        """Instructions per pass through the loop, as listed."""
        return len(self.instructions)

    @property
    def per_iteration(self) -> float:
        """Instructions per iteration of the source's loop."""
        return self.count / self.iterations

    def rows(self) -> list[tuple[str, str, str]]:
        """(where, address, instruction) rows for a table."""
        return [(i.where, f"{i.address:#x}", i.text) for i in self.instructions]


@dataclass(frozen=True)
class DerivedCosts:
    """What ``syscall_bench`` must measure, derived from the built app and kernel."""

    loop: CountedPath          # one iteration of time_empty's loop
    getpid_loop: CountedPath   # one iteration of time_getpid's loop, the call followed

    @property
    def getpid(self) -> float:
        """Instructions per getpid() beyond the empty loop (what syscall_bench prints)."""
        return self.getpid_loop.per_iteration - self.loop.per_iteration


def _disasm(image: ElfImage, address: int, size: int) -> list:
    import capstone

    cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)   # Intel syntax, like gdb's
    return list(cs.disasm(image.read(address, size), address))


def _is_jump(insn: object) -> bool:
    return insn.mnemonic.startswith("j")  # type: ignore[attr-defined]


def _target(insn: object) -> int | None:
    op = insn.op_str  # type: ignore[attr-defined]
    return int(op, 16) if op.startswith("0x") else None


def _text(insn: object, base: int = 0) -> str:
    """``mnemonic operands``, a direct jump's or call's target moved to its run-time address."""
    target = _target(insn) if _is_jump(insn) or insn.mnemonic == "call" else None  # type: ignore[attr-defined]
    op = f"{base + target:#x}" if target is not None else insn.op_str  # type: ignore[attr-defined]
    return f"{insn.mnemonic} {op}".rstrip()  # type: ignore[attr-defined]


def loop_body(image: ElfImage, function: str) -> list:
    """The capstone instructions of the one loop in ``function`` (file addresses): from the
    target of its backward jump to that jump."""
    sym = image.symbol(function)
    if sym is None or not sym.size:
        raise KeyError(f"{Path(image.path).name} has no function {function!r} (inlined?)")
    code = _disasm(image, sym.value, sym.size)
    back = [i for i in code if _is_jump(i) and (t := _target(i)) is not None
            and sym.value <= t <= i.address]
    if len(back) != 1:
        raise ValueError(f"{function} has {len(back)} backward jumps, not one loop: "
                         "this compiler's output needs reading by hand")
    head = _target(back[0])
    body = [i for i in code if head <= i.address <= back[0].address]
    for insn in body[:-1]:
        t = _target(insn) if _is_jump(insn) else None
        if t is not None and head <= t <= back[0].address:
            raise ValueError(f"{function}'s loop branches inside itself at {insn.address:#x}: "
                             "its length per iteration depends on data")
    return body


_STEPS = {"add": 1, "sub": -1, "inc": 1, "dec": -1}


def iterations_per_pass(body: list) -> int:
    """How many iterations of the source's loop one pass of ``body`` runs: the step of the
    counter that the loop's closing compare (or the add/sub just before the jump) tests."""
    if len(body) < 2:
        raise ValueError("a loop of one instruction has no counter")
    test = body[-2]
    operands = [o.strip() for o in test.op_str.split(",")]
    if test.mnemonic in ("cmp", "test"):
        registers = [o for o in operands if o.isalnum() and not o.startswith("0x")]
    elif test.mnemonic in _STEPS:
        registers = operands[:1]
    else:
        raise ValueError(f"the loop closes with {test.mnemonic}: no counter found")
    for insn in body:
        ops = [o.strip() for o in insn.op_str.split(",")]
        if insn.mnemonic in _STEPS and ops[0] in registers:
            if insn.mnemonic in ("inc", "dec"):
                return 1
            try:
                return abs(int(ops[1], 0))
            except (IndexError, ValueError):
                continue
    raise ValueError(f"no add/sub of a constant to {' or '.join(registers)} in the loop")


def call_path(kernel: ElfImage, function: str, limit: int = 64) -> list:
    """The kernel function's instructions up to its first ``ret`` (straight-line only)."""
    sym = kernel.symbol(function)
    if sym is None:
        raise KeyError(f"the kernel has no function {function!r}")
    out = []
    for insn in _disasm(kernel, sym.value, max(sym.size, 16)):
        out.append(insn)
        if insn.mnemonic == "ret":
            return out
        if _is_jump(insn) or insn.mnemonic == "call" or len(out) >= limit:
            break
    raise ValueError(f"the kernel's {function} is not straight-line code up to a ret: "
                     "its length depends on data")


def _plt_names(app: ElfImage) -> dict[int, str]:
    """PLT entry address -> the symbol its GOT slot is bound to (entry 0 is the resolver)."""
    plt = app.section(".plt")
    slots = [r.symbol for r in app.relocations if r.section == ".rela.plt" and r.symbol]
    return {plt.addr + 16 * (i + 1): s for i, s in enumerate(slots)} if plt else {}


def _app_iteration(app: ElfImage, kernel: ElfImage, function: str, base: int) -> CountedPath:
    names = _plt_names(app)
    rows: list[CountedInstruction] = []
    body = loop_body(app, function)
    for insn in body:
        rows.append(CountedInstruction(f"app {function}", base + insn.address,
                                       _text(insn, base)))
        target = _target(insn) if insn.mnemonic == "call" else None
        if target is None:
            continue
        if target not in names:
            raise ValueError(f"{function} calls {target:#x}, not a PLT entry")
        stub = _disasm(app, target, 16)[0]          # jmp qword ptr [rip + GOT slot]
        rows.append(CountedInstruction(f"app PLT ({names[target]})", base + stub.address,
                                       _text(stub, base)))
        rows += [CountedInstruction(f"kernel {names[target]}", k.address, _text(k))
                 for k in call_path(kernel, names[target])]
    return CountedPath(f"one pass of {function}'s loop", tuple(rows), iterations_per_pass(body))


def derive_call_costs(app: str = "syscall_bench", kernel: ElfImage | None = None,
                      base: int | None = None) -> DerivedCosts:
    """Disassemble the built ``app`` (images/apps) and kernel: the empty loop, and the getpid
    loop with its call followed into the kernel."""
    from .linking import app_base_default

    image = load_elf(paths.app_object(app))
    kernel = kernel or load_elf(paths.kernel_image())
    base = app_base_default() if base is None else base
    return DerivedCosts(_app_iteration(image, kernel, "time_empty", base),
                        _app_iteration(image, kernel, "time_getpid", base))


def linux_loop(binary: str | Path) -> CountedPath:
    """One iteration of ``time_empty`` in a Linux build of syscall_bench (a static program)."""
    body = loop_body(load_elf(binary), "time_empty")
    return CountedPath("one pass of time_empty's loop (Linux build)",
                       tuple(CountedInstruction("linux time_empty", i.address, _text(i))
                             for i in body), iterations_per_pass(body))

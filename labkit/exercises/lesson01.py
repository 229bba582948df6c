# SPDX-License-Identifier: MIT
"""Checks of lesson 01-single-address-space."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from ._check import CheckResult, current, exercise, failed, passed
from ._run import name_values, try_app, try_variant

__all__ = ["check_binding", "check_refusal", "check_call_cost", "check_kernel_export",
           "REFERENCE_GETPPID", "EXPORT_PROBE", "CALL_COST_SIZES"]

#: The app :func:`check_kernel_export` boots: it calls the new kernel function around five
#: sleeps, each of which switches to the idle thread and back.
EXPORT_PROBE = """\
#include <stdio.h>
#include <unistd.h>

unsigned long context_switches(void);     /* the kernel's new export */

int main(void)
{
    unsigned long before = context_switches();
    for (int i = 0; i < 5; i++)
        usleep(2000);
    unsigned long after = context_switches();
    printf("switches_before %lu\\nswitches_after %lu\\n", before, after);
    return 0;
}
"""


def _kernel_and_app(app: str):
    from .. import paths
    from ..elf import load_elf

    return load_elf(paths.kernel_image()), load_elf(paths.app_object(app))


def _slot_at_main(app: str, slot: int, timeout: float = 20.0) -> int:
    """What the GOT slot at ``slot`` holds once ``app`` reaches ``main`` (read by a debugger
    on a real boot: the kernel's dynamic linker has filled it by then)."""
    from ..machine import Machine
    from ._run import run_async

    async def read() -> int:
        m = await Machine(app, paused=True, gdb=True).start()
        try:
            dbg = await m.debugger()
            await dbg.break_at("main")
            await dbg.cont(timeout)
            return await dbg.read_u64(slot)
        finally:
            await m.kill()

    return run_async(read(), timeout + 10)


@exercise("lesson01", 1, "where printf's address lands", ("'printf'", "answer_printf"),
          boots=True)
def check_binding(symbol: str, address: int, app: str = "hello") -> CheckResult:
    """Exercise 1: a prediction, checked by a run. At which address of the running ``app`` is
    the GOT slot that the kernel's dynamic linker fills for ``symbol``? (The app's load base
    plus the slot's offset in the file: the page prints both for another app.) The check
    computes it from the files, then boots ``app`` to ``main`` and reads the slot with the
    debugger: it must hold the kernel's ``symbol``."""
    from ..lessons.linking import got_slot

    name = current().label
    kernel, image = _kernel_and_app(app)
    try:
        want = got_slot(image, symbol)
    except KeyError:
        imported = ", ".join(sorted(s.name for s in image.undefined))
        return failed(name, f"{app}.so does not import {symbol!r}; it imports {imported}")
    try:
        given = int(address, 0) if isinstance(address, str) else int(address)
    except (TypeError, ValueError):
        return failed(name, f"give the address as an int (or a '0x...' string), not {address!r}")
    target = kernel.address_of(symbol)
    if given == target:
        return failed(name, f"{given:#x} is the kernel's {symbol} itself: the value the linker "
                            "writes. Where does it write it? (the slot: load base + offset)")
    if given != want:
        return failed(name, f"{given:#x} is not {symbol}'s GOT slot in the running {app}: add "
                            "the slot's offset in the file (its relocation) to the load base "
                            "(APP_BASE)")
    try:
        held = _slot_at_main(app, want)
    except Exception as exc:   # noqa: BLE001 - the answer is right; say why it was not confirmed
        return failed(name, f"right by the files, but the boot to confirm it failed: {exc}")
    if held != target:
        return failed(name, f"the slot {want:#x} holds {held:#x} at main, not the kernel's "
                            f"{symbol} ({target:#x}): ask your teacher")
    return passed(name, f"yes: at main, {app}'s slot {want:#x} holds {held:#x}, the kernel's "
                        f"{symbol}. The app's code calls through it, never knowing the kernel "
                        "is its library")


def _libc_has(symbol: str) -> bool:
    path = ctypes.util.find_library("c")
    try:
        return hasattr(ctypes.CDLL(path), symbol)
    except OSError:
        return False


@exercise("lesson01", 2, "the loader's refusal", ("work/needs_more.c",), boots=True)
def check_refusal(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 2: an app that calls a C library function the kernel does not export.

    It must compile, and the kernel's dynamic linker must refuse it (unresolved_symbol) naming
    a function that glibc has and the kernel does not."""
    from .. import paths
    from ..elf import kernel_exports, load_elf
    from ..outcome import Exited, LoadFailed

    name = current().label
    trial = try_app(source)
    if trial.error:
        return failed(name, trial.error)
    out = trial.outcome
    if isinstance(out, Exited):
        return failed(name, "the kernel loaded and ran it: every function it calls is "
                            "exported. Call one that the kernel does not export.")
    if not isinstance(out, LoadFailed) or out.error != "unresolved_symbol":
        return failed(name, f"it ended otherwise: {out.describe()}")  # type: ignore[union-attr]
    detail = out.event.detail if out.event else ""
    symbol = detail.split("'")[1] if detail and detail.count("'") >= 2 else ""
    exports = kernel_exports(load_elf(paths.kernel_image()))
    if not symbol or symbol in exports:
        return failed(name, f"refused, but for an unexpected reason: {detail!r}")
    if not _libc_has(symbol):
        return failed(name, f"refused for {symbol!r}, which is not a C library function "
                            "(glibc has no such symbol): call a real one, such as popen")
    return passed(name, f"refused: '{symbol}' is a glibc function the kernel does not "
                        f"export ({out.describe()})")


#: The reference measurement the call-cost check compares with.
REFERENCE_GETPPID = r"""
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
static volatile long sink;
static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}
int main(void)
{
    enum { N = 10000 };
    for (int i = 0; i < 100; i++) sink = getppid();
    uint64_t t0 = tsc();
    for (long i = 0; i < N; i++) sink = i;
    uint64_t empty = tsc() - t0;
    t0 = tsc();
    for (long i = 0; i < N; i++) sink = getppid();
    uint64_t calls = tsc() - t0;
    printf("getppid_ticks_per_call %.2f\n", (double)(calls - empty) / N);
    return 0;
}
"""


def _reference_cost() -> float:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="labkit-ref-") as tmp:
        src = Path(tmp) / "ref_getppid.c"
        src.write_text(REFERENCE_GETPPID)
        trial = try_app(src, icount=True)
    if trial.error:
        raise RuntimeError(f"the reference app failed: {trial.error}")
    return float(name_values(trial.console)["getppid_ticks_per_call"])


#: The two sizes the call-cost check boots the student's app with (``ppid N``).
CALL_COST_SIZES = (2000, 8000)


@exercise("lesson01", 3, "measure a call yourself", ("work/ppid.c",), boots=True)
def check_call_cost(source: str | os.PathLike[str], tolerance: float = 2.0) -> CheckResult:
    """Exercise 3: an app ``ppid N`` that measures ``getppid()`` over N calls in instructions
    under icount and prints ``getppid_ticks_per_call X``; X must be within ``tolerance`` of
    the reference.

    The check does not take the printed figure on trust: the app must import ``getppid`` from
    the kernel (its dynamic symbols), and it is booted with two values of N
    (:data:`CALL_COST_SIZES`): the kernel's own stamps must show each extra call costing at
    least the reference's instructions, and at least what the app claims."""
    from ._behaviour import app_imports, app_instructions

    name = current().label
    imports = app_imports(source)
    if isinstance(imports, str):
        return failed(name, imports)
    if "getppid" not in imports:
        return failed(name, "the app does not call the kernel's getppid() (it imports only "
                            f"{', '.join(sorted(imports)) or 'nothing'}): measure the call, "
                            "do not print a number")
    got, ran = [], []
    for n in CALL_COST_SIZES:
        trial = try_app(source, str(n), icount=True)
        if trial.error:
            return failed(name, f"ppid {n}: {trial.error}")
        values = name_values(trial.console)
        if "getppid_ticks_per_call" not in values:
            return failed(name, f"ppid {n}: no line 'getppid_ticks_per_call X' on the console:\n"
                                + trial.console[-400:])
        got.append(float(values["getppid_ticks_per_call"]))
        ran.append(app_instructions(trial.machine))
    ref = _reference_cost()
    small, large = CALL_COST_SIZES
    if None in ran:
        return failed(name, "the app did not exit normally: its instructions cannot be counted")
    per_extra = (ran[1] - ran[0]) / (large - small)   # type: ignore[operator]
    if per_extra < max(ref, max(got)) - tolerance:
        return failed(name, f"with N = {large} the app ran only {per_extra:.1f} instructions "
                            f"more per extra N than with N = {small}, but one getppid() costs "
                            f"about {ref:.1f} and you report {max(got):.2f}: does it read N "
                            "from argv[1] and call getppid() N times?")
    far = [f"{g:.2f} (N = {n})" for g, n in zip(got, CALL_COST_SIZES, strict=True)
           if abs(g - ref) > tolerance]
    if far:
        return failed(name, f"{', '.join(far)} is more than {tolerance} away from the reference "
                            f"{ref:.2f}: did you subtract the empty loop, and run under icount?")
    return passed(name, f"{got[1]:.2f} instructions per getppid() (reference {ref:.2f}); the "
                        f"kernel's stamps agree: each extra N cost {per_extra:.1f} instructions "
                        "(the call and both loops). A call, not a trap")


@exercise("lesson01", 4, "a new kernel export (kernel)", ("work/switches.c",), boots=True, points=2)
def check_kernel_export(source: str | os.PathLike[str]) -> CheckResult:
    """Exercise 4 (kernel code): ``work/switches.c`` becomes ``kernel/libc/lab_switches.c``
    and defines ``unsigned long context_switches(void)``, the scheduler's count of context
    switches. The build exports every global function of ``libc/``, so an app can call it.

    The check builds that kernel and boots :data:`EXPORT_PROBE` on it: 1 point for an app that
    loads and runs (the symbol is exported), 1 for counts that grow by at least one switch
    per sleep (it is the real counter). The same app on the stock kernel shows the refusal."""
    import tempfile
    from pathlib import Path

    from ..outcome import LoadFailed
    from ..variant import NewFile

    name = current().label
    with tempfile.TemporaryDirectory(prefix="labkit-check-") as tmp:
        probe = Path(tmp) / "switch_probe.c"
        probe.write_text(EXPORT_PROBE)
        trial = try_variant(NewFile("libc/lab_switches.c", source), source=probe)
        stock = try_app(probe)
    if trial.error:
        return failed(name, trial.error, 2)
    out = trial.outcome
    if getattr(out, "app_status", None) != 0:
        detail = out.describe() if hasattr(out, "describe") else str(out)  # type: ignore[union-attr]
        hint = (" (is context_switches defined, global, with that exact name?)"
                if isinstance(out, LoadFailed) else "")
        return failed(name, f"the probe app did not run on your kernel: {detail}{hint}", 2)
    values = name_values(trial.console)
    before, after = values.get("switches_before"), values.get("switches_after")
    refusal = stock.outcome.describe() if isinstance(stock.outcome, LoadFailed) else "?"
    if before is None or after is None or after - before < 5:
        return failed(name, f"the app loads, so the symbol is exported, but the counts "
                            f"({before} then {after}) did not grow by one switch per sleep: "
                            "return the scheduler's counter (include/thread.h)", 2, 1)
    return passed(name, f"exported and counting: {before} then {after} switches across five "
                        f"sleeps. The stock kernel refuses the same app: {refusal}", 2)

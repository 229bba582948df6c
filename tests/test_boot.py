# SPDX-License-Identifier: MIT
"""labkit against the real kernel: run/exit statuses through the CLI, panics, stepping from the
app into the kernel at CPL 0, hardware breakpoints before the app is loaded, gdb, timeouts,
many machines at once, no orphans. Needs images/ (see conftest.py)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest

from labkit import paths
from labkit.build import compile_app
from labkit.errors import BuildError, DebuggerError
from labkit.events import Milestone
from labkit.machine import Machine, MachineState, run
from labkit.outcome import Exited, Killed, LoadFailed, Panicked, TimedOut

from .test_machine import ORPHAN_SCRIPT, pid_alive

pytestmark = pytest.mark.boot

LABKIT = [sys.executable, "-m", "labkit"]


def labkit(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*LABKIT, *args], capture_output=True, text=True, timeout=timeout)


# ----------------------------------------------------------------------------- run
@pytest.mark.parametrize("args,status", [((), 0), (("3",), 3), (("63",), 63)])
def test_cli_run_passes_the_exit_status_through(args, status):
    proc = labkit("run", "hello", "--", *args)
    assert proc.returncode == status, proc.stderr
    assert "Hello from the unikernel!" in proc.stdout


@pytest.mark.parametrize("app,status", [("unresolved", 131), ("wrongclass", 133),
                                        ("wrongmachine", 133), ("truncated", 135)])
def test_cli_run_load_errors(app, status):
    proc = labkit("run", app)
    assert proc.returncode == status
    assert "load error" in proc.stderr


def test_cli_run_panic_prints_dump_and_fails():
    proc = labkit("run", "crash")
    assert proc.returncode == 255
    assert "scribble" in proc.stdout          # the kernel's own dump on COM1
    assert "kernel panic in scribble" in proc.stderr


async def test_panic_is_parsed_from_com2():
    m = await run("crash", timeout=30)
    assert isinstance(m.outcome, Panicked) and m.state == MachineState.CRASHED
    panic = m.outcome.panic
    assert panic is not None and panic.function == "scribble"
    assert panic.vector == 14 and panic.cpl == 0
    assert [f.symbol.split("+")[0] for f in panic.frames][:2] == ["scribble", "main"]
    assert any("app_main_thread" in (f.symbol or "") for f in panic.frames)  # kernel below


async def test_exact_status_comes_from_com2():
    m = await run("hello", "200", timeout=30)
    assert m.outcome == Exited(200, ((200 & 63) << 1) | 1, exact=True)
    assert m.outcome.status == 200


@pytest.mark.parametrize("machine", ["q35", "microvm"])
async def test_other_machine_types(machine):
    m = await run("hello", "5", machine=machine, timeout=30)
    assert m.outcome == Exited(5, 11, exact=True)
    assert list(m.events.milestones) == ["entry", "paging", "heap", "devices", "app_loaded",
                                         "app_main"]


async def test_icount_counts_are_deterministic():
    counts = []
    for _ in range(2):
        m = await run("hello", icount=0, timeout=30)
        ms = m.events.milestones
        counts.append(ms["app_main"].tsc - ms["entry"].tsc)
    assert counts[0] == counts[1] and counts[0] > 0


# ----------------------------------------------------------------------------- run my.c
def test_run_my_c(tmp_path):
    src = tmp_path / "mine.c"
    src.write_text('#include <stdio.h>\nint main(void) { printf("mine!\\n"); return 7; }\n')
    proc = labkit("run", str(src))
    assert proc.returncode == 7, proc.stderr
    assert "mine!" in proc.stdout


def test_run_my_c_compiler_errors(tmp_path):
    src = tmp_path / "broken.c"
    src.write_text("int main(void) { return nope; }\n")
    proc = labkit("run", str(src))
    assert proc.returncode == 125
    assert "compiling" in proc.stderr and "nope" in proc.stderr and "error" in proc.stderr
    with pytest.raises(BuildError, match="nope"):
        compile_app(src, out_dir=tmp_path)


async def test_spinning_guest_times_out(tmp_path):
    src = tmp_path / "spin.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("spinning"); '
                   "for (;;) __asm__ volatile(\"\"); }\n")
    app = compile_app(src, out_dir=tmp_path)
    m = Machine(app.name, initrd=app.archive)
    await m.start()
    await m.console.wait_for("spinning", timeout=30)
    outcome = await m.wait(timeout=0.5)
    assert outcome == TimedOut(0.5) and m.state == MachineState.STOPPED
    assert not pid_alive(m.pid)


# ----------------------------------------------------------------------------- debugger
async def test_step_from_main_into_the_kernel_at_cpl0():
    async with Machine("hello", paused=True, gdb=True) as m:
        dbg = await m.debugger()
        await dbg.break_at("main")
        stop = await dbg.cont(timeout=30)
        assert stop.reason == "breakpoint" and stop.function == "main"
        assert stop.location.image == "hello" and stop.location.file.endswith("hello.c")
        assert (await dbg.registers()).cpl == 0           # the app runs in ring 0
        kernel_text = dbg.symbols.kernel.section(".text")
        for _ in range(20):
            stop = await dbg.step()
            if stop.location.image == "kernel":
                break
        assert stop.function in ("puts", "printf", "write", "vprintf"), stop
        assert kernel_text.addr <= stop.pc < kernel_text.addr + kernel_text.size
        regs = await dbg.registers()
        assert regs.cpl == 0 and regs.long_mode and regs.paging  # same ring, same page table
        frames = await dbg.backtrace()
        assert frames[1].location.function == "main"        # called straight from the app
        assert any(f.location.function == "app_main_thread" for f in frames)
        insns = await dbg.disassemble("main", count=12)
        assert any(i.is_call and i.target and i.target.symbol.endswith("@plt") for i in insns)
        await dbg.detach()
        assert await m.wait(30) == Exited(0, 1, exact=True)


async def test_hardware_breakpoint_on_app_code_before_it_is_loaded():
    async with Machine("hello", paused=True, gdb=True) as m:
        dbg = await m.debugger()
        assert m.events.app_base is None                    # nothing loaded yet
        address = dbg.resolve("main")
        assert address == 0x10000000000 + dbg.symbols.app.symbol("main").value
        with pytest.raises(DebuggerError):                  # not even mapped yet
            await dbg.read_memory(address, 4)
        bp = await dbg.break_at("main")
        assert bp.hardware
        stop = await dbg.cont(timeout=30)
        assert stop.pc == address and stop.breakpoint == bp
        assert m.events.app_base == 0x10000000000           # COM2 agrees with the prediction
        code = await dbg.read_memory(address, 4)
        so = paths.app_object("hello").read_bytes()
        offset = dbg.symbols.app.symbol("main").value       # file offset == vaddr in .text
        seg = next(s for s in dbg.symbols.app.segments if s.flags == "r-x")
        assert code == so[seg.offset + offset - seg.vaddr:][:4]
        assert [e["event"] for e in m.qmp_events if e["event"] in ("STOP", "RESUME")]
        await m.kill()


def test_real_gdb_attaches_through_labkit_debug():
    if subprocess.run(["which", "gdb"], capture_output=True).returncode:
        pytest.skip("gdb not installed")
    owner = subprocess.Popen([*LABKIT, "debug", "hello"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = owner.stdout.readline()
        assert "gdb" in line and "target remote" in line, line
        import shlex

        cmd = shlex.split(line) + ["-batch", "-ex", "hbreak main", "-ex", "continue",
                                   "-ex", "bt", "-ex", "info registers cs", "-ex", "kill"]
        gdb = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        out = gdb.stdout
        assert re.search(r"Breakpoint 1, main \(", out), out + gdb.stderr
        assert re.search(r"#1 .* in app_main_thread", out), out     # kernel frames below main
        assert re.search(r"cs\s+0x8\s", out), out                   # ring 0 selector
    finally:
        owner.wait(30)


# ----------------------------------------------------------------------------- many, orphans
async def test_eight_real_machines_at_once():
    machines = [Machine("hello", str(i)) for i in range(8)]
    await asyncio.gather(*(m.start() for m in machines))
    try:
        outcomes = await asyncio.gather(*(m.wait(60) for m in machines))
    finally:
        await asyncio.gather(*(m.close() for m in machines))
    assert [o.status for o in outcomes] == list(range(8))
    assert len({m.rundir.path for m in machines}) == 8


async def test_no_orphan_qemu_after_sigkill_with_the_real_kernel(tmp_path):
    script = tmp_path / "owner.py"
    script.write_text(ORPHAN_SCRIPT.replace("Machine(None, kernel=sys.argv[1])",
                                            "Machine('hello', paused=True)"))
    owner = await asyncio.create_subprocess_exec(sys.executable, str(script), "-",
                                                 stdout=asyncio.subprocess.PIPE)
    qemu_pid = int(await asyncio.wait_for(owner.stdout.readline(), 30))
    assert pid_alive(qemu_pid)
    owner.kill()
    await owner.wait()
    for _ in range(100):
        if not pid_alive(qemu_pid):
            break
        await asyncio.sleep(0.05)
    assert not pid_alive(qemu_pid)


async def test_qmp_pause_resume_quit_on_the_real_kernel():
    async with Machine("hello", paused=True) as m:
        assert m.state == MachineState.PAUSED
        status = await m.execute("query-status")
        assert status["status"] == "prelaunch"
        outcome = await m.quit()
    assert outcome == Killed("quit through QMP")
    assert not [e for e in m.events.events if isinstance(e, Milestone)]  # never ran


async def test_load_failed_outcome_carries_the_event():
    m = await run("unresolved", timeout=30)
    assert isinstance(m.outcome, LoadFailed) and m.outcome.status == 131
    assert m.outcome.event is not None and "no_such_kernel_function" in m.outcome.event.detail


def test_inspect_cli_binds_hello_imports():
    proc = labkit("inspect", str(paths.app_object("hello")), "--show", "imports")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"printf\s+0x[0-9a-f]+\s+FUNC", proc.stdout)


def test_doctor_cli():
    proc = labkit("doctor")
    assert proc.returncode == 0, proc.stdout
    assert "[ok  ] qemu" in proc.stdout


@pytest.mark.skipif(not os.path.exists("/dev/kvm"), reason="no /dev/kvm")
def test_kvm_probe_reports_a_decision():
    from labkit.accel import choose_accel

    accel, why = choose_accel("auto", timeout=2)
    assert accel in ("tcg", "kvm") and "KVM" in why

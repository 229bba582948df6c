# SPDX-License-Identifier: MIT
"""Machine against a fake QEMU (tests/fake_qemu.py: a QMP peer and console streams) and
against the real QEMU booting labkit's tiny PVH kernel (no kernel build needed)."""

from __future__ import annotations

import asyncio
import os
import stat
import sys

import pytest

from labkit import procguard
from labkit.errors import BootError, MachineStateError, QMPError, WaitTimeout
from labkit.events import ExitEvent, Milestone
from labkit.machine import Machine, MachineState, SyncMachine, run_sync
from labkit.outcome import Exited, Killed, LoadFailed, Panicked, TimedOut


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# ----------------------------------------------------------------------------- fake QEMU
async def test_fake_exit_with_events(fake_qemu):
    kw = fake_qemu(com1="hello, world\n", exit=7,
                   com2=['{"ev":"milestone","name":"entry","tsc":1}',
                         '{"ev":"exit","status":3,"tsc":2}'])
    async with Machine("hello", "3", initrd=kw["kernel"], **kw) as m:
        outcome = await m.wait(5)
    assert outcome == Exited(3, 7, exact=True)
    assert m.state == MachineState.STOPPED
    assert m.console.text == "hello, world\n"
    assert [type(e) for e in m.events.events] == [Milestone, ExitEvent]
    assert m.rundir is not None and not m.rundir.path.exists()  # cleaned up


async def test_console_input_reaches_com1(fake_qemu):
    kw = fake_qemu(com1="login: ", echo=True, exit=1, hold="forever")
    async with Machine("hello", initrd=kw["kernel"], **kw) as m:
        await m.console.wait_for("login: ", timeout=5)
        m.console.send("root\n")
        await m.console.wait_for("you typed: root", timeout=5)
        await m.wait(5)
    with pytest.raises(MachineStateError, match="not running"):
        m.console.send("late\n")


async def test_fake_state_guards_and_qmp_events(fake_qemu):
    kw = fake_qemu(hold="forever")
    m = Machine("hello", initrd=kw["kernel"], paused=True, **kw)
    with pytest.raises(MachineStateError, match="start"):
        await m.pause()
    await m.start()
    assert m.state == MachineState.PAUSED
    with pytest.raises(MachineStateError, match="paused.*must be running"):
        await m.pause()
    await m.resume()
    assert m.state == MachineState.RUNNING
    await m.pause()
    assert m.state == MachineState.PAUSED
    assert (await m.wait_qmp_event("STOP", timeout=5))["event"] == "STOP"
    with pytest.raises(WaitTimeout):
        await m.wait_qmp_event("GUEST_PANICKED", timeout=0.05)
    with pytest.raises(QMPError, match="not been found"):
        await m.execute("no-such-command")
    outcome = await m.quit()
    assert outcome == Killed("quit through QMP")
    assert [e["event"] for e in m.qmp_events][:2] == ["RESUME", "STOP"]
    with pytest.raises(MachineStateError, match="stopped"):
        await m.resume()
    with pytest.raises(MachineStateError):
        await m.debugger()


async def test_fake_guest_reset_is_a_crash(fake_qemu):
    kw = fake_qemu(qmp_events=[["SHUTDOWN", {"guest": True, "reason": "guest-reset"}]],
                   hold=0.3, exit=0)
    async with Machine("hello", initrd=kw["kernel"], **kw) as m:
        outcome = await m.wait(5)
    assert isinstance(outcome, Panicked) and "reset" in outcome.describe()
    assert m.state == MachineState.CRASHED


async def test_fake_panic_and_load_error(fake_qemu):
    panic = ('{"ev":"panic","vector":14,"exception":"page fault","error_code":2,"rip":"0x1",'
             '"symbol":"scribble+0x4","cr2":"0x0","cpl":0,"frames":[],"message":"x"}')
    kw = fake_qemu(com2=[panic], exit=255)
    async with Machine("crash", initrd=kw["kernel"], **kw) as m:
        outcome = await m.wait(5)
    assert isinstance(outcome, Panicked) and outcome.function == "scribble"
    kw = fake_qemu(com2=['{"ev":"load_error","kind":"unresolved_symbol","file":"u.so",'
                         '"detail":"nosuch"}'], exit=131)
    async with Machine("unresolved", initrd=kw["kernel"], **kw) as m:
        outcome = await m.wait(5)
    assert outcome == LoadFailed("unresolved_symbol", 131, m.events.load_error)
    assert "nosuch" in outcome.describe()


async def test_fake_refuses_to_start(fake_qemu):
    kw = fake_qemu(refuse=True, stderr="qemu-system-x86_64: -kernel: no such file\n")
    m = Machine("hello", initrd=kw["kernel"], **kw)
    with pytest.raises(BootError, match="no such file"):
        await m.start()
    assert not m.state.alive


async def test_missing_images_say_what_to_do(tmp_path):
    with pytest.raises(BootError, match="labkit build"):
        await Machine("hello", kernel=tmp_path / "nope.elf").start()


# ----------------------------------------------------------------------------- real QEMU
async def test_tiny_kernel_exit_status(tiny):
    kernel = tiny(exit_value=5, com1=b"tiny says hi\n",
                  com2=b'{"ev":"milestone","name":"entry","tsc":1}\n')
    m = Machine(None, kernel=kernel)
    await m.start()
    outcome = await m.wait(10)
    assert outcome == Exited(5, 11, exact=False)
    assert m.console.text == "tiny says hi\n"
    assert m.events.milestones["entry"].tsc == 1
    assert m.wall_time is not None and m.wall_time < 5


async def test_rundir_is_private(tiny):
    m = Machine(None, kernel=tiny(spin=True), gdb=True, paused=True)
    await m.start()
    try:
        mode = stat.S_IMODE(os.stat(m.rundir.path).st_mode)
        assert mode == 0o700
        assert m.rundir.gdb.exists() and m.rundir.qmp.exists()
        status = await m.execute("query-status")
        assert status["running"] is False
    finally:
        await m.kill()
    assert not m.rundir.path.exists()


async def test_spinning_guest_times_out(tiny):
    m = Machine(None, kernel=tiny(spin=True, com1=b"spinning\n"))
    await m.start()
    await m.console.wait_for("spinning", timeout=10)
    with pytest.raises(WaitTimeout):
        await m.wait(0.2, kill_on_timeout=False)
    assert m.state == MachineState.RUNNING
    outcome = await m.wait(0.3)
    assert outcome == TimedOut(0.3) and outcome.status == 124
    assert not pid_alive(m.pid)


@pytest.mark.parametrize("machine", ["pc", "q35", "microvm"])
async def test_machine_types_reach_both_serial_ports(tiny, machine):
    kernel = tiny(exit_value=2, com1=b"one\n", com2=b'{"ev":"exit","status":2}\n')
    m = Machine(None, kernel=kernel, machine=machine, icount=0)
    await m.start()
    assert await m.wait(15) == Exited(2, 5, exact=True)
    assert m.console.text == "one\n"


async def test_eight_machines_at_once(tiny):
    kernel = tiny(spin=True, com1=b"up\n")
    machines = [Machine(None, kernel=kernel) for _ in range(8)]
    await asyncio.gather(*(m.start() for m in machines))
    try:
        await asyncio.gather(*(m.console.wait_for("up", 20) for m in machines))
        dirs = {m.rundir.path for m in machines}
        assert len(dirs) == 8 and len({m.pid for m in machines}) == 8
    finally:
        outcomes = await asyncio.gather(*(m.kill() for m in machines))
    assert all(isinstance(o, Killed) for o in outcomes)


def test_sync_facade(tiny):
    kernel = tiny(exit_value=4)
    m = run_sync(None, kernel=kernel, timeout=10)
    assert m.outcome == Exited(4, 9, exact=False)
    with SyncMachine(None, kernel=tiny(spin=True, com1=b"x\n")) as sm:
        sm.wait_for("x", 10)
        sm.pause()
        assert sm.state == MachineState.PAUSED
        sm.resume()
    assert isinstance(sm.outcome, Killed)


async def test_sync_facade_inside_running_loop(tiny):
    # A notebook has a running loop; the facade must not try to run it.
    m = await asyncio.to_thread(run_sync, None, kernel=tiny(exit_value=1), timeout=10)
    assert m.outcome.status == 1


def rundir_of(argv: list[str]) -> str:
    """The private runtime folder from a QEMU argv (where its QMP socket lives)."""
    spec = next(w for w in argv if w.startswith("socket,id=qmp,"))
    return os.path.dirname(spec.split("path=", 1)[1].split(",")[0])


ORPHAN_SCRIPT = r"""
import asyncio, sys
from labkit.machine import Machine
async def main():
    m = Machine(None, kernel=sys.argv[1])
    await m.start()
    print(m.pid, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


@pytest.mark.parametrize("watchdog", ["1", "0"])
async def test_no_orphan_after_sigkill_of_owner(tiny, tmp_path, watchdog):
    script = tmp_path / "owner.py"
    script.write_text(ORPHAN_SCRIPT)
    env = {**os.environ, "LABKIT_WATCHDOG": watchdog}
    owner = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(tiny(spin=True)), stdout=asyncio.subprocess.PIPE,
        env=env)
    line = await asyncio.wait_for(owner.stdout.readline(), 20)
    qemu_pid = int(line)
    assert pid_alive(qemu_pid)
    with open(f"/proc/{qemu_pid}/cmdline") as f:
        qemu_pid_cmdline = f.read().split("\0")
    owner.kill()  # SIGKILL: no atexit, no finally
    await owner.wait()
    for _ in range(100):
        if not pid_alive(qemu_pid):
            break
        await asyncio.sleep(0.05)
    assert not pid_alive(qemu_pid), "QEMU outlived its owner"
    if watchdog == "1":  # the watchdog also removes the private runtime folder
        rundir = rundir_of(qemu_pid_cmdline)
        for _ in range(100):
            if not os.path.exists(rundir):
                break
            await asyncio.sleep(0.05)
        assert not os.path.exists(rundir)


def test_watchdog_kills_registered_groups():
    # The watchdog alone (no PDEATHSIG): a process group registered with it dies at EOF.
    import subprocess

    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    dog = subprocess.Popen([sys.executable, "-S", "-c", procguard._WATCHDOG_SOURCE],
                           stdin=subprocess.PIPE, text=True, start_new_session=True)
    dog.stdin.write(f"+ {sleeper.pid}\n")
    dog.stdin.close()  # the owner "dies"
    dog.wait(10)
    assert sleeper.wait(10) == -9

# SPDX-License-Identifier: MIT
"""One QEMU running the kernel, under labkit's control.

:class:`Machine` is asynchronous: in a notebook cell ``m = await Machine("hello").start()``
then ``outcome = await m.wait(timeout=10)``; in a script, :class:`SyncMachine` (or
:func:`run_sync`) runs the same code on a private event loop in a helper thread, so it also
works where an event loop is already running. labkit never calls ``run_until_complete`` on a
loop that is running.

A machine has an explicit :class:`MachineState` and refuses what that state forbids::

    NEW --start()--> STARTING --> RUNNING <--pause()/resume()--> PAUSED
                                     |                              |
                                     +------- QEMU exits ----------+--> STOPPED or CRASHED

How it ended is an :mod:`~labkit.outcome` (``Exited``, ``Panicked``, ``LoadFailed``,
``TimedOut``, ``Killed``). Every wait has a timeout. The QEMU process cannot outlive its owner
(see :mod:`labkit.procguard`); a machine still alive when the interpreter exits is ended on its
own event loop first, so a script that stopped its loop exits quietly. A machine whose UDP
wire port (:mod:`labkit.net.config`) was taken before QEMU bound it is started again on new
ports, up to :attr:`Machine.PORT_RETRIES` times.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import enum
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from . import paths, procguard
from .console import Console, EventLog
from .errors import BootError, MachineStateError, QMPError, WaitTimeout
from .outcome import Killed, Outcome, Panicked, TimedOut, decode
from .qemuargs import (
    Flag,
    MachineConfig,
    RunDir,
    argv,
    build_command,
    default_runtime_base,
    explain,
    shell_line,
)

__all__ = ["Machine", "MachineState", "SyncMachine", "run", "run_sync"]

log = logging.getLogger("labkit.machine")
T = TypeVar("T")


class MachineState(enum.Enum):
    """Where a machine is in its life."""

    NEW = "new"                # configured, QEMU not started
    STARTING = "starting"      # QEMU started, sockets and QMP not yet connected
    RUNNING = "running"        # the guest CPU runs
    PAUSED = "paused"          # the guest CPU is held (-S, pause(), or a debugger stop)
    STOPPING = "stopping"      # QEMU is shutting down
    STOPPED = "stopped"        # QEMU has exited; see Machine.outcome
    CRASHED = "crashed"        # QEMU has exited after a panic or a guest reset

    @property
    def alive(self) -> bool:
        return self in (MachineState.STARTING, MachineState.RUNNING, MachineState.PAUSED,
                        MachineState.STOPPING)


_LIVE_STATES = {MachineState.RUNNING, MachineState.PAUSED}


PIPE_SIZE = 1 << 20  # bytes a serial FIFO holds before the guest's UART would have to wait
F_SETPIPE_SZ = 1031


class _SerialFifos:
    """The FIFO pair of one serial port: QEMU writes ``NAME.out`` and reads ``NAME.in``.

    labkit opens the read end of ``.out`` before QEMU starts, and also holds a write end of it
    until QEMU has exited, so that the reader sees end-of-file only when QEMU is gone.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        out, inp = Path(f"{base}.out"), Path(f"{base}.in")
        os.mkfifo(out, 0o600)
        os.mkfifo(inp, 0o600)
        self.out_r = os.open(out, os.O_RDONLY | os.O_NONBLOCK)
        self.out_keep = os.open(out, os.O_WRONLY | os.O_NONBLOCK)
        self.in_w = os.open(inp, os.O_RDWR | os.O_NONBLOCK)
        try:
            import fcntl

            fcntl.fcntl(self.out_r, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # over the per-user pipe budget: the default 64 KiB still works

    def write(self, data: bytes) -> None:
        try:
            os.write(self.in_w, data)
        except BlockingIOError:
            raise MachineStateError("the guest is not reading its serial input (the FIFO is "
                                    "full)") from None

    def release(self) -> None:
        """QEMU exited: drop our write end so the reader reaches end-of-file."""
        for name in ("out_keep", "in_w"):
            fd = getattr(self, name)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)

    def close(self) -> None:
        self.release()
        if self.out_r >= 0:
            with contextlib.suppress(OSError):
                os.close(self.out_r)
            self.out_r = -1


def _listener(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(1)
    sock.setblocking(False)
    return sock


class Machine:
    """A QEMU running the kernel with one app.

    ``Machine("hello", "3")`` boots ``images/hello.cpio`` with the command line
    ``-- hello 3``; keyword arguments are :class:`~labkit.qemuargs.MachineConfig` fields
    (``machine="microvm"``, ``icount=0``, ``paused=True``, ``gdb=True``, ``memory="256M"``,
    ``options={"metrics": 10}``, ``env={"NAME": "x"}`` ...). ``echo`` (e.g. ``sys.stdout``)
    gets the console output as it arrives.

    Use it as ``async with Machine("hello") as m: ...`` to be sure QEMU is gone at the end.
    """

    def __init__(self, app: str | None = "hello", *args: str, config: MachineConfig | None = None,
                 echo: IO[str] | None = None, **options: Any) -> None:
        if config is None:
            config = MachineConfig(app=app, args=args, **options)
        elif args or options:
            raise TypeError("give either a MachineConfig or app/args/options, not both")
        self.config = config
        self._fresh(echo)

    def _fresh(self, echo: IO[str] | None) -> None:
        """The state of a machine that has not started (again, after a lost port)."""
        self.console = Console(echo=echo)
        self.events = EventLog()
        self.qmp_events: list[dict[str, Any]] = []
        self.state = MachineState.NEW
        self.outcome: Outcome | None = None
        self.pid: int | None = None
        self.rundir: RunDir | None = None
        self.flags: list[Flag] = []
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.qemu_status: int | None = None
        self.stderr = ""
        self._proc: subprocess.Popen | None = None
        self._qmp: Any = None
        self._tasks: list[asyncio.Task] = []
        self._done: asyncio.Future[Outcome] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._serials: dict[str, _SerialFifos] = {}
        self._transports: list[asyncio.BaseTransport] = []
        self._stop_reason: Outcome | None = None
        self._quit_requested = False
        self._shutdown_reason: str | None = None
        self._finalizer: weakref.finalize | None = None
        self._state_changed: asyncio.Event | None = None
        self._exited: asyncio.Event | None = None      # QEMU process has ended
        self._connected: asyncio.Event | None = None   # start() is past connecting sockets

    # ------------------------------------------------------------------ description
    def __repr__(self) -> str:
        what = f"{self.config.app} {' '.join(self.config.args)}".strip()
        extra = f" {self.outcome.describe()}" if self.outcome else ""
        return f"<Machine {what!r} {self.state.value}{extra}>"

    @property
    def accel(self) -> str:
        """The accelerator this machine runs with ('tcg' or 'kvm')."""
        return self.config.accel

    def command(self) -> list[str]:
        """QEMU's argv (after :meth:`start`; before it, with placeholder socket paths)."""
        return argv(self.flags or self._flags(RunDir(Path("RUNDIR"))))

    def explain(self) -> str:
        """The QEMU command one flag a line, each with why it is there."""
        return explain(self.flags or self._flags(RunDir(Path("RUNDIR"))))

    def shell_line(self) -> str:
        return shell_line(self.flags or self._flags(RunDir(Path("RUNDIR"))))

    def _images(self) -> tuple[Path, Path | None]:
        kernel = Path(self.config.kernel) if self.config.kernel else paths.kernel_image()
        if not kernel.is_file():
            raise BootError(f"kernel image {kernel} does not exist: build it with `labkit build`")
        initrd = self.config.initrd
        if initrd is None and self.config.app:
            initrd = paths.app_archive(self.config.app)
        if initrd is not None and not Path(initrd).is_file():
            raise BootError(f"boot archive {initrd} does not exist")
        return kernel, (Path(initrd) if initrd else None)

    def _flags(self, rundir: RunDir) -> list[Flag]:
        kernel, initrd = self._images()
        if self.config.net is not None:
            self.config.net.qemu = self.config.qemu   # whose -netdev help decides the wire
        return build_command(self.config, rundir, kernel, initrd)

    @property
    def wall_time(self) -> float | None:
        """Seconds from QEMU's start to its exit (None while it runs)."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    # ------------------------------------------------------------------ state
    def _set_state(self, state: MachineState) -> None:
        if self.state == state:
            return
        log.debug("%r: %s -> %s", self, self.state.value, state.value)
        self.state = state
        if self._state_changed is not None:
            self._state_changed.set()
            self._state_changed = asyncio.Event()

    def _require(self, *states: MachineState, doing: str) -> None:
        if self.state not in states:
            allowed = " or ".join(s.value for s in states)
            hint = ""
            if self.state == MachineState.NEW:
                hint = ": call `await machine.start()` first"
            elif not self.state.alive and self.outcome is not None:
                hint = f" ({self.outcome.describe()}): start a new Machine"
            raise MachineStateError(
                f"cannot {doing}: the machine is {self.state.value}, it must be {allowed}{hint}")

    async def wait_state(self, *states: MachineState, timeout: float = 10.0) -> MachineState:
        """Wait until the machine is in one of ``states``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.state not in states:
            if self._state_changed is None:
                self._state_changed = asyncio.Event()
            left = deadline - loop.time()
            if left <= 0:
                raise WaitTimeout(f"the machine did not become "
                                  f"{' or '.join(s.value for s in states)} within {timeout:g} s "
                                  f"(it is {self.state.value})")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._state_changed.wait(), left)
        return self.state

    # ------------------------------------------------------------------ start
    #: times a QEMU that lost its UDP wire port to another program is started again
    PORT_RETRIES = 3

    async def start(self, timeout: float = 15.0) -> Machine:
        """Start QEMU and connect COM1, COM2 and QMP; returns ``self``.

        Raises :class:`BootError` if QEMU cannot start (its own message is quoted).
        """
        self._require(MachineState.NEW, doing="start")
        net = self.config.net
        for attempt in range(self.PORT_RETRIES + 1):
            try:
                await self._start_once(timeout)
            except BootError as exc:
                lost_port = (net is not None and net.transport == "udp"
                             and "Address already in use" in str(exc))
                if not lost_port or attempt == self.PORT_RETRIES:
                    if net is not None:
                        net.release()
                    raise
                log.debug("%r: QEMU lost its UDP port; starting again with new ports", self)
                self._fresh(self.console.echo)
                continue
            if net is not None:
                net.qemu_bound()   # QEMU answered QMP: its netdev holds the port now
            _live_machines.add(self)
            return self
        raise AssertionError("unreachable")

    async def _start_once(self, timeout: float) -> Machine:
        self._loop = asyncio.get_running_loop()
        self._state_changed = asyncio.Event()
        self._done = self._loop.create_future()
        self._exited = asyncio.Event()
        self._connected = asyncio.Event()
        paths.find_tool(self.config.qemu)
        base = default_runtime_base()
        rundir = RunDir(Path(tempfile.mkdtemp(prefix="labkit-", dir=base or None)))
        os.chmod(rundir.path, 0o700)
        self.rundir = rundir
        try:
            self.flags = self._flags(rundir)
            self._serials = {name: _SerialFifos(getattr(rundir, name))
                             for name in ("com1", "com2")}
            listeners = {"qmp": _listener(rundir.qmp)}
        except BaseException:
            for fifos in self._serials.values():
                fifos.close()
            shutil.rmtree(rundir.path, ignore_errors=True)
            raise
        self._set_state(MachineState.STARTING)
        error: str | None = None
        try:
            await self._start_pumps()
            self._spawn()
            await asyncio.wait_for(self._connect(listeners), timeout)
        except asyncio.CancelledError:  # e.g. a Jupyter interrupt while starting
            self.kill_now()
            raise
        except asyncio.TimeoutError:
            error = f"QEMU did not connect its sockets within {timeout:g} s"
        except BootError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported as a boot error with QEMU's words
            error = f"could not connect to QEMU: {exc!r}"
        finally:
            for sock in listeners.values():
                sock.close()
            self._connected.set()
        if error is not None:
            self.kill_now()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._done), 10)
            if "QEMU exited before" not in error:
                error += "\n" + self._boot_failure_message()
            raise BootError(error)
        if self._exited.is_set():
            await asyncio.shield(self._done)
            if not self.events.events and not self.console.text and self.stderr.strip():
                raise BootError(self._boot_failure_message())
        return self

    async def _start_pumps(self) -> None:
        loop = asyncio.get_running_loop()
        for name, target in (("com1", self.console), ("com2", self.events)):
            fifos = self._serials[name]
            reader = asyncio.StreamReader(limit=PIPE_SIZE)
            pipe = os.fdopen(fifos.out_r, "rb", buffering=0)
            fifos.out_r = -1  # now owned by the pipe object
            transport, _ = await loop.connect_read_pipe(
                lambda r=reader: asyncio.StreamReaderProtocol(r), pipe)
            self._transports.append(transport)
            self._tasks.append(loop.create_task(self._pump(reader, target), name=name))
        self.console.attach_writer(self._serials["com1"].write)

    def _spawn(self) -> None:
        assert self.rundir is not None
        stderr_path = self.rundir.path / "qemu.stderr"
        with open(stderr_path, "wb") as stderr:
            self.started_at = time.perf_counter()
            try:
                self._proc = subprocess.Popen(
                    argv(self.flags), stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                    cwd=self.rundir.path, start_new_session=True, close_fds=True,
                    preexec_fn=procguard.preexec_guard())
            except OSError as exc:
                raise BootError(f"cannot start {self.config.qemu}: {exc}") from exc
        self.pid = self._proc.pid
        procguard.register(self.pid, str(self.rundir.path))
        self._finalizer = weakref.finalize(self, _finalize, self.pid, str(self.rundir.path))
        assert self._loop is not None
        self._tasks.append(self._loop.create_task(self._watch_process(), name="qemu-exit"))

    async def _connect(self, listeners: dict[str, socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        accepted: dict[str, socket.socket] = {}
        assert self._exited is not None
        exited = asyncio.ensure_future(self._exited.wait())
        try:
            for name, listener in listeners.items():
                accept = asyncio.ensure_future(loop.sock_accept(listener))
                done, _ = await asyncio.wait({accept, exited}, return_when="FIRST_COMPLETED")
                if accept in done:
                    accepted[name], _ = accept.result()
                    continue
                accept.cancel()
                try:  # QEMU exited: a connection it made before is still in the backlog
                    accepted[name], _ = listener.accept()
                except BlockingIOError:
                    raise BootError(self._boot_failure_message()) from None
        finally:
            exited.cancel()
        await self._connect_qmp(accepted["qmp"])

    async def _connect_qmp(self, sock: socket.socket) -> None:
        from qemu.qmp import EventListener, QMPClient

        qmp = QMPClient(f"labkit-{self.pid}")
        listener = EventListener()
        qmp.register_listener(listener)
        try:
            await qmp.connect(sock)
        except Exception:
            with contextlib.suppress(Exception):
                await qmp.disconnect()  # reap the client's reader/writer tasks
            assert self._exited is not None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._exited.wait(), 1.0)
            if self._exited.is_set():
                return  # QEMU already exited: not an error, the guest ran and ended
            raise
        self._qmp = qmp
        assert self._loop is not None
        self._tasks.append(self._loop.create_task(self._qmp_events(listener), name="qmp-events"))
        with contextlib.suppress(Exception):
            status = await asyncio.wait_for(qmp.execute("query-status"), 5.0)
            if self.state == MachineState.STARTING:
                running = bool(status.get("running"))  # type: ignore[union-attr]
                self._set_state(MachineState.RUNNING if running else MachineState.PAUSED)
        if self.state == MachineState.STARTING and not self._exited.is_set():
            self._set_state(MachineState.PAUSED if self.config.paused else MachineState.RUNNING)

    def _boot_failure_message(self) -> str:
        self._read_stderr()
        status = "" if self.qemu_status is None else f" (status {self.qemu_status})"
        said = self.stderr.strip() or "(QEMU printed nothing)"
        return (f"QEMU exited before the machine was up{status}: {said}\n"
                f"command: {shell_line(self.flags)}")

    def _read_stderr(self) -> None:
        if self.rundir is not None:
            with contextlib.suppress(OSError):
                self.stderr = (self.rundir.path / "qemu.stderr").read_text(errors="replace")

    async def _pump(self, reader: asyncio.StreamReader, target: Console | EventLog) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                target.feed(data)
        except (ConnectionError, OSError):
            pass
        finally:
            target.close()

    async def _qmp_events(self, listener: Any) -> None:
        async for event in listener:
            self.qmp_events.append(dict(event))
            name = event.get("event")
            if name == "STOP" and self.state == MachineState.RUNNING:
                self._set_state(MachineState.PAUSED)
            elif name == "RESUME" and self.state in (MachineState.PAUSED, MachineState.STARTING):
                self._set_state(MachineState.RUNNING)
            elif name == "SHUTDOWN":
                self._shutdown_reason = event.get("data", {}).get("reason")
                self._set_state(MachineState.STOPPING)

    async def _wait_exit(self) -> int:
        proc = self._proc
        assert proc is not None
        loop = asyncio.get_running_loop()
        try:
            pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            return await loop.run_in_executor(None, proc.wait)
        ready = loop.create_future()
        loop.add_reader(pidfd, lambda: ready.done() or ready.set_result(None))
        try:
            if proc.poll() is None:
                await ready
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
        return proc.wait()

    async def _watch_process(self) -> None:
        status = await self._wait_exit()
        self.ended_at = time.perf_counter()
        self.qemu_status = status
        procguard.unregister(self.pid)  # type: ignore[arg-type]
        assert self._exited is not None and self._connected is not None
        for fifos in self._serials.values():
            fifos.release()
        self._exited.set()
        await self._connected.wait()
        # Drain COM1/COM2: QEMU closed them; what is buffered is still ours.
        pumps = [t for t in self._tasks if t.get_name() in ("com1", "com2")]
        if pumps:
            await asyncio.wait(pumps, timeout=2.0)
        self._read_stderr()
        outcome = self._stop_reason or decode(
            status, self.events.exit, self.events.panic, self.events.load_error,
            self._shutdown_reason, self._quit_requested)
        self.outcome = outcome
        await self._close_qmp()
        for task in pumps:
            task.cancel()
        for transport in self._transports:
            transport.close()
        for fifos in self._serials.values():
            fifos.close()
        self.console.attach_writer(None)
        self.console.close()
        self.events.close()
        if self.config.net is not None:
            self.config.net.release()
        self._set_state(MachineState.CRASHED if isinstance(outcome, Panicked)
                        else MachineState.STOPPED)
        if self._finalizer is not None:
            self._finalizer.detach()
        if self.rundir is not None and os.environ.get("LABKIT_KEEP_RUNDIR") != "1":
            shutil.rmtree(self.rundir.path, ignore_errors=True)
        for task in self._tasks:
            if task is not asyncio.current_task() and not task.done():
                task.cancel()
        assert self._done is not None
        if not self._done.done():
            self._done.set_result(outcome)

    async def _close_qmp(self) -> None:
        qmp, self._qmp = self._qmp, None
        if qmp is not None:
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(qmp.disconnect(), 2.0)

    # ------------------------------------------------------------------ control
    @property
    def qmp(self) -> Any:
        """The connected ``qemu.qmp.QMPClient`` (for commands labkit does not wrap)."""
        self._require(*_LIVE_STATES, doing="use QMP")
        if self._qmp is None:
            raise QMPError("QMP is not connected (QEMU exited during start?)")
        return self._qmp

    async def execute(self, command: str, arguments: Mapping[str, Any] | None = None,
                      timeout: float = 10.0) -> Any:
        """Run a QMP command and return its result; raises :class:`QMPError` on failure."""
        from qemu.qmp import ExecuteError

        qmp = self.qmp
        try:
            return await asyncio.wait_for(qmp.execute(command, dict(arguments or {})), timeout)
        except ExecuteError as exc:
            raise QMPError(f"QMP {command} failed: {exc}") from exc
        except asyncio.TimeoutError:
            raise QMPError(f"QMP {command} got no answer within {timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - connection problems, as QMPError
            raise QMPError(f"QMP {command}: the monitor connection broke ({exc!r})") from exc

    async def wait_qmp_event(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the QMP event ``name`` (``STOP``, ``RESUME``, ``SHUTDOWN``,
        ``GUEST_PANICKED`` ...), counting those received so far; returns the event."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.qmp_events:
                if event.get("event") == name:
                    return event
            if not self.state.alive:
                raise MachineStateError(f"the machine stopped before QMP event {name} arrived")
            if loop.time() > deadline:
                raise WaitTimeout(f"no QMP event {name} within {timeout:g} s")
            await asyncio.sleep(0.01)

    async def pause(self, timeout: float = 10.0) -> None:
        """Hold the guest CPU (QMP ``stop``)."""
        self._require(MachineState.RUNNING, doing="pause")
        await self.execute("stop", timeout=timeout)
        self._set_state(MachineState.PAUSED)

    async def resume(self, timeout: float = 10.0) -> None:
        """Let the guest CPU run again (QMP ``cont``)."""
        self._require(MachineState.PAUSED, doing="resume")
        await self.execute("cont", timeout=timeout)
        if self.state == MachineState.PAUSED:
            self._set_state(MachineState.RUNNING)

    async def wait(self, timeout: float | None = 30.0, kill_on_timeout: bool = True) -> Outcome:
        """Wait for QEMU to exit and return the :class:`~labkit.outcome.Outcome`.

        On timeout the machine is killed and the outcome is :class:`TimedOut`, unless
        ``kill_on_timeout`` is False: then :class:`WaitTimeout` is raised and it keeps running.
        """
        if self.state == MachineState.NEW:
            raise MachineStateError("cannot wait: the machine was never started "
                                    "(call `await machine.start()` first)")
        assert self._done is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._done), timeout)
        except asyncio.TimeoutError:
            if not kill_on_timeout:
                raise WaitTimeout(f"the machine is still {self.state.value} after {timeout:g} s;"
                                  f" console tail:\n{self.console.tail(5)}") from None
            return await self._end(TimedOut(float(timeout or 0)))

    async def quit(self, timeout: float = 5.0) -> Outcome:
        """Ask QEMU to quit through QMP (kills it if QMP does not answer)."""
        if not self.state.alive:
            assert self.outcome is not None or self.state == MachineState.NEW
            if self.outcome is None:
                raise MachineStateError("cannot quit: the machine was never started")
            return self.outcome
        self._quit_requested = True
        with contextlib.suppress(QMPError, MachineStateError):
            await self.execute("quit", timeout=timeout)
        try:
            assert self._done is not None
            return await asyncio.wait_for(asyncio.shield(self._done), timeout)
        except asyncio.TimeoutError:
            return await self._end(Killed("QEMU did not quit when asked; killed", 9))

    async def kill(self) -> Outcome:
        """SIGKILL QEMU now and return the outcome (:class:`Killed`)."""
        if not self.state.alive:
            if self.outcome is None:
                raise MachineStateError("cannot kill: the machine was never started")
            return self.outcome
        return await self._end(Killed("killed by labkit", 9))

    async def _end(self, outcome: Outcome) -> Outcome:
        if self._stop_reason is None:
            self._stop_reason = outcome
        self.kill_now()
        assert self._done is not None
        return await asyncio.wait_for(asyncio.shield(self._done), 10.0)

    def kill_now(self) -> None:
        """SIGKILL the QEMU process group without waiting (safe from any thread)."""
        if self.pid is not None and self.qemu_status is None:
            procguard.kill_group(self.pid)

    async def close(self) -> Outcome | None:
        """Make sure QEMU is gone (kill if still alive); returns the outcome."""
        if self.state == MachineState.NEW:
            return None
        if self.state.alive:
            return await self.kill()
        return self.outcome

    async def __aenter__(self) -> Machine:
        if self.state == MachineState.NEW:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ debugging
    async def debugger(self, timeout: float = 10.0) -> Any:
        """Attach labkit's :class:`~labkit.debugger.Debugger` to QEMU's GDB stub.

        The machine must have been started with ``gdb=True`` (usually with ``paused=True``).
        """
        self._require(*_LIVE_STATES, doing="attach a debugger")
        if not self.config.gdb or self.rundir is None:
            raise MachineStateError("cannot attach a debugger: start the machine with gdb=True "
                                    "(and paused=True to stop at the first instruction)")
        from .debugger import Debugger

        return await Debugger.attach(self, timeout=timeout)

    def gdb_command(self, app_object: str | os.PathLike[str] | None = None,
                    app_base: int | None = None) -> list[str]:
        """The exact ``gdb`` command line that attaches to this machine's stub."""
        from .debugger import gdb_command_line

        self._require(*_LIVE_STATES, doing="attach gdb")
        if not self.config.gdb or self.rundir is None:
            raise MachineStateError("start the machine with gdb=True to attach gdb")
        kernel, _ = self._images()
        return gdb_command_line(kernel, self.rundir.gdb, app_object, app_base)


#: started machines, to settle at interpreter exit (see _settle_at_exit)
_live_machines: weakref.WeakSet[Machine] = weakref.WeakSet()


def _settle_at_exit() -> None:
    """At interpreter exit, end every machine still alive whose event loop no longer runs (a
    script that stopped its loop, or never closed the machine): QEMU goes now, on the
    machine's own loop, so that its tasks finish instead of being destroyed while pending
    (which asyncio reports in some thirty lines of noise). procguard's own exit hook, which
    runs after this one, kills whatever is left."""
    deadline = time.monotonic() + 10.0      # for all of them: exiting must not drag on
    for machine in list(_live_machines):
        loop = machine._loop
        if loop is None or loop.is_closed() or not machine.state.alive:
            continue
        machine.kill_now()
        left = max(0.5, deadline - time.monotonic())
        try:
            if loop.is_running():   # a loop in another thread (SyncMachine's): ask it
                asyncio.run_coroutine_threadsafe(machine.close(), loop).result(left)
                continue
            loop.run_until_complete(asyncio.wait_for(machine.close(), left))
            mine = [t for t in asyncio.all_tasks(loop) if t in machine._tasks]
            if mine:
                loop.run_until_complete(asyncio.wait(mine, timeout=1))
        except Exception:  # noqa: BLE001 - exiting anyway: procguard's hook kills the rest
            pass


atexit.register(_settle_at_exit)


def _finalize(pid: int, rundir: str) -> None:
    """Runs when a live Machine is garbage-collected: no orphan, no leftover sockets."""
    procguard.kill_group(pid)
    shutil.rmtree(rundir, ignore_errors=True)


async def run(app: str | None = "hello", *args: str, timeout: float = 30.0,
              echo: IO[str] | None = None, **options: Any) -> Machine:
    """Boot ``app`` with ``args``, wait for it to end (killing it after ``timeout`` s) and
    return the stopped :class:`Machine` (``.outcome``, ``.console``, ``.events``)."""
    machine = Machine(app, *args, echo=echo, **options)
    await machine.start()
    try:
        await machine.wait(timeout)
    finally:
        await machine.close()
    return machine


# ---------------------------------------------------------------------- synchronous facade
class _LoopThread:
    """One private event loop in a daemon thread, shared by the synchronous facades."""

    _instance: _LoopThread | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="labkit-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @classmethod
    def get(cls) -> _LoopThread:
        with cls._lock:
            if cls._instance is None or not cls._instance.thread.is_alive():
                cls._instance = _LoopThread()
            return cls._instance

    def call(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        if threading.current_thread() is self.thread:
            raise RuntimeError("a synchronous labkit call from labkit's own loop thread")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise WaitTimeout(f"a labkit call did not finish within {timeout} s") from None


class SyncMachine:
    """The synchronous face of :class:`Machine`, for scripts and the command line.

    >>> with SyncMachine("hello") as m:          # doctest: +SKIP
    ...     print(m.wait(10).describe())
    """

    def __init__(self, app: str | None = "hello", *args: str, **options: Any) -> None:
        self._runner = _LoopThread.get()
        self.machine = Machine(app, *args, **options)

    def _call(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        return self._runner.call(coro, timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.machine, name)

    def start(self, timeout: float = 15.0) -> SyncMachine:
        self._call(self.machine.start(timeout))
        return self

    def wait(self, timeout: float | None = 30.0, kill_on_timeout: bool = True) -> Outcome:
        return self._call(self.machine.wait(timeout, kill_on_timeout))

    def wait_for(self, pattern: str, timeout: float = 10.0) -> Any:
        return self._call(self.machine.console.wait_for(pattern, timeout))

    def execute(self, command: str, arguments: Mapping[str, Any] | None = None,
                timeout: float = 10.0) -> Any:
        return self._call(self.machine.execute(command, arguments, timeout))

    def pause(self) -> None:
        self._call(self.machine.pause())

    def resume(self) -> None:
        self._call(self.machine.resume())

    def quit(self) -> Outcome:
        return self._call(self.machine.quit())

    def kill(self) -> Outcome:
        return self._call(self.machine.kill())

    def close(self) -> Outcome | None:
        return self._call(self.machine.close())

    def __enter__(self) -> SyncMachine:
        if self.machine.state == MachineState.NEW:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_sync(app: str | None = "hello", *args: str, timeout: float = 30.0,
             **options: Any) -> Machine:
    """Synchronous :func:`run`: boot, wait (at most ``timeout`` s), return the machine."""
    return _LoopThread.get().call(run(app, *args, timeout=timeout, **options))


def gather_machines(machines: Sequence[Machine]) -> Awaitable[list[Machine]]:
    """Start several machines at once."""
    return asyncio.gather(*(m.start() for m in machines))

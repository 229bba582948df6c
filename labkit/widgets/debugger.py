# SPDX-License-Identifier: MIT
"""The debugger panel: buttons and panes over a :class:`labkit.Debugger`, nothing more.

::

    m = await labkit.Machine("hello", paused=True, gdb=True).start()
    panel = DebuggerPanel(await m.debugger(), m)
    display(panel.view)                   # step, step over, continue, break at a symbol ...
    await panel.break_at("main"); await panel.cont()   # the same actions, from a cell

Every button press runs the matching :class:`~labkit.Debugger` call as an asyncio task on the
event loop the panel was created on (the notebook's, where the machine and its debugger live;
ipykernel may deliver widget events on another thread or loop, so the task is handed over with
``run_coroutine_threadsafe``). The panel keeps working while other cells run, and the COM1 tail
follows the console as it arrives. One lock serialises the panel's calls; output and errors of
background work go to the panel's ``log`` Output widget, never to a cell. The decoding of the
control registers is :mod:`labkit.lessons.ring0`; the source lines come from
:mod:`labkit.lessons.stepping`.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..lessons.ring0 import decode_cr0, decode_cr3, decode_cr4
from ..lessons.stepping import disassembly_window, source_context

if TYPE_CHECKING:
    from ..machine import Machine

__all__ = ["DebuggerPanel"]

_MONO = "font-family:monospace;font-size:12px;white-space:pre;margin:0"


class DebuggerPanel:
    """A view of one debugger (and its machine's COM1). ``panel.view`` is the widget."""

    def __init__(self, dbg: Any, machine: Machine | None = None, context: int = 3,
                 disassembly: int = 8) -> None:
        self.dbg = dbg
        self.machine = machine or getattr(dbg, "machine", None)
        self.context = context
        self.disassembly = disassembly
        try:    # the notebook's loop: the machine and the debugger live there
            self.loop = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = asyncio.get_event_loop()
        self.lock = asyncio.Lock()
        self.tasks: set[Any] = set()
        self.last_stop: Any = None

        button = self._button
        self.buttons = [button("step", "step one source line, into calls", self.step),
                        button("step over", "one source line, over calls", self.next),
                        button("stepi", "one instruction", self.stepi),
                        button("finish", "run until this function returns", self.finish),
                        button("continue", "run until a breakpoint or the end", self.cont),
                        button("interrupt", "stop the running CPU", self.interrupt)]
        self.symbol = w.Text(placeholder="symbol, e.g. write or main",
                             layout=w.Layout(width="220px"))
        self.buttons.append(button("break", "hardware breakpoint at the symbol",
                                   lambda: self.break_at(self.symbol.value.strip())))
        self.status = w.HTML()
        self.registers = w.HTML()
        self.source = w.HTML()
        self.code = w.HTML()
        self.console = w.Textarea(layout=w.Layout(width="100%", height="140px"),
                                  disabled=True)
        self.log = w.Output(layout=w.Layout(max_height="120px", overflow="auto"))
        left = w.VBox([w.HTML("<b>source</b>"), self.source, w.HTML("<b>disassembly</b>"),
                       self.code], layout=w.Layout(width="64%", overflow="auto"))
        right = w.VBox([w.HTML("<b>registers</b>"), self.registers],
                       layout=w.Layout(width="36%", overflow="auto"))
        self.view = w.VBox([w.HBox(self.buttons[:6]), w.HBox([self.symbol, self.buttons[6]]),
                            self.status, w.HBox([left, right]),
                            w.HTML("<b>COM1 (tail)</b>"), self.console, self.log])
        if self.machine is not None:
            self.console.value = self.machine.console.tail(12)
            self._unsubscribe = self.machine.console.subscribe(self._on_console)

    def button(self, label: str) -> w.Button:
        """The button labelled ``label``; ``panel.button("step").click()`` is a real click."""
        for b in self.buttons:
            if b.description == label:
                return b
        raise KeyError(f"no button {label!r}: {[b.description for b in self.buttons]}")

    # ------------------------------------------------------------------ wiring
    def _button(self, label: str, tooltip: str,
                action: Callable[[], Awaitable[Any]]) -> w.Button:
        b = w.Button(description=label, tooltip=tooltip, layout=w.Layout(width="auto"))
        b.on_click(lambda _: self._clicked(label, action))
        return b

    def _clicked(self, label: str, action: Callable[[], Awaitable[Any]]) -> None:
        # Said at once: the action itself starts only when the event loop is next free.
        self.status.value = f"<i>{html.escape(label)}: pressed ...</i>"
        self._spawn(action)

    def _spawn(self, action: Callable[[], Awaitable[Any]]) -> None:
        """A button press: run the action in the background, errors to the log."""
        async def guarded() -> None:
            try:
                await action()
            except Exception as exc:  # noqa: BLE001 - shown to the student, not raised
                with self.log:
                    print(f"{type(exc).__name__}: {exc}")
                self.status.value = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"

        future = asyncio.run_coroutine_threadsafe(guarded(), self.loop)
        self.tasks.add(future)
        future.add_done_callback(self.tasks.discard)

    def _on_console(self, _text: str) -> None:
        assert self.machine is not None
        self.console.value = self.machine.console.tail(12)

    async def _do(self, doing: str, call: Callable[[], Awaitable[Any]]) -> Any:
        async with self.lock:
            self.status.value = f"<i>{html.escape(doing)} ...</i>"
            for b in self.buttons[:5]:
                b.disabled = True
            try:
                stop = await call()
            finally:
                for b in self.buttons[:5]:
                    b.disabled = False
            self.last_stop = stop
            await self._refresh_locked()
            return stop

    # ------------------------------------------------------------------ actions
    async def step(self) -> Any:
        return await self._do("step", self.dbg.step)

    async def next(self) -> Any:
        return await self._do("step over", self.dbg.next)

    async def stepi(self) -> Any:
        return await self._do("stepi", self.dbg.stepi)

    async def finish(self) -> Any:
        return await self._do("finish", lambda: self.dbg.finish())

    async def cont(self, timeout: float = 60.0) -> Any:
        return await self._do("running", lambda: self.dbg.cont(timeout))

    async def interrupt(self) -> Any:
        # Not under the lock: the lock is held by the cont that is running.
        return await self.dbg.interrupt()

    async def break_at(self, where: str | int) -> Any:
        if not where:
            raise ValueError("type a symbol first")
        async with self.lock:
            bp = await self.dbg.break_at(where)
            self.status.value = f"breakpoint at {html.escape(str(bp.location))}"
            return bp

    async def refresh(self) -> None:
        async with self.lock:
            await self._refresh_locked()

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until every button press so far has done its work (and updated the panes)."""
        pending = [asyncio.wrap_future(f) for f in list(self.tasks)]
        if pending:
            await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), timeout)

    @property
    def status_text(self) -> str:
        """The status line as the student reads it (no markup)."""
        from .snapshot import html_to_text

        return html_to_text(self.status.value)

    def snapshot_html(self) -> str:
        """A static picture of the panel as it stands: status, source, disassembly, registers
        and the COM1 tail (what a page exported without a kernel shows in its place)."""
        console = html.escape(self.console.value or "")
        return (f"<div style='border:1px solid #d0d7de;padding:4px'>"
                f"<div>{self.status.value}</div>"
                f"<div style='display:flex;gap:12px'><div><b>source</b>{self.source.value}"
                f"<b>disassembly</b>{self.code.value}</div>"
                f"<div><b>registers</b>{self.registers.value}</div></div>"
                f"<b>COM1 (tail)</b><pre style='{_MONO}'>{console}</pre>"
                f"<small>debugger panel, as it stood when its cell ended</small></div>")

    # ------------------------------------------------------------------ panes
    async def _refresh_locked(self) -> None:
        stop = self.last_stop
        if getattr(self.dbg, "exited", False) or (stop is not None and stop.reason == "exited"):
            self.status.value = "<b>the machine has ended</b>"
            return
        regs = await self.dbg.registers()
        loc = await self.dbg.where()
        reason = f"{stop.reason} at " if stop is not None else "stopped at "
        self.status.value = (f"{html.escape(reason)}<b>{html.escape(str(loc))}</b>, "
                             f"CPL {regs.cpl}")
        self.registers.value = self._registers_html(regs)
        text = source_context(loc.file, loc.line, self.context, self.context)
        self.source.value = f"<pre style='{_MONO}'>{html.escape(text or '(no source line)')}</pre>"
        try:
            insns, at = await disassembly_window(self.dbg, 3, self.disassembly - 3)
            lines = [("=> " if i == at else "   ") + str(x) for i, x in enumerate(insns)]
        except Exception as exc:  # noqa: BLE001 - an unmapped pc is worth showing as such
            lines = [f"(cannot read code at {regs.pc:#x}: {exc})"]
        self.code.value = f"<pre style='{_MONO}'>{html.escape(chr(10).join(lines))}</pre>"

    @staticmethod
    def _registers_html(regs: Any) -> str:
        v = regs.values
        rows = [f"rip {v['rip']:#018x}   rsp {v['rsp']:#018x}",
                f"rax {v['rax']:#018x}   rdi {v['rdi']:#018x}",
                f"rsi {v['rsi']:#018x}   rbp {v['rbp']:#018x}",
                f"cs  {v['cs']:#06x}  -> CPL {regs.cpl} (ring {regs.cpl})",
                f"rflags {v['eflags']:#x}  IF={v['eflags'] >> 9 & 1}",
                f"cr0 {v['cr0']:#x}: " + " ".join(b.name for b in decode_cr0(v['cr0'])
                                                  if b.value),
                f"cr3 {v['cr3']:#x}: PML4 at " + " ".join(
                    f"{b.value:#x}" if b.name == "PML4" else f"{b.name}={b.value}"
                    for b in decode_cr3(v['cr3'])),
                f"cr4 {v['cr4']:#x}: " + " ".join(b.name for b in decode_cr4(v['cr4'])
                                                  if b.value)]
        return f"<pre style='{_MONO}'>{html.escape(chr(10).join(rows))}</pre>"

    def close(self) -> None:
        if self.machine is not None and getattr(self, "_unsubscribe", None):
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self.tasks):
            task.cancel()

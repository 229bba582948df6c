# SPDX-License-Identifier: MIT
"""The two serial lines of a machine, as Python objects.

:class:`Console` holds COM1, the human console: the text so far, a tail for widgets, and
:meth:`Console.wait_for` a pattern with a timeout. :class:`EventLog` holds COM2, the machine
channel, parsed into :mod:`labkit.events` dataclasses: the list so far and an async stream.

Both are fed by the machine's reader tasks and are plain objects otherwise, so tests feed them
by hand::

    >>> c = Console()
    >>> c.feed(b"hello, world\\n")
    >>> c.tail(1)
    'hello, world'
"""

from __future__ import annotations

import asyncio
import codecs
import re
from collections.abc import AsyncIterator, Callable
from typing import IO, TypeVar

from .errors import MachineStateError, WaitTimeout
from .events import (
    Event,
    ExitEvent,
    LoadErrorEvent,
    Milestone,
    PanicEvent,
    parse_event,
)

__all__ = ["Console", "EventLog"]

E = TypeVar("E", bound=Event)


class _Signal:
    """Wakes every waiter when something new arrives (loop-local, created lazily)."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def fire(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    def arm(self) -> asyncio.Event:
        """The event the next fire() sets. Take it *before* looking at the data: whatever
        arrives after that look will then wake the waiter (no lost wake-up)."""
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    async def wait(self) -> None:
        await self.arm().wait()


class Console:
    """COM1: everything the kernel and the app printed, as text.

    ``echo`` (a text stream such as ``sys.stdout``) receives the output as it arrives.
    """

    def __init__(self, echo: IO[str] | None = None) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending_cr = ""
        self._chunks: list[str] = []
        self._text = ""
        self._closed = False
        self._signal = _Signal()
        self._listeners: list[Callable[[str], None]] = []
        self._writer: Callable[[bytes], None] | None = None
        self.echo = echo

    # -- fed by the machine ------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Append raw bytes received from the serial line."""
        text = self._pending_cr + self._decoder.decode(data)
        self._pending_cr = ""
        if text.endswith("\r"):  # maybe half of a CR LF split across two reads
            text, self._pending_cr = text[:-1], "\r"
        if not text:
            return
        text = text.replace("\r\n", "\n")
        self._chunks.append(text)
        if self.echo is not None:
            self.echo.write(text)
            self.echo.flush()
        for listener in list(self._listeners):
            listener(text)
        self._signal.fire()

    def close(self) -> None:
        """The line closed (QEMU exited); wakes every waiter."""
        tail = self._pending_cr + self._decoder.decode(b"", final=True)
        self._pending_cr = ""
        if tail:
            self._chunks.append(tail)
            for listener in list(self._listeners):
                listener(tail)
        self._closed = True
        self._signal.fire()

    def attach_writer(self, writer: Callable[[bytes], None] | None) -> None:
        self._writer = writer

    # -- read by users -----------------------------------------------------------------------
    @property
    def text(self) -> str:
        """All text received so far."""
        if self._chunks:
            self._text += "".join(self._chunks)
            self._chunks.clear()
        return self._text

    @property
    def closed(self) -> bool:
        return self._closed

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines received (no trailing newline)."""
        return "\n".join(self.text.rstrip("\n").split("\n")[-lines:])

    def subscribe(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(text)`` for each new piece of output; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def send(self, data: str | bytes) -> None:
        """Type ``data`` into COM1 (the guest's standard input)."""
        if self._writer is None or self._closed:
            raise MachineStateError("console is not connected: the machine is not running")
        self._writer(data.encode() if isinstance(data, str) else data)

    def send_line(self, line: str) -> int:
        """Type one line (a newline is added) into COM1; returns the console text's length
        before it, the ``start`` to pass to :meth:`wait_for` for the reply."""
        start = len(self.text)
        self.send(line.rstrip("\n") + "\n")
        return start

    async def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 10.0,
                       start: int = 0, lines: bool = False) -> re.Match[str]:
        """Wait until ``pattern`` (a regex) appears in the text from offset ``start``; with
        ``lines``, only in whole lines (a line still arriving is not searched, so
        ``held (\\d+)`` never matches half a number). The wake-up is armed before the text is
        searched, so output that arrives in between is never missed.

        Returns the match. Raises :class:`WaitTimeout` after ``timeout`` seconds, or
        :class:`MachineStateError` if the machine stops first; both quote the console's tail.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            arrived = self._signal.arm()
            text = self.text
            match = regex.search(text, start, text.rfind("\n") + 1 if lines else len(text))
            if match:
                return match
            if self._closed:
                raise MachineStateError(
                    f"the machine stopped before {regex.pattern!r} appeared on the console;"
                    f" last lines:\n{self.tail(10)}")
            left = deadline - loop.time()
            if left <= 0:
                raise WaitTimeout(
                    f"{regex.pattern!r} did not appear on the console within {timeout:g} s;"
                    f" last lines:\n{self.tail(10)}")
            try:
                await asyncio.wait_for(arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Console {len(self.text)} chars{' closed' if self._closed else ''}>"


class EventLog:
    """COM2: the kernel's JSON events, parsed, in arrival order.

    ``events`` is the list so far; ``async for ev in log.stream()`` yields them (from the
    first one, then live) until the line closes.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._partial = b""
        self._closed = False
        self._signal = _Signal()
        self._listeners: list[Callable[[Event], None]] = []

    def feed(self, data: bytes) -> None:
        """Append raw bytes received from COM2; complete lines become events."""
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            if line.strip():
                self.add(parse_event(line))

    def add(self, event: Event) -> None:
        self.events.append(event)
        for listener in list(self._listeners):
            listener(event)
        self._signal.fire()

    def close(self) -> None:
        if self._partial.strip():
            self.add(parse_event(self._partial))
        self._partial = b""
        self._closed = True
        self._signal.fire()

    @property
    def closed(self) -> bool:
        return self._closed

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener(event)`` for each new event; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def stream(self, from_start: bool = True) -> AsyncIterator[Event]:
        """Yield events (the ones so far first, unless ``from_start`` is False) until COM2
        closes."""
        index = 0 if from_start else len(self.events)
        while True:
            while index < len(self.events):
                yield self.events[index]
                index += 1
            if self._closed:
                return
            await self._signal.wait()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.stream()

    async def wait_for(self, match: type[E] | Callable[[Event], bool], timeout: float = 10.0,
                       ) -> Event:
        """Wait for the first event (so far or later) that is of type ``match`` or for which
        ``match(event)`` is true. Raises :class:`WaitTimeout` or :class:`MachineStateError`."""
        pred = (lambda e: isinstance(e, match)) if isinstance(match, type) else match
        what = match.__name__ if isinstance(match, type) else "matching event"

        async def scan() -> Event:
            async for ev in self.stream():
                if pred(ev):
                    return ev
            raise MachineStateError(f"the machine stopped before a {what} arrived on COM2")

        try:
            return await asyncio.wait_for(scan(), timeout)
        except asyncio.TimeoutError:
            raise WaitTimeout(f"no {what} on COM2 within {timeout:g} s") from None

    async def wait_milestone(self, name: str, timeout: float = 10.0) -> Milestone:
        """Wait for the boot milestone ``name`` (see :data:`labkit.events.MILESTONES`)."""
        ev = await self.wait_for(lambda e: isinstance(e, Milestone) and e.name == name, timeout)
        assert isinstance(ev, Milestone)
        return ev

    # -- views ---------------------------------------------------------------------------------
    def of_type(self, kind: type[E], since: int = 0) -> list[E]:
        """Every event of one type so far, from index ``since`` of :attr:`events` on
        (``mark = len(log.events)`` before an experiment, ``of_type(K, since=mark)`` after)."""
        return [e for e in self.events[since:] if isinstance(e, kind)]

    @property
    def milestones(self) -> dict[str, Milestone]:
        """Milestones so far, by name."""
        return {e.name: e for e in self.of_type(Milestone)}

    @property
    def app_base(self) -> int | None:
        """The app's load base from the ``app_loaded`` milestone, once it arrived."""
        m = self.milestones.get("app_loaded")
        return m.base if m else None

    @property
    def exit(self) -> ExitEvent | None:
        found = self.of_type(ExitEvent)
        return found[-1] if found else None

    @property
    def panic(self) -> PanicEvent | None:
        found = self.of_type(PanicEvent)
        return found[-1] if found else None

    @property
    def load_error(self) -> LoadErrorEvent | None:
        found = self.of_type(LoadErrorEvent)
        return found[-1] if found else None

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        return f"<EventLog {len(self.events)} events{' closed' if self._closed else ''}>"

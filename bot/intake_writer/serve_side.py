"""Serve's end of the writer child: start it, send it deliveries, await their answers.

When the child dies, every delivery waiting for it and every new one is answered 503,
/healthz fails, and a new child starts after a short backoff (longer while it keeps
dying).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from bot.errors import PayloadError, QueueError
from bot.intake import Checked
from bot.intake_writer.protocol import (
    FIRST_BACKOFF,
    MAX_BACKOFF,
    MSG_DOWN,
    MSG_STOPPED,
    REAP_SECONDS,
    SOCKET_BUFFER,
    STABLE_SECONDS,
    STOP_SECONDS,
    FrameBuffer,
    Item,
    OnStored,
    Outcome,
    frame,
    writer_log,
)
from bot.store import (
    Accepted,
    NotStorable,
)


def writer_command() -> list[str]:
    return [sys.executable, "-m", "bot.intake_writer"]


class WriterProcess:
    """Serve's end of the writer child: sends deliveries, awaits their answers, restarts it.

    Everything here runs on the event loop: ``accept`` queues a delivery and sends the
    loop turn's deliveries in one frame; the answers of a commit come back in one frame
    and wake their requests. ``on_stored`` (metrics, waking the jobs) runs once per
    commit, before its answers.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        on_stored: OnStored | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self._env = dict(env)
        self._command = list(command or writer_command())
        self.on_stored = on_stored
        self._loop: asyncio.AbstractEventLoop | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._transport: asyncio.Transport | None = None
        self._waiting: dict[int, asyncio.Future[Accepted]] = {}
        self._outbox: list[Item] = []
        self._seq = 0
        self._started = 0.0
        self._backoff = FIRST_BACKOFF
        self._closing = False
        self._restart: asyncio.TimerHandle | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        """Start the child; call on the event loop that will serve the deliveries."""
        self._loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for sock in (ours, theirs):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        with theirs:
            self._process = subprocess.Popen(
                [*self._command, "--fd", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=self._env,
                stdin=subprocess.DEVNULL,
            )
        self._started = time.monotonic()
        transport, _ = await self._loop.create_unix_connection(lambda: _Link(self), sock=ours)
        self._transport = transport
        writer_log().info("intake_writer_started", pid=self._process.pid)

    def alive(self) -> bool:
        """False while no child runs: deliveries are answered 503, /healthz fails."""
        return (
            self._transport is not None
            and self._process is not None
            and self._process.poll() is None
        )

    async def accept(self, checked: Checked, now: float) -> Accepted:
        """Store one checked delivery; raise as the thread writer's ``accept`` does.

        :class:`PayloadError` when its JSON is not an object, :class:`NotStorable` for a
        row the store refuses, :class:`QueueError` when it could not be stored now.
        """
        if self._transport is None or self._loop is None:
            raise QueueError(MSG_DOWN)
        self._seq += 1
        future: asyncio.Future[Accepted] = self._loop.create_future()
        self._waiting[self._seq] = future
        if not self._outbox:
            self._loop.call_soon(self._flush)
        self._outbox.append((self._seq, checked.delivery_id, checked.event, now, checked.document))
        return await future

    def _flush(self) -> None:
        items, self._outbox = self._outbox, []
        if self._transport is not None and items:
            self._transport.write(frame(items))

    def answered(self, frames: list[Any]) -> None:
        for answers, tallies, any_new in frames:
            if self.on_stored is not None and (tallies or any_new):
                with suppress(Exception):  # metrics must never cost a delivery its answer
                    self.on_stored(tallies, any_new)
            for seq, outcome, text in answers:  # none in a frame that only says jobs loaded
                future = self._waiting.pop(seq, None)
                if future is not None and not future.done():
                    _settle(future, outcome, text)

    def lost(self) -> None:
        """The child's end closed: fail what waits for it, and start a new child later."""
        self._transport = None
        waiting, self._waiting = self._waiting, {}
        self._outbox = []
        for future in waiting.values():
            if not future.done():
                future.set_exception(QueueError(MSG_STOPPED))
        code = None if self._process is None else _reap(self._process)
        if self._closing or self._loop is None:
            return
        stable = time.monotonic() - self._started >= STABLE_SECONDS
        self._backoff = FIRST_BACKOFF if stable else min(self._backoff * 2, MAX_BACKOFF)
        delay = FIRST_BACKOFF if stable else self._backoff
        writer_log().warning(
            "intake_writer_exited", code=code, waiting=len(waiting), restart_in=delay
        )
        self._restart = self._loop.call_later(delay, self._start_again)

    def _start_again(self) -> None:
        if not self._closing and self._loop is not None:
            self._loop.create_task(self._start_or_retry())

    async def _start_or_retry(self) -> None:
        try:
            await self.start()
        except Exception:  # no process or no socket now (out of memory, of pids...)
            writer_log().exception("intake_writer_not_started")
            self._transport = None
            self.lost()

    async def stop(self) -> None:
        """On the event loop, after the last request: the child commits and ends."""
        self._closing = True
        if self._restart is not None:
            self._restart.cancel()
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Wait for the child to end (killing it if it will not); any thread."""
        self._closing = True
        if self._process is None:
            return
        try:
            self._process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(STOP_SECONDS)


def _reap(process: subprocess.Popen[bytes]) -> int | None:
    """The child closed its end: it is exiting (or deaf, and would never answer again)."""
    try:
        return process.wait(REAP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
    with suppress(subprocess.TimeoutExpired):
        return process.wait(REAP_SECONDS)
    return None


def _settle(future: asyncio.Future[Accepted], outcome: str, text: str) -> None:
    if outcome in (Outcome.ACCEPTED, Outcome.DUPLICATE):
        future.set_result(Accepted(new=outcome == Outcome.ACCEPTED, trace_id=text))
    elif outcome == Outcome.BAD_PAYLOAD:
        future.set_exception(PayloadError(text))
    elif outcome == Outcome.NOT_STORABLE:
        future.set_exception(NotStorable(text))
    else:
        future.set_exception(QueueError(text))


class _Link(asyncio.Protocol):
    def __init__(self, writer: WriterProcess) -> None:
        self._writer = writer
        self._frames = FrameBuffer()

    def data_received(self, data: bytes) -> None:
        self._writer.answered(self._frames.feed(data))

    def connection_lost(self, exc: Exception | None) -> None:
        self._writer.lost()

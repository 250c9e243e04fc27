"""The loader process: acknowledged journal records into SQLite, behind the answers.

The writer child answers a batch once it is appended to the intake journal and
fdatasynced, then tells this process (its own child) how far the segment is durable.
The loader reads those bytes back from the segment file (still in the page cache),
inserts their rows in larger transactions with ``synchronous=NORMAL``, tells the writer
how far it has loaded (the writer then forgets those delivery ids, and wakes serve's
workers when new jobs are there), relays the routing jobs to Redis when the queue is
there, and deletes a sealed segment once a commit with the store's durability holds
all of it.

It is a process of its own, at a lower priority, so that loading holds neither the
writer's interpreter lock nor a CPU while deliveries wait for their answers: under a
burst the journal takes deliveries at the writer's pace and the loader catches up.

Frames (:func:`bot.intake_writer.protocol.frame`): to the loader, a list of
``(segment path, durable end, sealed)``; from it, ``(segment path, end, any new)``,
meaning every record up to that end of that segment, and of every older segment,
is loaded.

It runs as ``python -m bot.intake_writer loader``. When the writer stops, it closes
the socket: the loader loads what it was told about and ends, and the writer waits
for that. When the writer is killed, the kernel kills the loader too
(``PR_SET_PDEATHSIG``), and whoever takes the writer's lock on the journal next
replays what was not loaded. The loader does not hold that lock: a process at idle
priority can take long to finish dying on a busy machine, and the lock must go with
the writer. A transaction the dying loader still commits meanwhile is harmless
(loading is idempotent), and it deletes only segments whose every row is durable.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from bot import journal
from bot.errors import QueueError
from bot.intake_writer.protocol import (
    CHECKPOINT_QUIET_SECONDS,
    HOLD_LOADS_ENV,
    LOAD_CHECKPOINT_MAX,
    LOAD_GATHER_SECONDS,
    LOADER_ARG,
    LOADER_FINISH_SECONDS,
    LOADER_NICENESS,
    SOCKET_BUFFER,
    Receiver,
    frame,
    writer_log,
)
from bot.parent import bind_to_parent
from bot.priority import run_in_background
from bot.store import DB_NAME, Store, load_records

Note = tuple[str, int, bool]  # segment path, bytes durable, sealed (no more appends)
Loaded = tuple[str, int, bool]  # segment path, bytes loaded, any new routing job


class Loader:
    """Load what the writer says is durable; the process's whole work (``run``)."""

    def __init__(
        self,
        sock: socket.socket,
        store: Store,
        relay: Callable[[], object] | None = None,
        hold: bool = False,
        gather: float = LOAD_GATHER_SECONDS,
    ) -> None:
        self._sock = sock
        self._store = store
        self._relay = relay
        self._hold = hold
        self._gather = gather
        self._receiver = Receiver(sock)
        self._loaded: dict[str, int] = {}  # bytes of each segment loaded so far
        self._files: dict[str, int] = {}
        self._since_checkpoint = 0
        self._writer_gone = False

    def run(self) -> None:
        """Until the writer's end closes, and what it announced before is loaded."""
        try:
            while True:
                if self._since_checkpoint and not self._readable(CHECKPOINT_QUIET_SECONDS):
                    self._checkpoint()  # deliveries paused: the WAL goes to the database now
                    continue
                frames = self._receiver.frames(wait=True)
                if frames is None:
                    return
                if self._hold:  # tests: a writer killed before its loader caught up
                    continue
                time.sleep(self._gather)  # a larger transaction: less SQLite work each
                frames += self._receiver.frames() or []
                notes = [note for found in frames for note in found]
                if notes:
                    self._load(notes)
        finally:
            for fd in self._files.values():
                os.close(fd)

    def _readable(self, timeout: float) -> bool:
        return bool(select.select([self._sock], [], [], timeout)[0])

    def _checkpoint(self) -> None:
        self._since_checkpoint = 0
        with suppress(QueueError):  # the next one copies what this one missed
            self._store.checkpoint()

    def _load(self, notes: Sequence[Note]) -> None:
        records: list[journal.Record] = []
        sealed: list[str] = []
        for path, end, is_sealed in notes:
            start = self._loaded.get(path, 0)
            if end > start:
                records.extend(journal.decode(self._read(path, start, end)))
                self._loaded[path] = end
            if is_sealed:
                sealed.append(path)
        stored = load_records(self._store, records, durable=False) if records else []
        path, end, _ = notes[-1]
        self._send((path, end, bool(stored)))
        if stored and self._relay is not None:
            try:
                self._relay()
            except Exception:  # the rows wait in the store for the next sweep
                writer_log().warning("intake_relay_failed", exc_info=True)
        if sealed:
            self._store.sync()  # every load so far durable in SQLite: the segments may go
            for one in sealed:
                self._forget(one)
        self._since_checkpoint += len(records)
        if self._since_checkpoint >= LOAD_CHECKPOINT_MAX:
            self._checkpoint()  # no pause came: the WAL must not grow without end

    def _read(self, path: str, start: int, end: int) -> bytes:
        fd = self._files.get(path)
        if fd is None:
            fd = self._files[path] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        parts: list[bytes] = []
        while start < end and (part := os.pread(fd, end - start, start)):
            parts.append(part)
            start += len(part)
        return b"".join(parts)

    def _forget(self, path: str) -> None:
        fd = self._files.pop(path, None)
        if fd is not None:
            os.close(fd)
        self._loaded.pop(path, None)
        with suppress(FileNotFoundError):
            os.unlink(path)

    def _send(self, loaded: Loaded) -> None:
        if self._writer_gone:
            return
        try:
            self._sock.sendall(frame(loaded))
        except OSError:
            self._writer_gone = True  # it ended; what is loaded stays loaded


class LoaderProcess:
    """The writer's handle on its loader: start it, tell it what is durable, hear back."""

    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._env = dict(os.environ if env is None else env)
        self._process: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self._receiver: Receiver | None = None

    def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for sock in (ours, theirs):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        command = [sys.executable, "-m", "bot.intake_writer", LOADER_ARG]
        command += ["--fd", str(theirs.fileno()), "--data-dir", str(self._data_dir)]
        command += ["--parent-pid", str(os.getpid())]
        with theirs:
            self._process = subprocess.Popen(
                command, pass_fds=[theirs.fileno()], env=self._env, stdin=subprocess.DEVNULL
            )
        self.sock = ours
        self._receiver = Receiver(ours)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def tell(self, notes: list[Note]) -> None:
        assert self.sock is not None
        self.sock.sendall(frame(notes))

    def heard(self) -> list[Loaded] | None:
        """What the loader said since the last call (without waiting); None at its end."""
        assert self._receiver is not None
        return self._receiver.frames()

    def finish(self, seconds: float = LOADER_FINISH_SECONDS) -> list[Loaded]:
        """No more notes: the loader loads what it has and ends; what it said meanwhile.

        It gets ``seconds``: at idle priority on a busy machine it could take long, and
        the writer's lock on the journal (which the next writer waits for) goes only
        when the writer ends. What it had not loaded by then is replayed by the next
        writer, at the start, at normal priority.
        """
        deadline = time.monotonic() + seconds
        said: list[Loaded] = []
        if self.sock is not None and self._receiver is not None:
            with suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)
            while select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
                if (more := self._receiver.frames()) is None:
                    break
                said.extend(more)
            self.sock.close()
        if self._process is not None:
            try:
                self._process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                writer_log().warning("intake_loader_stopped", left_to_replay=True)
                self._process.kill()
                self._process.wait()
        return said


def relay_for(settings: Any, store: Store) -> Callable[[], object] | None:
    """With ``TECHLEAD_QUEUE_URL``: what moves committed routing jobs to Redis."""
    if settings.queue_url is None:
        return None
    import secrets

    from bot.context import SystemClock
    from bot.redis_queue import DeliveryRelay, RedisDeliveries, RedisJobQueue

    queue = RedisJobQueue.from_url(settings.queue_url, SystemClock(), lambda: secrets.token_hex(16))
    return DeliveryRelay(store, queue, RedisDeliveries(queue.client)).sweep


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from bot.log import configure_logging
    from bot.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True, help="the socket the writer passed")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int, required=True, help="the writer's pid")
    args = parser.parse_args(argv)
    # A writer killed takes its loader along: whoever takes the journal's lock next
    # replays what was not loaded yet.
    if not bind_to_parent(args.parent_pid):
        return 0
    # Serve's signals are for serve: this process ends when the writer closes the socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    settings = Settings.from_env(os.environ)
    run_in_background(LOADER_NICENESS, settings.background_priority)  # answers first
    configure_logging(settings)
    sock = socket.socket(fileno=args.fd)
    store = Store(args.data_dir / DB_NAME)  # made, and its journal replayed, by the writer
    try:
        store.manual_checkpoints()  # its own: small ones, after pauses (see Loader.run)
        hold = os.environ.get(HOLD_LOADS_ENV) == "1"
        Loader(sock, store, relay_for(settings, store), hold=hold).run()
    finally:
        store.close()
        sock.close()
    return 0

"""The delivery writer process: webhook deliveries are parsed and committed beside serve.

``techlead serve`` answers webhooks on one event loop. Storing a delivery (parsing its
JSON, building its routing job, two SQLite inserts and the fsync of a group commit)
costs that loop's interpreter more than everything else a delivery needs, so serve
checks the headers and the signature, hands the delivery to this child process over a
Unix socket, and answers once the child says the commit holding it is durable.

Frames, both ways, are a 4-byte little-endian length and a pickle (both ends are this
module, started together):

- to the child: a list of ``(seq, delivery id, event, received at, JSON document)``,
  the deliveries the event loop checked in one of its turns;
- to serve: ``(answers, tallies, any new)`` per group commit; an answer is
  ``(seq, outcome, text)`` where ``text`` is the trace id of a stored delivery or the
  reason for a refusal; a tally is ``(event, action, outcome)`` of a stored delivery,
  for the metrics.

The child reads whatever has arrived, appends the new deliveries' rows to the intake
journal (:mod:`bot.journal`), and once one fdatasync holds them, logs them and writes
the answers of the whole batch in one frame; a loader thread then moves them into
SQLite, and sends serve ``([], [], True)`` when new routing jobs are there for its
workers. It stops at the end of its socket (serve stopped, or was killed) once it has
loaded what it had acknowledged; a delivery serve never answered was never
acknowledged, and one acknowledged but not loaded when the child died is in the
journal, which the next child (or anyone opening the store) loads first. When the child dies,
serve answers 503 to every delivery waiting for it and to new ones, /healthz fails, and
serve starts a new child after a short backoff (longer while it keeps dying).
"""

from __future__ import annotations

import asyncio
import enum
import os
import pickle
import queue
import secrets
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bot.store
from bot import intake, journal
from bot.errors import PayloadError, QueueError
from bot.intake import Checked, Delivery
from bot.jobs import JobSpec
from bot.router import ROUTE_KIND
from bot.store import (
    MAX_BATCH,
    Accepted,
    NotStorable,
    Store,
    commit_batch,
    load_records,
    load_segments,
)

HEADER = struct.Struct("<I")
SOCKET_BUFFER = 4 * 1024 * 1024
READ_CHUNK = 1024 * 1024
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
STABLE_SECONDS = 10.0  # a child that lived this long was not crash-looping
STOP_SECONDS = 10.0
REAP_SECONDS = 0.5
SWITCH_INTERVAL = 0.0005
# Deliveries between two checkpoints run by the writer itself (about 4 MB of WAL).
CHECKPOINT_EVERY = 256
# A side thread's checkpoints, so that the writer's own have only a tail left to copy
# and to sync: the bulk of the copying and of the database file's fsync happens
# beside the commits instead of between them.
SIDE_CHECKPOINT_SECONDS = 0.1
# Deliveries the loader commits between two of its checkpoints (about 16 MB of WAL):
# nothing waits for them, so fewer and larger ones, each with its fsyncs.
LOAD_CHECKPOINT_EVERY = 1024
# Nothing to load for this long: the loader retires the loaded segment (see Journal).
LOADER_IDLE_SECONDS = 5.0
# The loader waits this long after the first synced batch for more to load together.
LOAD_GATHER_SECONDS = 0.005
# "off": commit each batch to SQLite before answering it, without the journal.
JOURNAL_ENV = "TECHLEAD_INTAKE_JOURNAL"
# Tests only: "1" makes the loader never load (a writer killed before it caught up).
HOLD_LOADS_ENV = "TECHLEAD_TEST_HOLD_LOADS"
MSG_DOWN = "the delivery writer process is not running"
MSG_STOPPED = "the delivery writer process stopped before storing the delivery"

Item = tuple[int, str, str, float, bytes]  # seq, delivery id, event, received at, document
Answer = tuple[int, str, str]  # seq, outcome, trace id or reason
Tally = tuple[str, str | None, str]  # event, action, outcome
OnStored = Callable[[list[Tally], bool], None]


class Outcome(enum.StrEnum):
    """What the child did with one delivery."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    BAD_PAYLOAD = "bad_payload"  # not a JSON object: answered 400, not stored
    NOT_STORABLE = "not_storable"  # a row the store refuses: answered 400, not stored
    FAILED = "store_failed"  # the store or the queue failed: answered 503


def route_spec(delivery: Delivery, trace_id: str) -> JobSpec:
    """The job that routes a delivery; its dedupe key makes storing it idempotent."""
    return JobSpec(
        kind=ROUTE_KIND,
        payload={"delivery_id": delivery.delivery_id},
        dedupe_key=f"{ROUTE_KIND}:{delivery.delivery_id}",
        installation_id=delivery.envelope.installation_id,
        delivery_id=delivery.delivery_id,
        trace_id=trace_id,
    )


def frame(value: object) -> bytes:
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


class FrameBuffer:
    """Bytes read from the socket, cut into the frames they complete."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, chunk: bytes | memoryview) -> list[Any]:
        self._data += chunk
        found: list[Any] = []
        start = 0
        while len(self._data) - start >= HEADER.size:
            (size,) = HEADER.unpack_from(self._data, start)
            end = start + HEADER.size + size
            if end > len(self._data):
                break
            found.append(pickle.loads(memoryview(self._data)[start + HEADER.size : end]))  # noqa: S301
            start = end
        del self._data[:start]
        return found


# -- serve's side ----------------------------------------------------------------------


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
        _log().info("intake_writer_started", pid=self._process.pid)

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
        _log().warning("intake_writer_exited", code=code, waiting=len(waiting), restart_in=delay)
        self._restart = self._loop.call_later(delay, self._start_again)

    def _start_again(self) -> None:
        if not self._closing and self._loop is not None:
            self._loop.create_task(self._start_or_retry())

    async def _start_or_retry(self) -> None:
        try:
            await self.start()
        except Exception:  # no process or no socket now (out of memory, of pids...)
            _log().exception("intake_writer_not_started")
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


def _log() -> Any:
    from bot.log import get_logger  # structlog, configured by serve

    return get_logger(component="intake_writer")


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


# -- the child -------------------------------------------------------------------------


@dataclass
class Batch:
    """What the child answers for one group commit."""

    answers: list[Answer]
    tallies: list[Tally]
    traces: dict[str, str]  # delivery id -> trace id, of each delivery stored

    @property
    def any_new(self) -> bool:
        return any(outcome == Outcome.ACCEPTED for _, _, outcome in self.tallies)

    def log_line(self) -> tuple[str, dict[str, Any]]:
        """One line per commit; it names every delivery in it, with its trace id."""
        new = sum(1 for _, _, outcome in self.tallies if outcome == Outcome.ACCEPTED)
        fields = {"accepted": new, "duplicate": len(self.tallies) - new, "traces": self.traces}
        return "deliveries_stored", fields


def trace_ids(count: int) -> list[str]:
    """Fresh random trace ids (W3C format: 16 bytes, hex), one read of the kernel for all."""
    raw = os.urandom(16 * count).hex()
    return [raw[start : start + 32] for start in range(0, 32 * count, 32)]


@dataclass
class Prepared:
    """Deliveries read and ready to store, and the answers to those refused already."""

    stored: list[tuple[int, Delivery, JobSpec]]
    refused: list[Answer]
    now: float = 0.0

    def extend(self, other: Prepared) -> None:
        self.stored.extend(other.stored)
        self.refused.extend(other.refused)
        self.now = max(self.now, other.now)

    def __len__(self) -> int:
        return len(self.stored) + len(self.refused)


def prepare(items: Sequence[Item], new_ids: Callable[[int], list[str]] = trace_ids) -> Prepared:
    """Read each delivery's routing facts and build its routing job (no I/O)."""
    ready = Prepared([], [], max((item[3] for item in items), default=0.0))
    fresh = iter(new_ids(len(items)))
    for seq, delivery_id, event, _, document in items:
        try:
            delivery = intake.parse_for_storage(Checked(delivery_id, event, document))
        except PayloadError as exc:
            ready.refused.append((seq, Outcome.BAD_PAYLOAD.value, str(exc)))
            continue
        ready.stored.append((seq, delivery, route_spec(delivery, next(fresh))))
    return ready


def commit_prepared(
    store: Store, ready: Prepared, relay: Callable[[], object] | None = None
) -> Batch:
    """Store prepared deliveries in one durable transaction and say how it went."""
    batch = Batch(list(ready.refused), [], {})
    if not ready.stored:
        return batch
    pairs = [(delivery, route) for _, delivery, route in ready.stored]
    outcomes = commit_batch(store, pairs, ready.now, relay)
    for (seq, delivery, _), result in zip(ready.stored, outcomes, strict=True):
        batch.answers.append((seq, *_answer(result)))
        if isinstance(result, Accepted):
            _record(batch, delivery, result)
    return batch


def commit_items(
    store: Store,
    items: Sequence[Item],
    new_ids: Callable[[int], list[str]] = trace_ids,
    relay: Callable[[], object] | None = None,
) -> Batch:
    """Parse, store and answer a batch of deliveries in one durable transaction."""
    return commit_prepared(store, prepare(items, new_ids), relay)


def _answer(result: Accepted | Exception) -> tuple[str, str]:
    """Plain strings: the answers are pickled, and the child runs this module as __main__."""
    if isinstance(result, Accepted):
        return (Outcome.ACCEPTED if result.new else Outcome.DUPLICATE).value, result.trace_id
    if isinstance(result, NotStorable):
        return Outcome.NOT_STORABLE.value, str(result)
    return Outcome.FAILED.value, str(result)


def _record(batch: Batch, delivery: Delivery, accepted: Accepted) -> None:
    outcome = Outcome.ACCEPTED if accepted.new else Outcome.DUPLICATE
    batch.tallies.append((delivery.event, delivery.envelope.action, outcome.value))
    batch.traces[delivery.delivery_id] = accepted.trace_id


class Inbox:
    """The child's end of the socket, read and prepared on a thread of its own.

    Reading the routing facts of the next deliveries then happens while the commit
    of the previous ones waits for its fsync (SQLite lets go of the GIL meanwhile),
    not after it.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._ready: queue.SimpleQueue[Prepared | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._read, name="intake-inbox", daemon=True)
        self._closed = False

    def start(self) -> Inbox:
        self._thread.start()
        return self

    def batch(self) -> Prepared | None:
        """What has arrived (at least one delivery); None once serve hung up."""
        if self._closed or (first := self._ready.get()) is None:
            return None
        while len(first) < MAX_BATCH and not self._ready.empty():
            more = self._ready.get()
            if more is None:
                self._closed = True
                break
            first.extend(more)
        return first

    def _read(self) -> None:
        frames = FrameBuffer()
        # One buffer for every read: a fresh 1 MB one each time would be mapped, faulted
        # in page by page and unmapped again by the allocator.
        buffer = bytearray(READ_CHUNK)
        view = memoryview(buffer)
        try:
            while size := self._sock.recv_into(buffer):
                for items in frames.feed(view[:size]):
                    self._ready.put(_prepared(items))
        except OSError:
            pass  # serve is gone: as the end of the stream
        finally:
            self._ready.put(None)


def _prepared(items: Sequence[Item]) -> Prepared:
    try:
        return prepare(items)
    except Exception as exc:  # last line of defence: these are answered, the rest goes on
        failed = f"store failed: {exc}"
        return Prepared([], [(item[0], Outcome.FAILED.value, failed) for item in items])


def run_direct(
    sock: socket.socket, store: Store, relay: Callable[[], object] | None = None
) -> None:
    """Without the journal: commit each batch to SQLite durably, then answer it."""
    from bot.log import info_lines  # structlog: only in the child

    inbox = Inbox(sock).start()
    since_checkpoint = 0
    while (ready := inbox.batch()) is not None:
        try:
            batch = commit_prepared(store, ready, relay)
        except Exception as exc:  # last line of defence: answer, and take the next batch
            failed = f"store failed: {exc}"
            seqs = [seq for seq, _, _ in ready.stored] + [seq for seq, _, _ in ready.refused]
            batch = Batch([(seq, Outcome.FAILED.value, failed) for seq in seqs], [], {})
        if batch.traces:
            with suppress(Exception):  # a log line must never cost a delivery its answer
                info_lines([batch.log_line()])
        try:
            sock.sendall(frame((batch.answers, batch.tallies, batch.any_new)))
        except OSError:
            return  # serve is gone; what was committed stays committed
        since_checkpoint += len(ready)
        if since_checkpoint >= CHECKPOINT_EVERY:
            since_checkpoint = 0
            with suppress(QueueError):  # the side thread's checkpoints go on
                store.checkpoint()


# -- the journal: acknowledge once appended and fdatasynced, load SQLite behind -------


def journal_batch(
    ready: Prepared, known: Callable[[list[str]], dict[str, str]]
) -> tuple[Batch, list[journal.Record]]:
    """Answers for prepared deliveries, and the journal records of the new ones.

    ``known`` gives the trace id of each delivery id already stored or journaled: those
    are duplicates, answered with their first trace id and not journaled again. A row
    the store would refuse is refused here, before anything is acknowledged.
    """
    batch = Batch(list(ready.refused), [], {})
    records: list[journal.Record] = []
    seen = known(list(dict.fromkeys(delivery.delivery_id for _, delivery, _ in ready.stored)))
    for seq, delivery, route in ready.stored:
        trace = seen.get(delivery.delivery_id)
        if trace is None:
            try:
                record = store_rows(delivery, route, ready.now)
            except Exception as exc:
                batch.answers.append((seq, Outcome.NOT_STORABLE.value, str(exc)))
                continue
            records.append(record)
            seen[delivery.delivery_id] = trace = route.trace_id or ""
            accepted = Accepted(new=True, trace_id=trace)
        else:
            accepted = Accepted(new=False, trace_id=trace)
        batch.answers.append((seq, *_answer(accepted)))
        _record(batch, delivery, accepted)
    return batch, records


def store_rows(delivery: Delivery, route: JobSpec, now: float) -> journal.Record:
    """The rows the store inserts for a delivery, checked that SQLite can bind them."""
    record = (
        bot.store._delivery_row(delivery, route.trace_id or "", now),
        bot.store._job_row(route, now),
    )
    for row in record:
        for value in row:
            _bindable(value)
    return record


def _bindable(value: object) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # a lone surrogate cannot be stored
    elif isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")
    elif not isinstance(value, (int, float, bytes, type(None))):
        raise TypeError(f"SQLite cannot store a {type(value).__name__}")


class Known:
    """Trace ids of the delivery ids journaled but not loaded yet, and of the store's.

    The journal is looked at before the store: a delivery leaves it only once its load
    committed, so a delivery id between the two is found in one or the other.
    """

    def __init__(self, db_path: Path) -> None:
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            f"file:{db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )

    def __call__(self, delivery_ids: list[str]) -> dict[str, str]:
        with self._lock:
            found = {one: self._pending[one] for one in delivery_ids if one in self._pending}
        rest = [one for one in delivery_ids if one not in found]
        if rest:
            found.update(bot.store._known_traces(self._conn, rest))
        return found

    def journaled(self, traces: Mapping[str, str]) -> None:
        with self._lock:
            self._pending.update(traces)

    def loaded(self, delivery_ids: Sequence[str]) -> None:
        with self._lock:
            for one in delivery_ids:
                self._pending.pop(one, None)

    def close(self) -> None:
        self._conn.close()


@dataclass
class Synced:
    """A batch appended to the journal, waiting for its fdatasync and then its load."""

    segment: journal.Segment | None  # None when nothing of the batch was new
    records: list[journal.Record]
    batch: Batch


class JournalWriter:
    """The writer process with the journal: three threads besides the inbox's.

    - this one (``run``): appends each prepared batch to the journal, unsynced;
    - the syncer: one fdatasync for whatever was appended meanwhile (the next batch is
      appended while the previous sync runs), then the answers and the log line;
    - the loader: the synced records into SQLite in larger transactions with
      ``synchronous=NORMAL``, then wakes serve's workers and relays to Redis; a segment
      is deleted after a commit with the store's durability made its rows durable.

    A thread that cannot go on ends the process: serve answers 503 and starts a new
    one, which loads what the journal holds first.
    """

    def __init__(
        self,
        sock: socket.socket,
        store: Store,
        directory: Path,
        relay: Callable[[], object] | None = None,
        hold_loads: bool = False,
        idle_seconds: float = LOADER_IDLE_SECONDS,
    ) -> None:
        self._sock = sock
        self._idle_seconds = idle_seconds
        self._store = store
        self._journal = journal.Journal(directory)
        self._known = Known(store.path)
        self._relay = relay
        self._hold_loads = hold_loads
        self._send_lock = threading.Lock()
        self._to_sync: queue.SimpleQueue[Synced | None] = queue.SimpleQueue()
        self._to_load: queue.SimpleQueue[list[Synced] | None] = queue.SimpleQueue()
        self._serve_gone = False

    def run(self) -> None:
        """Until serve hangs up; then what was acknowledged is loaded before returning."""
        syncer = threading.Thread(target=self._guard, args=(self._sync_loop,), name="sync")
        loader = threading.Thread(target=self._guard, args=(self._load_loop,), name="load")
        syncer.start()
        loader.start()
        inbox = Inbox(self._sock).start()
        while (ready := inbox.batch()) is not None:
            self._to_sync.put(self._append(ready))
        self._journal.seal()
        self._to_sync.put(None)
        syncer.join()
        loader.join()
        self._known.close()

    def _append(self, ready: Prepared) -> Synced:
        try:
            batch, records = journal_batch(ready, self._known)
        except Exception as exc:  # last line of defence: answer, and take the next batch
            failed = f"store failed: {exc}"
            seqs = [seq for seq, _, _ in ready.stored] + [seq for seq, _, _ in ready.refused]
            batch, records = (
                Batch([(seq, Outcome.FAILED.value, failed) for seq in seqs], [], {}),
                [],
            )
        segment = None
        if records:
            self._known.journaled({row[0]: row[5] for row, _ in records})
            segment = self._journal.append(records)
        return Synced(segment, records, batch)

    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except BaseException:
            with suppress(Exception):
                _log().exception("intake_writer_thread_failed")
            os._exit(70)  # serve starts a new writer, which loads the journal first

    def _sync_loop(self) -> None:
        end = False
        while not end:
            group = [self._to_sync.get()]
            while not self._to_sync.empty():
                group.append(self._to_sync.get())
            end = group[-1] is None
            synced = [one for one in group if one is not None]
            if synced:
                self._sync(synced)
        self._to_load.put(None)

    def _sync(self, group: list[Synced]) -> None:
        """One fdatasync for the group, then its answers, then on to the loader."""
        from bot.log import info_lines  # structlog: only in the child

        for fd in dict.fromkeys(one.segment.fd for one in group if one.segment is not None):
            os.fdatasync(fd)
        merged = _merged([one.batch for one in group])
        if merged.traces:
            with suppress(Exception):  # a log line must never cost a delivery its answer
                info_lines([merged.log_line()])
        self._send((merged.answers, merged.tallies, False))
        self._to_load.put(group)

    def _send(self, value: object) -> None:
        if self._serve_gone:
            return
        with self._send_lock:
            try:
                self._sock.sendall(frame(value))
            except OSError:
                self._serve_gone = True  # what is journaled stays journaled, and is loaded

    def _load_loop(self) -> None:
        live: dict[Path, journal.Segment] = {}
        since_checkpoint = 0
        done = False
        while not done:
            try:
                groups = [self._to_load.get(timeout=self._idle_seconds)]
            except queue.Empty:  # quiet: the segment loaded so far can go now
                self._journal.retire_if_loaded()
                self._drop_finished(live)
                continue
            time.sleep(LOAD_GATHER_SECONDS)  # a larger transaction: less SQLite work each
            while not self._to_load.empty():
                groups.append(self._to_load.get())
            done = groups[-1] is None
            synced = [one for group in groups if group is not None for one in group]
            while self._hold_loads:
                time.sleep(1.0)  # tests: a writer killed before its loader caught up
            since_checkpoint += self._load(synced, live)
            self._drop_finished(live)
            if since_checkpoint >= LOAD_CHECKPOINT_EVERY:
                since_checkpoint = 0
                with suppress(QueueError):  # the next one copies what this one missed
                    self._store.checkpoint()

    def _load(self, synced: list[Synced], live: dict[Path, journal.Segment]) -> int:
        held = [(one.segment, one.records) for one in synced if one.segment is not None]
        records = [record for _, part in held for record in part]
        if not records:
            return 0
        stored = load_records(self._store, records, durable=False)
        self._known.loaded([row[0] for row, _ in records])
        for segment, part in held:
            live.setdefault(segment.path, segment)
            segment.loaded += len(part)
        if stored:
            self._send(([], [], True))  # serve's workers find the new jobs now
            if self._relay is not None:
                try:
                    self._relay()
                except Exception:  # the rows wait in the store for the next sweep
                    _log().warning("intake_relay_failed", exc_info=True)
        return len(records)

    def _drop_finished(self, live: dict[Path, journal.Segment]) -> None:
        finished = [path for path, segment in live.items() if segment.finished()]
        if not finished:
            return
        self._store.sync()  # every load so far durable in SQLite: the segments may go
        for path in finished:
            live.pop(path).remove()


def _merged(batches: list[Batch]) -> Batch:
    merged = Batch([], [], {})
    for batch in batches:
        merged.answers.extend(batch.answers)
        merged.tallies.extend(batch.tallies)
        merged.traces.update(batch.traces)
    return merged


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    import argparse

    from bot.log import configure_logging
    from bot.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True, help="the socket serve passed")
    args = parser.parse_args(argv)
    # Serve's signals are for serve: this process ends when serve closes the socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The commit loop wins the GIL back from the reading thread after each SQLite call
    # within this, not the default 5 ms: that wait would be every answer's.
    sys.setswitchinterval(SWITCH_INTERVAL)
    source = os.environ if env is None else env
    settings = Settings.from_env(source)
    configure_logging(settings)
    sock = socket.socket(fileno=args.fd)
    data_dir = Path(settings.data_dir)
    directory = journal.journal_dir(data_dir)
    lock = journal.take_lock(directory)  # a writer still ending goes first
    store = Store.open(data_dir)
    try:
        load_segments(store, directory)  # what a writer that died acknowledged
        relay = _relay(settings, store)
        if source.get(JOURNAL_ENV, "on") == "off":
            store.start_checkpoints(SIDE_CHECKPOINT_SECONDS)
            run_direct(sock, store, relay)
        else:
            store.manual_checkpoints()  # the loader's own, off the answers' path
            hold = source.get(HOLD_LOADS_ENV) == "1"
            JournalWriter(sock, store, directory, relay, hold_loads=hold).run()
    finally:
        store.close()
        sock.close()
        os.close(lock)
    return 0


def _relay(settings: Any, store: Store) -> Callable[[], object] | None:
    """With ``TECHLEAD_QUEUE_URL``: what moves committed routing jobs to Redis."""
    if settings.queue_url is None:
        return None
    from bot.context import SystemClock
    from bot.redis_queue import DeliveryRelay, RedisDeliveries, RedisJobQueue

    queue = RedisJobQueue.from_url(settings.queue_url, SystemClock(), lambda: secrets.token_hex(16))
    return DeliveryRelay(store, queue, RedisDeliveries(queue.client)).sweep


if __name__ == "__main__":
    raise SystemExit(main())

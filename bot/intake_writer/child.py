"""The writer child: read deliveries from serve, make them durable, answer.

Two ways to make a batch durable before answering it: append it to the intake journal
(:mod:`bot.journal`) and fdatasync, the loader process moving it into SQLite behind
the answers (the default); or, with ``TECHLEAD_INTAKE_JOURNAL=off``, commit it to
SQLite first. :func:`main` is the process (``python -m bot.intake_writer``).
"""

from __future__ import annotations

import collections
import os
import queue
import selectors
import signal
import socket
import sqlite3
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bot.store
from bot import intake, journal
from bot.errors import PayloadError, QueueError
from bot.intake import Checked, Delivery
from bot.intake_writer.loader import Loaded, LoaderProcess, Note, relay_for
from bot.intake_writer.protocol import (
    CHECKPOINT_EVERY,
    JOURNAL_ENV,
    LOADER_FINISH_SECONDS,
    LOADER_IDLE_SECONDS,
    READ_CHUNK,
    SIDE_CHECKPOINT_SECONDS,
    SWITCH_INTERVAL,
    Answer,
    FrameBuffer,
    Item,
    Outcome,
    Receiver,
    Tally,
    frame,
    route_spec,
)
from bot.jobs import JobSpec
from bot.store import (
    MAX_BATCH,
    Accepted,
    NotStorable,
    Store,
    commit_batch,
    load_segments,
)


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


class Reader:
    """The child's end of serve's socket, read without waiting when the selector says so."""

    def __init__(self, sock: socket.socket) -> None:
        self._receiver = Receiver(sock)

    def read(self) -> list[Item] | None:
        """The deliveries of every whole frame there (maybe none yet); None at the end."""
        frames = self._receiver.frames()
        return None if frames is None else [item for items in frames for item in items]


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
        self._conn = sqlite3.connect(
            f"file:{db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )

    def __call__(self, delivery_ids: list[str]) -> dict[str, str]:
        found = {one: self._pending[one] for one in delivery_ids if one in self._pending}
        rest = [one for one in delivery_ids if one not in found]
        if rest:
            found.update(bot.store._known_traces(self._conn, rest))
        return found

    def journaled(self, traces: Mapping[str, str]) -> None:
        self._pending.update(traces)

    def loaded(self, delivery_ids: Sequence[str]) -> None:
        for one in delivery_ids:
            self._pending.pop(one, None)

    def close(self) -> None:
        self._conn.close()


@dataclass
class Pending:
    """Delivery ids journaled up to ``end`` of segment ``number``, not yet loaded."""

    number: int
    end: int
    delivery_ids: list[str]


class JournalWriter:
    """The writer process with the journal, on one thread, and its loader process.

    For each batch serve sends: read the routing facts, refuse what must be refused,
    append the new deliveries' rows to the journal, one fdatasync, log and answer the
    batch, then tell the loader (:mod:`bot.intake_writer.loader`) how far the segment is
    durable. Nothing else runs in this process, so no other thread takes the
    interpreter from the answers; the next batch gathers in the socket meanwhile.

    The loader says how far it has loaded: those delivery ids are forgotten (the store
    has them now) and serve hears that new jobs are there. A segment is sealed when a
    newer one takes over, when nothing came for ``idle_seconds`` and all of it is
    loaded, and when the writer stops; the loader deletes a sealed segment once all of
    it is durable in SQLite. If the loader dies, this process ends: serve starts a new
    writer, which replays the journal first.
    """

    def __init__(
        self,
        sock: socket.socket,
        data_dir: Path,
        *,
        lock_fd: int | None = None,
        env: Mapping[str, str] | None = None,
        idle_seconds: float = LOADER_IDLE_SECONDS,
        finish_seconds: float = LOADER_FINISH_SECONDS,
    ) -> None:
        self._sock = sock
        self._finish_seconds = finish_seconds
        self._directory = journal.journal_dir(data_dir)
        self._own_lock = lock_fd is None
        self._lock_fd = journal.take_lock(self._directory) if lock_fd is None else lock_fd
        self._idle_seconds = idle_seconds
        self._journal = journal.Journal(self._directory)
        self._known = Known(data_dir / bot.store.DB_NAME)
        self._loader = LoaderProcess(data_dir, env)
        self._pending: collections.deque[Pending] = collections.deque()
        self._serve_gone = False

    def run(self) -> None:
        """Until serve hangs up; then the loader loads what was acknowledged, and ends."""
        self._loader.start()
        assert self._loader.sock is not None
        selector = selectors.DefaultSelector()
        selector.register(self._sock, selectors.EVENT_READ, "serve")
        selector.register(self._loader.sock, selectors.EVENT_READ, "loader")
        reader = Reader(self._sock)
        try:
            while True:
                quiet = self._journal.current is not None and not self._pending
                events = selector.select(self._idle_seconds if quiet else None)
                if not events:
                    self._retire()
                for key, _ in events:
                    if key.data == "loader":
                        self._heard(self._loader.heard())
                    elif (items := reader.read()) is None:
                        return
                    elif items:
                        self._store(items)
        finally:
            selector.close()
            self._stop()

    def _store(self, items: list[Item]) -> None:
        from bot.log import info_lines  # structlog: only in the child

        ready = _prepared(items)
        before = self._journal.current
        try:
            batch, records = journal_batch(ready, self._known)
        except Exception as exc:  # last line of defence: answer, and take the next batch
            failed = f"store failed: {exc}"
            seqs = [seq for seq, _, _ in ready.stored] + [seq for seq, _, _ in ready.refused]
            batch = Batch([(seq, Outcome.FAILED.value, failed) for seq in seqs], [], {})
            records = []
        notes: list[Note] = []
        if records:
            segment = self._journal.append(records)
            os.fdatasync(segment.fd)
            if before is not None and before is not segment:  # rotated: that one is done
                notes.append((str(before.path), before.size, True))
            notes.append((str(segment.path), segment.size, False))
            traces = {row[0]: row[5] for row, _ in records}
            self._known.journaled(traces)
            self._pending.append(Pending(segment.number, segment.size, list(traces)))
        if batch.traces:
            with suppress(Exception):  # a log line must never cost a delivery its answer
                info_lines([batch.log_line()])
        self._send((batch.answers, batch.tallies, False))
        if notes:
            self._loader.tell(notes)

    def _heard(self, loaded: list[Loaded] | None) -> None:
        if loaded is None:
            raise RuntimeError("the loader process ended")  # serve starts a new writer
        any_new = False
        for path, end, new in loaded:
            reached = (journal.number(Path(path)), end)
            while self._pending and (self._pending[0].number, self._pending[0].end) <= reached:
                self._known.loaded(self._pending.popleft().delivery_ids)
            any_new = any_new or new
        if any_new:
            self._send(([], [], True))  # serve's workers find the new jobs now

    def _retire(self) -> None:
        """Quiet, and all of it loaded: the segment is sealed, for the loader to delete."""
        segment = self._journal.seal()
        if segment is not None:
            self._loader.tell([(str(segment.path), segment.size, True)])

    def _stop(self) -> None:
        try:
            segment = self._journal.seal()
            if segment is not None and self._loader.sock is not None:
                with suppress(OSError):  # a loader that is gone leaves it to the replay
                    self._loader.tell([(str(segment.path), segment.size, True)])
            self._heard(self._loader.finish(self._finish_seconds))
        finally:
            self._known.close()
            if self._own_lock:
                os.close(self._lock_fd)

    def _send(self, value: object) -> None:
        if self._serve_gone:
            return
        try:
            self._sock.sendall(frame(value))
        except OSError:
            self._serve_gone = True  # what is journaled stays journaled, and is loaded


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
    try:
        store = Store.open(data_dir)
        try:
            load_segments(store, directory)  # what a writer that died acknowledged
            if source.get(JOURNAL_ENV, "on") == "off":
                store.start_checkpoints(SIDE_CHECKPOINT_SECONDS)
                run_direct(sock, store, relay_for(settings, store))
                return 0
        finally:
            store.close()
        JournalWriter(sock, data_dir, lock_fd=lock, env=source).run()
    finally:
        sock.close()
        os.close(lock)
    return 0

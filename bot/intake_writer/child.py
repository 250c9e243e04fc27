"""The writer child: read deliveries from serve, make them durable, answer, load SQLite.

Two ways to make a batch durable before answering it: append it to the intake journal
(:mod:`bot.journal`) and fdatasync, a loader thread moving it into SQLite behind the
answers (the default); or, with ``TECHLEAD_INTAKE_JOURNAL=off``, commit it to SQLite
first. :func:`main` is the process (``python -m bot.intake_writer``).
"""

from __future__ import annotations

import os
import queue
import secrets
import signal
import socket
import sqlite3
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
from bot.intake_writer.protocol import (
    CHECKPOINT_EVERY,
    HOLD_LOADS_ENV,
    JOURNAL_ENV,
    LOAD_CHECKPOINT_EVERY,
    LOAD_GATHER_SECONDS,
    LOADER_IDLE_SECONDS,
    READ_CHUNK,
    SIDE_CHECKPOINT_SECONDS,
    SWITCH_INTERVAL,
    Answer,
    FrameBuffer,
    Item,
    Outcome,
    Tally,
    frame,
    route_spec,
    writer_log,
)
from bot.jobs import JobSpec
from bot.store import (
    MAX_BATCH,
    Accepted,
    NotStorable,
    Store,
    commit_batch,
    load_records,
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
                writer_log().exception("intake_writer_thread_failed")
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
                    writer_log().warning("intake_relay_failed", exc_info=True)
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

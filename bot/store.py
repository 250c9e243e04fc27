"""The durable SQLite store: one writer connection, the schema, deliveries and job rows.

Durability choice (WAL journal):
- An accepted delivery and its routing job commit with ``synchronous=FULL``: the WAL
  is fsynced before the 2xx answer, so the delivery survives a process kill *and* a
  power loss or kernel crash. GitHub does not redeliver on its own, so a delivery
  acknowledged but lost would be lost for good. A WAL fsync costs about half a
  millisecond on this class of disk.
- Queue transitions (claim, complete, retry, child jobs) commit with ``NORMAL``: safe
  against process crashes; a power loss can only drop the *latest* of them, because
  WAL keeps commit order and every FULL commit also persists all earlier ones. Losing
  a suffix of transitions only re-runs a job, which at-least-once handlers already
  tolerate. Syncing each of them would multiply fsyncs per delivery by five or more
  and make the webhook answer wait behind worker bookkeeping.
https://www.sqlite.org/pragma.html#pragma_synchronous  https://www.sqlite.org/wal.html

Delivery bodies are stored as zstd frames (level 1: about 7 times smaller for
GitHub's JSON, some 15 microseconds for a 16 kB payload): the database writes each
row twice (WAL, then the database file), and on a small machine the disk's bandwidth,
not the CPU, limits intake and its p99. The intake journal keeps bodies as received
(compressing there would put those microseconds on the answers' path); they are
compressed as they are loaded. A body stored raw before (it starts with ``{`` or
whitespace; a zstd frame with its magic number) is read as it is.
https://datatracker.ietf.org/doc/html/rfc8878#section-3.1.1
"""

from __future__ import annotations

import asyncio
import enum
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from bot import journal
from bot.errors import QueueError
from bot.intake import Delivery, Envelope, envelope, load_json
from bot.jobs import Job, JobSpec, JobState

DB_NAME = "techlead.db"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_SECONDS = 1.0
CHECKPOINT_JOIN_SECONDS = 5.0
MAX_BATCH = 256
MAX_PARAMETERS = 999  # https://www.sqlite.org/limits.html#max_variable_number

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id     TEXT PRIMARY KEY,
    event           TEXT NOT NULL,
    action          TEXT,
    installation_id INTEGER,
    repo            TEXT,
    trace_id        TEXT NOT NULL,
    received_at     REAL NOT NULL,
    body            BLOB NOT NULL,
    outcome         TEXT,
    routed_at       REAL
);
CREATE TABLE IF NOT EXISTS jobs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    dedupe_key      TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    run_at          REAL NOT NULL,
    trace_id        TEXT NOT NULL,
    delivery_id     TEXT,
    parent_id       INTEGER,
    installation_id INTEGER,
    lease_owner     TEXT,
    lease_expires   REAL,
    last_error      TEXT,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, run_at);
CREATE INDEX IF NOT EXISTS jobs_by_delivery ON jobs (delivery_id);
CREATE TABLE IF NOT EXISTS installation_pauses (
    installation_id INTEGER PRIMARY KEY,
    not_before      REAL NOT NULL
);
"""

# Inserts as (head, one row's placeholders, tail): a batch becomes one multi-row
# INSERT. https://www.sqlite.org/lang_insert.html
_DELIVERY_INSERT = (
    "INSERT INTO deliveries (delivery_id, event, action, installation_id, repo, trace_id, "
    "received_at, body)",
    "(?, ?, ?, ?, ?, ?, ?, ?)",
    "ON CONFLICT (delivery_id) DO NOTHING",
)
_JOB_INSERT = (
    "INSERT INTO jobs (kind, payload, dedupe_key, state, attempts, run_at, trace_id, "
    "delivery_id, parent_id, installation_id, created_at, updated_at)",
    "(?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?, ?)",
    "ON CONFLICT (dedupe_key) DO NOTHING",
)
# Enough for every batch size the writer makes, with the queue's own statements.
STATEMENT_CACHE = 1024

JOB_COLUMNS = (
    "id, kind, payload, dedupe_key, state, attempts, run_at, trace_id, delivery_id, "
    "parent_id, installation_id, lease_owner, lease_expires, last_error, created_at, updated_at"
)


class Durability(enum.StrEnum):
    """SQLite ``synchronous`` levels this store allows (both with the WAL journal)."""

    FULL = "FULL"  # fsync the WAL at every commit: survives power loss
    NORMAL = "NORMAL"  # fsync at checkpoints: survives process crashes only


@dataclass(frozen=True)
class Accepted:
    """The answer to storing a delivery: ``new`` is False for a repeated delivery id."""

    new: bool
    trace_id: str


@dataclass(frozen=True)
class StoredDelivery:
    delivery_id: str
    event: str
    body: bytes
    trace_id: str
    received_at: float
    outcome: str | None
    routed_at: float | None

    def payload(self) -> dict[str, Any]:
        value = load_json(self.body)
        return value if isinstance(value, dict) else {}

    def envelope(self) -> Envelope:
        return envelope(self.payload())


class PriorityLock:
    """A re-entrant lock where urgent holders (webhook answers) go before the others.

    A plain lock is unfair: a worker thread running transactions back to back keeps
    winning it, and a delivery waiting to be acknowledged starves behind job
    bookkeeping. Here a waiting urgent holder makes new ordinary holders wait.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._urgent_waiting = 0

    @contextmanager
    def hold(self, *, urgent: bool = False) -> Iterator[None]:
        self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    def _acquire(self, urgent: bool) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return
            self._urgent_waiting += urgent
            while self._owner is not None or (not urgent and self._urgent_waiting):
                self._cond.wait()
            self._urgent_waiting -= urgent
            self._owner, self._depth = me, 1

    def _release(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()


class Store:
    """SQLite under ``data_dir``: a single connection shared by threads behind a lock.

    One writer connection serialises writes in-process (SQLite allows one writer at a
    time anyway) and avoids lock contention between the route and the worker threads;
    other processes (``techlead jobs``) wait on the busy timeout.
    """

    def __init__(self, path: Path, durability: Durability = Durability.FULL) -> None:
        self.path = path
        self.durability = durability
        self._lock = PriorityLock()
        self._sync = Durability.NORMAL
        self._closed = threading.Event()
        self._checkpointer: threading.Thread | None = None
        try:
            self._conn = _connect(path)
        except sqlite3.Error as exc:
            raise QueueError(f"cannot open the store at {path}: {exc}") from exc

    @classmethod
    def open(cls, data_dir: Path, durability: Durability = Durability.FULL) -> Store:
        """The store under ``data_dir``, with any journal a dead writer left loaded first."""
        data_dir.mkdir(parents=True, exist_ok=True)
        store = cls(data_dir / DB_NAME, durability)
        try:
            replay_journal(store, journal.journal_dir(data_dir))
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._closed.set()
        if self._checkpointer is not None:
            self._checkpointer.join(CHECKPOINT_JOIN_SECONDS)
        with self._lock.hold():
            self._conn.close()

    def start_checkpoints(self, interval: float = CHECKPOINT_SECONDS) -> None:
        """Move WAL pages into the database on a side thread instead of inside commits.

        SQLite's automatic checkpoint runs in whichever commit crosses the threshold,
        which would be a webhook answer now and then; a passive checkpoint on its own
        connection never blocks writers. https://www.sqlite.org/wal.html#ckpt
        """
        with self._lock.hold(), _as_queue_error():
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, args=(interval,), name="techlead-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def manual_checkpoints(self) -> None:
        """No automatic checkpoints in commits: the owner calls :meth:`checkpoint`."""
        with self._lock.hold(), _as_queue_error():
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> tuple[int, int]:
        """Move the WAL into the database now, on this connection: (WAL frames, moved).

        For a writer that commits back to back: a side-thread checkpoint seldom ends
        between two of its commits, so the WAL would never start over and every commit
        would grow the file, and an fsync that grows a file also waits for the file
        system's journal. Run between commits, it lets the next commit write the WAL
        from its start again. https://www.sqlite.org/wal.html#avoiding_excessively_large_wal_files
        """
        with self._lock.hold(), _as_queue_error():
            _, frames, moved = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames), int(moved)

    def _checkpoint_loop(self, interval: float) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while not self._closed.wait(interval):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            # The store's own operations report failures; a skipped checkpoint only
            # lets the WAL grow until the next one succeeds.
            pass
        finally:
            conn.close()

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, committed on success.

        ``durable`` commits with the store's durability (FULL by default) and goes
        before waiting ordinary transactions; those commit with NORMAL (see the module
        docstring).
        """
        with self._lock.hold(urgent=durable), _as_queue_error():
            self._synchronous(self.durability if durable else Durability.NORMAL)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _synchronous(self, level: Durability) -> None:
        if level is not self._sync:
            self._conn.execute(f"PRAGMA synchronous = {level.value}")
            self._sync = level

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock.hold(), _as_queue_error():
            yield self._conn

    def ping(self) -> None:
        with self.reading() as conn:
            conn.execute("SELECT 1").fetchone()

    def accept_delivery(self, delivery: Delivery, route: JobSpec, now: float) -> Accepted:
        """Store the delivery and the job that routes it, atomically; idempotent on its id."""
        return self.accept_deliveries([(delivery, route)], now)[0]

    def accept_deliveries(
        self, batch: Sequence[tuple[Delivery, JobSpec]], now: float
    ) -> list[Accepted]:
        """Several deliveries in one durable transaction: one fsync for all of them."""
        with self.transaction(durable=True) as conn:
            return _accept_batch(conn, batch, now)

    def load_rows(self, records: Sequence[journal.Record], *, durable: bool) -> list[str]:
        """Journaled deliveries and their routing jobs; returns the delivery ids it stored.

        Idempotent: a delivery id already stored is skipped with its job, so replaying
        a journal segment twice stores each delivery and its one routing job once.
        """
        with self.transaction(durable=durable) as conn:
            return _load_rows(conn, records)

    def sync(self) -> None:
        """Make every earlier commit durable: one small commit with the store's durability."""
        with self.transaction(durable=True) as conn:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def get_delivery(self, delivery_id: str) -> StoredDelivery | None:
        with self.reading() as conn:
            row = conn.execute(
                "SELECT delivery_id, event, body, trace_id, received_at, outcome, routed_at "
                "FROM deliveries WHERE delivery_id = ?",
                (delivery_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredDelivery(row[0], row[1], unpack_body(row[2]), *row[3:])

    def mark_routed(self, delivery_id: str, outcome: str, now: float) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET outcome = ?, routed_at = ? WHERE delivery_id = ?",
                (outcome, now, delivery_id),
            )

    def outbox(self, limit: int) -> list[tuple[Job, StoredDelivery | None]]:
        """Pending jobs with their deliveries, oldest first: what a relay moves elsewhere.

        With the queue on Redis, the routing job committed with a delivery waits here
        until the relay has put it in Redis (see :mod:`bot.redis_queue`).
        """
        with self.reading() as conn:
            rows = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'pending' ORDER BY id LIMIT ?",  # noqa: S608
                (limit,),
            ).fetchall()
        jobs = [job_from_row(row) for row in rows]
        return [(job, self._delivery_of(job)) for job in jobs]

    def _delivery_of(self, job: Job) -> StoredDelivery | None:
        return None if job.delivery_id is None else self.get_delivery(job.delivery_id)

    def drop_jobs(self, job_ids: Sequence[int]) -> None:
        """Delete job rows another queue has taken over (the delivery rows stay)."""
        with self.transaction() as conn:
            for start in range(0, len(job_ids), MAX_PARAMETERS):
                chunk = list(job_ids[start : start + MAX_PARAMETERS])
                marks = ", ".join("?" * len(chunk))
                conn.execute(f"DELETE FROM jobs WHERE id IN ({marks})", chunk)  # noqa: S608

    def count(self, table: str) -> int:
        """Rows in ``deliveries`` or ``jobs`` (tests and diagnostics)."""
        if table not in ("deliveries", "jobs"):
            raise ValueError(table)
        with self.reading() as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


class DeliveryWriter:
    """Group commit for the webhook route: deliveries arriving together share one fsync.

    Requests hand their delivery to one writer thread and wait on a future; the
    thread commits everything queued meanwhile in a single durable transaction. Under
    load batches grow by themselves, so the fsync cost per delivery shrinks instead of
    queueing up. Each request still waits for the commit that holds its own delivery.

    The cost per delivery stays off the event loop: one wake-up of the loop per batch
    (not per delivery) answers every request of the batch, and ``on_stored`` (metrics,
    log lines, waking the job runner) runs once per batch, on this thread, before the
    answers go out.
    """

    def __init__(
        self, store: Store, max_batch: int = MAX_BATCH, on_stored: OnStored | None = None
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self.on_stored = on_stored
        # With the queue elsewhere (Redis): moves committed routing jobs there before the
        # answers; when it fails the batch is answered 503 and its rows wait in the store.
        self.relay: Callable[[], object] | None = None
        self._inbox: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, delivery: Delivery, route: JobSpec, now: float) -> Future[Accepted]:
        """Queue a delivery from any thread; the future resolves once it is committed."""
        future: Future[Accepted] = Future()
        self._put(_Pending(delivery, route, now, future))
        return future

    async def accept(self, delivery: Delivery, route: JobSpec, now: float) -> Accepted:
        """Queue a delivery from the event loop and wait for the commit that holds it."""
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._put(_Pending(delivery, route, now, future))
        return await future

    def close(self) -> None:
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join(CHECKPOINT_JOIN_SECONDS)

    def alive(self) -> bool:
        """False once the writer thread has died: deliveries would wait for nothing."""
        return self._thread is None or self._thread.is_alive()

    def _put(self, pending: _Pending) -> None:
        if self._thread is None:
            self._ensure_started()
        self._inbox.put(pending)

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="techlead-intake-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while (first := self._inbox.get()) is not None:
            batch = [first]
            while len(batch) < self._max_batch and not self._inbox.empty():
                item = self._inbox.get()
                if item is None:
                    self._guarded(batch)
                    return
                batch.append(item)
            self._guarded(batch)

    def _guarded(self, batch: list[_Pending]) -> None:
        """Last line of defence: whatever happens, answer every future and go on."""
        try:
            outcomes = self._commit(batch)
        except Exception as exc:
            outcomes = [QueueError(f"store failed: {exc}")] * len(batch)
        self._report(batch, outcomes)
        _settle(batch, outcomes)

    def _commit(self, batch: list[_Pending]) -> list[Outcome]:
        items = [(item.delivery, item.route) for item in batch]
        return commit_batch(self._store, items, batch[-1].now, self.relay)

    def _report(self, batch: list[_Pending], outcomes: list[Outcome]) -> None:
        stored = [
            (item.delivery, outcome)
            for item, outcome in zip(batch, outcomes, strict=True)
            if isinstance(outcome, Accepted)
        ]
        if self.on_stored is None or not stored:
            return
        # Metrics and log lines must never cost a stored delivery its answer.
        with suppress(Exception):
            self.on_stored(stored)


def commit_batch(
    store: Store,
    batch: Sequence[tuple[Delivery, JobSpec]],
    now: float,
    relay: Callable[[], object] | None = None,
) -> list[Outcome]:
    """Commit a batch durably; a row the store cannot take fails alone.

    ``relay`` (the queue is elsewhere) moves the committed routing jobs there; when it
    fails, the batch's deliveries are answered as failed and their rows wait in the
    store for the next sweep.
    """
    try:
        results: list[Outcome] = list(store.accept_deliveries(batch, now))
    except QueueError as exc:
        return [exc] * len(batch)
    except Exception:
        # A row the store cannot take (a value SQLite cannot bind, text it cannot
        # encode): the transaction rolled back; one by one, only that row fails.
        results = [_commit_alone(store, delivery, route, now) for delivery, route in batch]
    return _relayed(results, relay)


def _relayed(outcomes: list[Outcome], relay: Callable[[], object] | None) -> list[Outcome]:
    """Acknowledge only what the queue holds too; stored rows stay for the next sweep."""
    if relay is None or not any(isinstance(one, Accepted) for one in outcomes):
        return outcomes
    try:
        relay()
    except Exception as exc:
        failed = QueueError(f"queue failed: {exc}")
        return [failed if isinstance(one, Accepted) else one for one in outcomes]
    return outcomes


def _commit_alone(store: Store, delivery: Delivery, route: JobSpec, now: float) -> Outcome:
    """Store one delivery; one the store still cannot take is refused alone."""
    try:
        return store.accept_delivery(delivery, route, now)
    except QueueError as exc:
        return exc
    except Exception as exc:
        return NotStorable(str(exc))


class NotStorable(QueueError):
    """This one delivery cannot be stored, whatever the store's state (answered 400)."""


Outcome = Accepted | Exception
OnStored = Callable[[list[tuple[Delivery, Accepted]]], None]


@dataclass(frozen=True)
class _Pending:
    delivery: Delivery
    route: JobSpec
    now: float
    future: Future[Accepted] | asyncio.Future[Accepted]


def _settle(batch: list[_Pending], outcomes: list[Outcome]) -> None:
    """Answer the waiting requests: each event loop is woken once for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Accepted], Outcome]]] = {}
    for item, outcome in zip(batch, outcomes, strict=True):
        if isinstance(item.future, asyncio.Future):
            by_loop.setdefault(item.future.get_loop(), []).append((item.future, outcome))
        else:
            _resolve(item.future, outcome)
    for loop, answers in by_loop.items():
        with suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_resolve_all, answers)


def _resolve_all(answers: list[tuple[asyncio.Future[Accepted], Outcome]]) -> None:
    for future, outcome in answers:
        _resolve(future, outcome)


def _resolve(future: Future[Accepted] | asyncio.Future[Accepted], outcome: Outcome) -> None:
    if future.done():  # the request went away (a cancelled wait)
        return
    if isinstance(outcome, Accepted):
        future.set_result(outcome)
    else:
        future.set_exception(outcome)


def _accept_batch(
    conn: sqlite3.Connection, batch: Sequence[tuple[Delivery, JobSpec]], now: float
) -> list[Accepted]:
    """A batch in two statements, however many deliveries it holds (three with repeats).

    Every statement the ``sqlite3`` module runs gives the GIL up and must win it back,
    and each costs a parse of its parameters; so the deliveries go in one multi-row
    INSERT that returns the ids it stored, their routing jobs in another. Only ids it
    did not store (a redelivery) are looked up for their first trace id.
    """
    first: dict[str, tuple[Delivery, JobSpec]] = {}
    for delivery, route in batch:
        first.setdefault(delivery.delivery_id, (delivery, route))
    rows = [_packed(_delivery_row(one, route.trace_id or "", now)) for one, route in first.values()]
    stored = set(_insert_rows(conn, _DELIVERY_INSERT, rows, returning=True))
    jobs = [_job_row(route, now) for one, (_, route) in first.items() if one in stored]
    _insert_rows(conn, _JOB_INSERT, jobs)
    known = {one: first[one][1].trace_id or "" for one in stored}
    known.update(_known_traces(conn, [one for one in first if one not in stored]))
    answers: list[Accepted] = []
    for delivery, route in batch:
        new = delivery.delivery_id in stored and route is first[delivery.delivery_id][1]
        answers.append(Accepted(new=new, trace_id=known[delivery.delivery_id]))
    return answers


def _load_rows(conn: sqlite3.Connection, records: Sequence[journal.Record]) -> list[str]:
    first: dict[str, journal.Record] = {}
    for record in records:
        first.setdefault(record[0][0], record)
    rows = [_packed(delivery) for delivery, _ in first.values()]
    stored = _insert_rows(conn, _DELIVERY_INSERT, rows, returning=True)
    _insert_rows(conn, _JOB_INSERT, [first[one][1] for one in stored])
    return [str(one) for one in stored]


def replay_journal(store: Store, directory: Path) -> int:
    """Load what a writer that is gone left in its journal, then delete the segments.

    Does nothing while a live writer holds the journal: the writer loads its own.
    Returns the deliveries replayed (stored now or found already stored).
    """
    if not journal.segments(directory):
        return 0
    with journal.locked(directory, wait=False) as ours:
        return load_segments(store, directory) if ours else 0


def load_records(store: Store, records: Sequence[journal.Record], *, durable: bool) -> list[str]:
    """``Store.load_rows``, where a record the store cannot take is skipped alone.

    Such a record passed the same checks before it was acknowledged, so this should
    never happen; if it does, it must not stop every other delivery from loading (a
    writer that died on it would die on it again at each start). Its delivery stays
    unstored and is logged; a failure of the store itself (:class:`QueueError`) is
    raised for the caller to retry.
    """
    try:
        return store.load_rows(records, durable=durable)
    except QueueError:
        raise
    except Exception:
        stored: list[str] = []
        for record in records:
            try:
                stored.extend(store.load_rows([record], durable=durable))
            except QueueError:
                raise
            except Exception as exc:
                _log_unloadable(record, exc)
        return stored


def _log_unloadable(record: journal.Record, exc: Exception) -> None:
    from bot.log import get_logger  # structlog, configured by the process

    get_logger(component="store").error(
        "journal_record_not_loadable", delivery_id=str(record[0][0]), error=str(exc)
    )


def load_segments(store: Store, directory: Path, chunk: int = MAX_BATCH) -> int:
    """Every record of every segment into the store, durably; then the segments go.

    The caller holds the journal's lock.
    """
    replayed = 0
    for path in journal.segments(directory):
        records = journal.read_segment(path)
        for start in range(0, len(records), chunk):
            load_records(store, records[start : start + chunk], durable=True)
        replayed += len(records)
        path.unlink(missing_ok=True)  # a dying loader may have deleted it, all loaded
    return replayed


def _known_traces(conn: sqlite3.Connection, delivery_ids: Sequence[str]) -> dict[str, str]:
    """The stored trace id of each of ``delivery_ids`` already in the store."""
    known: dict[str, str] = {}
    for start in range(0, len(delivery_ids), MAX_PARAMETERS):
        chunk = delivery_ids[start : start + MAX_PARAMETERS]
        marks = ", ".join("?" * len(chunk))
        found = conn.execute(
            f"SELECT delivery_id, trace_id FROM deliveries WHERE delivery_id IN ({marks})",  # noqa: S608
            chunk,
        )
        known.update(found.fetchall())
    return known


def _insert_rows(
    conn: sqlite3.Connection,
    insert: tuple[str, str, str],
    rows: Sequence[tuple[Any, ...]],
    *,
    returning: bool = False,
) -> list[Any]:
    """All ``rows`` in one INSERT statement (one step of the SQLite VM) per chunk.

    Chunks keep each statement under SQLite's historic limit of 999 parameters,
    which older builds still have. With ``returning``, the first column of each row
    the statement stored (a conflict stores nothing).
    https://www.sqlite.org/lang_returning.html
    """
    if not rows:
        return []
    head, row, tail = insert
    per_statement = max(1, MAX_PARAMETERS // len(rows[0]))
    suffix = f"{tail} RETURNING {_first_column(head)}" if returning else tail
    inserted: list[Any] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = ", ".join([row] * len(chunk))
        params = [value for one in chunk for value in one]
        cursor = conn.execute(f"{head} VALUES {values} {suffix}", params)
        if returning:
            inserted.extend(found for (found,) in cursor.fetchall())
    return inserted


def _first_column(head: str) -> str:
    """``delivery_id`` of ``INSERT INTO deliveries (delivery_id, ...``."""
    return head.split("(", 1)[1].split(",", 1)[0].strip()


def insert_job(conn: sqlite3.Connection, spec: JobSpec, now: float) -> int:
    """Insert a pending job unless its dedupe key exists; return the job's id either way."""
    _insert_rows(conn, _JOB_INSERT, [_job_row(spec, now)])
    row = conn.execute("SELECT id FROM jobs WHERE dedupe_key = ?", (spec.dedupe_key,)).fetchone()
    return int(row[0])


def _job_row(spec: JobSpec, now: float) -> tuple[Any, ...]:
    if not spec.dedupe_key or not spec.trace_id:
        raise QueueError(f"job {spec.kind!r} needs a dedupe key and a trace id")
    try:
        payload = json.dumps(dict(spec.payload), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise QueueError(f"payload of job {spec.kind!r} is not JSON: {exc}") from exc
    return (
        spec.kind,
        payload,
        spec.dedupe_key,
        now + spec.delay,
        spec.trace_id,
        spec.delivery_id,
        spec.parent_id,
        _integer_column(spec.installation_id),
        now,
        now,
    )


def job_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Job:
    (id_, kind, payload, key, state, attempts, run_at, trace, delivery, parent, inst) = row[:11]
    owner, expires, error, created, updated = row[11:16]
    return Job(
        id=id_,
        kind=kind,
        payload=json.loads(payload),
        dedupe_key=key,
        state=JobState(state),
        attempts=attempts,
        run_at=run_at,
        trace_id=trace,
        delivery_id=delivery,
        parent_id=parent,
        installation_id=inst,
        lease_owner=owner,
        lease_expires=expires,
        last_error=error,
        created_at=created,
        updated_at=updated,
    )


def _delivery_row(delivery: Delivery, trace_id: str, now: float) -> tuple[Any, ...]:
    env = delivery.envelope
    return (
        delivery.delivery_id,
        delivery.event,
        _text_column(env.action),
        _integer_column(env.installation_id),
        _text_column(env.repo),
        trace_id,
        now,
        delivery.body,
    )


def _packed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A delivery row as the table keeps it: its body (the last column) compressed."""
    return (*row[:-1], pack_body(row[-1]))


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BODY_LEVEL = 1
_codecs = threading.local()  # zstd contexts are reused, but by one thread at a time


def pack_body(body: bytes) -> bytes:
    """A delivery's body as stored: one zstd frame, with its size in the header."""
    if body.startswith(ZSTD_MAGIC):
        return body  # packed already
    compressor = getattr(_codecs, "compressor", None)
    if compressor is None:
        compressor = _codecs.compressor = zstandard.ZstdCompressor(level=BODY_LEVEL)
    return bytes(compressor.compress(body))


def unpack_body(stored: bytes) -> bytes:
    """The body as received, from a zstd frame or from a body stored raw."""
    if not stored.startswith(ZSTD_MAGIC):
        return stored
    decompressor = getattr(_codecs, "decompressor", None)
    if decompressor is None:
        decompressor = _codecs.decompressor = zstandard.ZstdDecompressor()
    return bytes(decompressor.decompress(stored))


def _integer_column(value: int | None) -> int | None:
    """A value SQLite's 64-bit INTEGER can bind, else NULL (the raw body keeps it)."""
    return value if value is not None and -(2**63) <= value < 2**63 else None


def _text_column(value: str | None) -> str | None:
    """Text SQLite can store as UTF-8, else NULL (a lone surrogate cannot be encoded)."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
        cached_statements=STATEMENT_CACHE,
    )
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {Durability.NORMAL.value}")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.executescript(_SCHEMA)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return conn


@contextmanager
def _as_queue_error() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise QueueError(f"store failed: {exc}") from exc

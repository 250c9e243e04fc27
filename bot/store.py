"""The durable SQLite store: one writer connection, the schema, deliveries and job rows.

Durability choice: WAL journal with ``synchronous=FULL``. Every commit (an accepted
delivery with its routing job) is fsynced before the 2xx answer, so it survives a
process kill *and* a power loss or kernel crash. GitHub does not redeliver on its own,
so a delivery acknowledged but lost would be lost for good. On this class of disk a
WAL fsync costs well under a millisecond, small next to the network; ``NORMAL`` would
only be safe against process crashes.
https://www.sqlite.org/pragma.html#pragma_synchronous
"""

from __future__ import annotations

import enum
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import QueueError
from bot.intake import Delivery, Envelope, envelope
from bot.jobs import Job, JobSpec, JobState

DB_NAME = "techlead.db"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

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

JOB_COLUMNS = (
    "id, kind, payload, dedupe_key, state, attempts, run_at, trace_id, delivery_id, "
    "parent_id, installation_id, lease_owner, lease_expires, last_error, created_at, updated_at"
)


class Durability(enum.StrEnum):
    """SQLite ``synchronous`` levels this store allows (both with the WAL journal)."""

    FULL = "FULL"  # fsync every commit: survives power loss
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
        value = json.loads(self.body)
        return value if isinstance(value, dict) else {}

    def envelope(self) -> Envelope:
        return envelope(self.payload())


class Store:
    """SQLite under ``data_dir``: a single connection shared by threads behind a lock.

    One writer connection serialises writes in-process (SQLite allows one writer at a
    time anyway) and avoids lock contention between the route and the worker threads;
    other processes (``techlead jobs``) wait on the busy timeout.
    """

    def __init__(self, path: Path, durability: Durability = Durability.FULL) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            self._conn = _connect(path, durability)
        except sqlite3.Error as exc:
            raise QueueError(f"cannot open the store at {path}: {exc}") from exc

    @classmethod
    def open(cls, data_dir: Path, durability: Durability = Durability.FULL) -> Store:
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir / DB_NAME, durability)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, committed on success."""
        with self._lock, _as_queue_error():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _as_queue_error():
            yield self._conn

    def ping(self) -> None:
        with self.reading() as conn:
            conn.execute("SELECT 1").fetchone()

    def accept_delivery(self, delivery: Delivery, route: JobSpec, now: float) -> Accepted:
        """Store the delivery and the job that routes it, atomically; idempotent on its id."""
        with self.transaction() as conn:
            known = conn.execute(
                "SELECT trace_id FROM deliveries WHERE delivery_id = ?", (delivery.delivery_id,)
            ).fetchone()
            if known is not None:
                return Accepted(new=False, trace_id=known[0])
            _insert_delivery(conn, delivery, route.trace_id or "", now)
            insert_job(conn, route, now)
        return Accepted(new=True, trace_id=route.trace_id or "")

    def get_delivery(self, delivery_id: str) -> StoredDelivery | None:
        with self.reading() as conn:
            row = conn.execute(
                "SELECT delivery_id, event, body, trace_id, received_at, outcome, routed_at "
                "FROM deliveries WHERE delivery_id = ?",
                (delivery_id,),
            ).fetchone()
        return None if row is None else StoredDelivery(*row)

    def mark_routed(self, delivery_id: str, outcome: str, now: float) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET outcome = ?, routed_at = ? WHERE delivery_id = ?",
                (outcome, now, delivery_id),
            )

    def count(self, table: str) -> int:
        """Rows in ``deliveries`` or ``jobs`` (tests and diagnostics)."""
        if table not in ("deliveries", "jobs"):
            raise ValueError(table)
        with self.reading() as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def insert_job(conn: sqlite3.Connection, spec: JobSpec, now: float) -> int:
    """Insert a pending job unless its dedupe key exists; return the job's id either way."""
    if not spec.dedupe_key or not spec.trace_id:
        raise QueueError(f"job {spec.kind!r} needs a dedupe key and a trace id")
    try:
        payload = json.dumps(dict(spec.payload), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise QueueError(f"payload of job {spec.kind!r} is not JSON: {exc}") from exc
    conn.execute(
        "INSERT INTO jobs (kind, payload, dedupe_key, state, attempts, run_at, trace_id, "
        "delivery_id, parent_id, installation_id, created_at, updated_at) "
        "VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (dedupe_key) DO NOTHING",
        (
            spec.kind,
            payload,
            spec.dedupe_key,
            now + spec.delay,
            spec.trace_id,
            spec.delivery_id,
            spec.parent_id,
            spec.installation_id,
            now,
            now,
        ),
    )
    row = conn.execute("SELECT id FROM jobs WHERE dedupe_key = ?", (spec.dedupe_key,)).fetchone()
    return int(row[0])


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


def _insert_delivery(
    conn: sqlite3.Connection, delivery: Delivery, trace_id: str, now: float
) -> None:
    env = delivery.envelope
    conn.execute(
        "INSERT INTO deliveries (delivery_id, event, action, installation_id, repo, trace_id, "
        "received_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            delivery.delivery_id,
            delivery.event,
            env.action,
            env.installation_id,
            env.repo,
            trace_id,
            now,
            delivery.body,
        ),
    )


def _connect(path: Path, durability: Durability) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {durability.value}")
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

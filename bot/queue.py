"""The job queue: a narrow Protocol and its SQLite implementation (leases, retries, pauses).

Semantics: at-least-once. A job is claimed under a lease; if its worker dies, the
lease expires (or is released at the next start) and the job runs again, so handlers
make their effects idempotent (check before write). Retry *policy* (backoff, how many
attempts) and retention belong to the worker; the queue only records state transitions
and deletes what it is told to.

Order of claims (both backends): the most urgent priority class with due work goes
first, except that every ``NORMAL_EVERY``-th claim tries the normal class first and every
``LOW_EVERY``-th the low one (:func:`class_order`), so urgent work cannot starve the rest
and waits behind at most one job. Within a class, installations take turns.

The SQLite queue keeps one turn per installation (``queue_turns``: the claim that served
it last), shared by the three classes, where Redis keeps one ring per class; an
installation new to the queue, or quiet for long, is served first in both. SQLite
rows the intake writes get their kind's priority from a trigger.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.context import Clock
from bot.errors import QueueError
from bot.jobs import KIND_PRIORITIES, Job, JobSpec, JobState, Priority
from bot.store import JOB_COLUMNS, Store, insert_job, job_from_row

MAX_ERROR_CHARS = 4000
NORMAL_EVERY = 4  # every 4th claim tries the normal class first
LOW_EVERY = 16  # every 16th claim tries the low class first
_REFUND = "attempts = max(attempts - 1, 0), "
_COLUMNS = f"{JOB_COLUMNS}, priority"

_UNPAUSED = "(p.not_before IS NULL OR p.not_before <= :now)"
EXPIRE_BATCH = 100  # expired leases taken back per claim
# Jobs whose worker died (their lease expired) are pending again, with their attempts,
# and due: by the time they were due (or their lease ran out), so they go first in their
# installation at its next turn.
_EXPIRE = (
    "UPDATE jobs SET state = 'pending', run_at = min(run_at, lease_expires), "  # noqa: S608
    "lease_owner = NULL, lease_expires = NULL, updated_at = :now "
    "WHERE id IN (SELECT id FROM jobs WHERE state = 'running' "
    f"AND lease_expires <= :now ORDER BY lease_expires LIMIT {EXPIRE_BATCH})"
)
# Installations by turn (served longest ago first), each with its oldest due job of one
# class: rows stream in turn order (queue_turns_by_served), one index probe each
# (jobs_ready), and the claim stops at the first installation with such a job.
_TURNS = (
    "SELECT t.installation_id, (SELECT j.id FROM jobs j INDEXED BY jobs_ready "  # noqa: S608
    "WHERE j.turn = t.installation_id AND j.state = 'pending' "
    "AND j.priority = :class AND j.run_at <= :now ORDER BY j.run_at, j.id LIMIT 1) "
    "FROM queue_turns t INDEXED BY queue_turns_by_served "
    "LEFT JOIN installation_pauses p ON p.installation_id = t.installation_id "
    f"WHERE {_UNPAUSED} ORDER BY t.served, t.installation_id"
)
_CLAIM = (
    "UPDATE jobs SET state = 'running', lease_owner = :owner, "  # noqa: S608
    "lease_expires = :expires, attempts = attempts + 1, updated_at = :now "
    f"WHERE id = :id RETURNING {_COLUMNS}"
)
_TAKE_TURN = (
    "UPDATE queue_turns SET served = (SELECT max(served) FROM queue_turns) + 1 "
    "WHERE installation_id = ?"
)
_TICK = "SELECT coalesce(max(served), 0) + 1 FROM queue_turns"
# Finished rows older than a cutoff, a bounded batch at a time. A finished job became
# due (run_at) before it finished (updated_at), so the range on jobs_by_state (state,
# run_at) holds every candidate; no index of its own, which every transition would move.
_PRUNE_JOBS = (
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = :state "
    "AND run_at < :before AND updated_at < :before ORDER BY run_at LIMIT :limit)"
)
# Deliveries are routed long before their jobs' retention ends; a redelivery of one
# still listed by GitHub (3 days) finds it, as the retention is at least 4 days.
_PRUNE_DELIVERIES = (
    "DELETE FROM deliveries WHERE rowid IN (SELECT rowid FROM deliveries "
    "WHERE received_at < ? AND routed_at IS NOT NULL ORDER BY received_at LIMIT ?)"
)
_PRUNE_TURNS = (
    "DELETE FROM queue_turns WHERE NOT EXISTS (SELECT 1 FROM jobs j "
    "WHERE j.turn = queue_turns.installation_id "
    "AND j.state IN ('pending', 'running'))"
)


def class_order(tick: int) -> tuple[Priority, ...]:
    """The classes a claim tries, in order; ``tick`` counts claims (from 1)."""
    if tick % LOW_EVERY == 0:
        return (Priority.LOW, Priority.URGENT, Priority.NORMAL)
    if tick % NORMAL_EVERY == 0:
        return (Priority.NORMAL, Priority.URGENT, Priority.LOW)
    return (Priority.URGENT, Priority.NORMAL, Priority.LOW)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_turns (
    installation_id INTEGER PRIMARY KEY,
    served          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_turns_by_served ON queue_turns (served, installation_id);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (turn, state, priority, run_at);
CREATE INDEX IF NOT EXISTS deliveries_by_arrival ON deliveries (received_at);
CREATE TRIGGER IF NOT EXISTS jobs_turn_on_insert AFTER INSERT ON jobs BEGIN
    INSERT OR IGNORE INTO queue_turns VALUES (coalesce(NEW.installation_id, 0), 0);
END;
CREATE TRIGGER IF NOT EXISTS jobs_turn_on_pending AFTER UPDATE OF state ON jobs
WHEN NEW.state = 'pending' BEGIN
    INSERT OR IGNORE INTO queue_turns VALUES (coalesce(NEW.installation_id, 0), 0);
END;
"""
# Rows stored before the priority column: their kind's priority, and a turn.
_BACKFILL = """
UPDATE jobs SET priority = {by_kind} WHERE priority IS NULL;
INSERT OR IGNORE INTO queue_turns SELECT DISTINCT coalesce(installation_id, 0), 0
    FROM jobs WHERE state IN ('pending', 'running');
"""


def _by_kind(column: str) -> str:
    """SQL for the default priority of the kind in ``column`` (``KIND_PRIORITIES``)."""
    cases = " ".join(
        f"WHEN '{kind.replace(chr(39), chr(39) * 2)}' THEN {int(priority)}"
        for kind, priority in sorted(KIND_PRIORITIES.items())
    )
    return f"CASE {column} {cases} ELSE {int(Priority.NORMAL)} END"


def _priority_trigger() -> str:
    """Rows inserted without a priority (the intake's) get their kind's."""
    return (
        "CREATE TRIGGER jobs_priority AFTER INSERT ON jobs WHEN NEW.priority IS NULL BEGIN "  # noqa: S608
        f"UPDATE jobs SET priority = {_by_kind('NEW.kind')} WHERE id = NEW.id; END"
    )


def prepare(store: Store) -> None:
    """Add the queue's column, tables, indexes and triggers to the store (idempotent)."""
    with store.transaction() as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_xinfo(jobs)")}
        added = "priority" not in columns
        if added:
            conn.execute("ALTER TABLE jobs ADD COLUMN priority INTEGER")
        if "turn" not in columns:
            # Jobs without an installation share turn 0. A column, not an index on the
            # expression: SQLite uses the latter only against constants, not per turn.
            conn.execute(
                "ALTER TABLE jobs ADD COLUMN turn INTEGER "
                "GENERATED ALWAYS AS (coalesce(installation_id, 0)) VIRTUAL"
            )
        for statement in _statements(_SCHEMA):
            conn.execute(statement)
        trigger = _priority_trigger()
        known = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'jobs_priority'"
        ).fetchone()
        if known is None or known[0] != trigger:  # new, or KIND_PRIORITIES changed
            conn.execute("DROP TRIGGER IF EXISTS jobs_priority")
            conn.execute(trigger)
        if added:
            for statement in _statements(_BACKFILL.format(by_kind=_by_kind("kind"))):
                conn.execute(statement)


def _statements(script: str) -> list[str]:
    """``script`` split into statements (``executescript`` would commit the transaction)."""
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if line.rstrip().endswith(";") and sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    return statements


def _job(row: sqlite3.Row | tuple[Any, ...]) -> Job:
    priority = row[16]
    return replace(
        job_from_row(row), priority=Priority.NORMAL if priority is None else Priority(priority)
    )


@dataclass(frozen=True)
class QueueStats:
    """Jobs per state, and how long the oldest due job has waited (seconds)."""

    by_state: dict[JobState, int]
    oldest_ready_age: float


class JobQueue(Protocol):
    """What workers, handlers and the CLI need from a queue; keep it this narrow."""

    def enqueue(self, spec: JobSpec) -> Job:
        """Schedule ``spec``; a second call with the same dedupe key returns the first job."""
        ...

    def claim(self, owner: str, lease_seconds: float) -> Job | None:
        """Lease the next due job (pending, or running with an expired lease)."""
        ...

    def extend(self, owner: str, lease_seconds: float) -> int:
        """Push back the lease of every job ``owner`` runs; returns how many."""
        ...

    def complete(self, job_id: int, owner: str) -> bool: ...

    def fail(
        self, job_id: int, owner: str, error: str, retry_at: float | None, *, refund: bool = False
    ) -> bool:
        """Record a failure: retry at ``retry_at``, or dead-letter when it is None.

        True only for the owner whose lease this ends: a job is dead-lettered once, by
        one worker, so whatever follows its death (the kind's ``on_dead``) runs once.
        ``refund``: the current attempt never ran (it only found the job abandoned).
        """
        ...

    def release(
        self, job_id: int, owner: str, run_at: float | None = None, *, refund: bool = True
    ) -> bool:
        """Give a job back unfinished; ``refund`` does not count the attempt."""
        ...

    def release_owners(self, is_dead: Callable[[str], bool], due_in: float = 0.0) -> int:
        """Release every lease held by an owner ``is_dead`` says is gone; its jobs are
        pending again, due ``due_in`` seconds from now."""
        ...

    def pause_installation(self, installation_id: int, until: float) -> None:
        """Hold every job of this installation until ``until`` (epoch seconds)."""
        ...

    def get(self, job_id: int) -> Job | None: ...

    def list(self, states: Collection[JobState] = (), limit: int = 100) -> list[Job]: ...

    def retry(self, job_id: int) -> Job:
        """Re-drive a dead job: pending now, attempts reset."""
        ...

    def stats(self) -> QueueStats: ...

    def prune(self, done_before: float, dead_before: float, limit: int) -> int:
        """Delete up to ``limit`` done jobs finished before ``done_before`` and dead ones
        before ``dead_before``, with their dedupe keys; returns how many went."""
        ...


class SqliteJobQueue:
    """:class:`JobQueue` on the SQLite :class:`Store` (the default backend)."""

    def __init__(
        self, store: Store, clock: Clock, new_id: Callable[[], str] = lambda: uuid.uuid4().hex
    ) -> None:
        self._store = store
        self._clock = clock
        self._new_id = new_id
        prepare(store)

    def enqueue(self, spec: JobSpec) -> Job:
        trace_id = spec.trace_id or self._new_id()
        spec = replace(
            spec, trace_id=trace_id, dedupe_key=spec.dedupe_key or f"{spec.kind}:{trace_id}"
        )
        with self._store.transaction() as conn:
            before = conn.total_changes
            job_id = insert_job(conn, spec, self._clock.now())
            if spec.priority is not None and conn.total_changes > before:
                conn.execute(
                    "UPDATE jobs SET priority = ? WHERE id = ?", (int(spec.priority), job_id)
                )
        return self._require(job_id)

    def claim(self, owner: str, lease_seconds: float) -> Job | None:
        now = self._clock.now()
        params = {"owner": owner, "expires": now + lease_seconds, "now": now}
        with self._store.transaction() as conn:
            conn.execute(_EXPIRE, params)
            job_id = self._take_turn(conn, now)
            if job_id is None:
                return None
            row = conn.execute(_CLAIM, {**params, "id": job_id}).fetchone()
        return _job(row)

    def _take_turn(self, conn: sqlite3.Connection, now: float) -> int | None:
        """The next job by class and turn; its installation goes to the back."""
        tick = int(conn.execute(_TICK).fetchone()[0])
        for priority in class_order(tick):
            turns = conn.execute(_TURNS, {"class": int(priority), "now": now})
            found = next((row for row in turns if row[1] is not None), None)
            turns.close()
            if found is not None:
                conn.execute(_TAKE_TURN, (found[0],))
                return int(found[1])
        return None

    def extend(self, owner: str, lease_seconds: float) -> int:
        now = self._clock.now()
        with self._store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET lease_expires = ?, updated_at = ? "
                "WHERE state = 'running' AND lease_owner = ?",
                (now + lease_seconds, now, owner),
            )
        return cursor.rowcount

    def complete(self, job_id: int, owner: str) -> bool:
        return self._transition(job_id, owner, "state = 'done'", ())

    def fail(
        self, job_id: int, owner: str, error: str, retry_at: float | None, *, refund: bool = False
    ) -> bool:
        trimmed = error[-MAX_ERROR_CHARS:]
        refunded = _REFUND if refund else ""
        if retry_at is None:
            return self._transition(
                job_id, owner, f"{refunded}state = 'dead', last_error = ?", (trimmed,)
            )
        return self._transition(
            job_id,
            owner,
            f"{refunded}state = 'pending', run_at = ?, last_error = ?",
            (retry_at, trimmed),
        )

    def release(
        self, job_id: int, owner: str, run_at: float | None = None, *, refund: bool = True
    ) -> bool:
        when = self._clock.now() if run_at is None else run_at
        refunded = _REFUND if refund else ""
        return self._transition(job_id, owner, f"{refunded}state = 'pending', run_at = ?", (when,))

    def release_owners(self, is_dead: Callable[[str], bool], due_in: float = 0.0) -> int:
        with self._store.reading() as conn:
            owners = [
                row[0]
                for row in conn.execute(
                    "SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running'"
                )
            ]
        now = self._clock.now()
        released = 0
        for owner in filter(is_dead, owners):
            with self._store.transaction() as conn:
                released += conn.execute(
                    "UPDATE jobs SET state = 'pending', run_at = ?, lease_owner = NULL, "
                    "lease_expires = NULL, updated_at = ? "
                    "WHERE state = 'running' AND lease_owner = ?",
                    (now + due_in, now, owner),
                ).rowcount
        return released

    def pause_installation(self, installation_id: int, until: float) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO installation_pauses (installation_id, not_before) VALUES (?, ?) "
                "ON CONFLICT (installation_id) "
                "DO UPDATE SET not_before = max(not_before, excluded.not_before)",
                (installation_id, until),
            )

    def paused_until(self, installation_id: int) -> float | None:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT not_before FROM installation_pauses WHERE installation_id = ?",
                (installation_id,),
            ).fetchone()
        return None if row is None else float(row[0])

    def get(self, job_id: int) -> Job | None:
        with self._store.reading() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()  # noqa: S608
        return None if row is None else _job(row)

    def list(self, states: Collection[JobState] = (), limit: int = 100) -> list[Job]:
        wanted = [state.value for state in states] or [state.value for state in JobState]
        marks = ", ".join("?" * len(wanted))
        with self._store.reading() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE state IN ({marks}) "  # noqa: S608
                "ORDER BY id DESC LIMIT ?",
                (*wanted, limit),
            ).fetchall()
        return [_job(row) for row in reversed(rows)]

    def retry(self, job_id: int) -> Job:
        job = self.get(job_id)
        if job is None:
            raise QueueError(f"no job with id {job_id}")
        if job.state is not JobState.DEAD:
            raise QueueError(f"job {job_id} is {job.state.value}; only dead jobs can be retried")
        now = self._clock.now()
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'pending', attempts = 0, run_at = ?, updated_at = ? "
                "WHERE id = ? AND state = 'dead'",
                (now, now, job_id),
            )
        return self._require(job_id)

    def stats(self) -> QueueStats:
        now = self._clock.now()
        with self._store.reading() as conn:
            counts = dict(
                conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
            )
            oldest = conn.execute(
                "SELECT min(run_at) FROM jobs WHERE state = 'pending' AND run_at <= ?", (now,)
            ).fetchone()[0]
        by_state = {state: int(counts.get(state.value, 0)) for state in JobState}
        return QueueStats(by_state, 0.0 if oldest is None else max(now - oldest, 0.0))

    def prune(self, done_before: float, dead_before: float, limit: int) -> int:
        pruned = 0
        with self._store.transaction() as conn:
            for state, before in ((JobState.DONE, done_before), (JobState.DEAD, dead_before)):
                if pruned < limit:
                    batch = {"state": state.value, "before": before, "limit": limit - pruned}
                    deleted = conn.execute(_PRUNE_JOBS, batch)
                    pruned += deleted.rowcount
            conn.execute(_PRUNE_DELIVERIES, (done_before, limit))
            conn.execute(_PRUNE_TURNS)
        return pruned

    def _transition(
        self, job_id: int, owner: str, assignments: str, params: tuple[object, ...]
    ) -> bool:
        """Apply a state change only if ``owner`` still holds the job's lease."""
        now = self._clock.now()
        with self._store.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE jobs SET {assignments}, lease_owner = NULL, lease_expires = NULL, "  # noqa: S608
                "updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
                (*params, now, job_id, owner),
            )
        return cursor.rowcount == 1

    def _require(self, job_id: int) -> Job:
        job = self.get(job_id)
        if job is None:
            raise QueueError(f"job {job_id} vanished")
        return job

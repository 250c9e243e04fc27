"""The job queue: a narrow Protocol and its SQLite implementation (leases, retries, pauses).

Semantics: at-least-once. A job is claimed under a lease; if its worker dies, the
lease expires (or is released at the next start) and the job runs again, so handlers
make their effects idempotent (check before write). Retry *policy* (backoff, how many
attempts) belongs to the worker; the queue only records state transitions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Protocol

from bot.context import Clock
from bot.errors import QueueError
from bot.jobs import Job, JobSpec, JobState
from bot.store import JOB_COLUMNS, Store, insert_job, job_from_row

MAX_ERROR_CHARS = 4000
_REFUND = "attempts = max(attempts - 1, 0), "

_UNPAUSED = "(p.not_before IS NULL OR p.not_before <= :now)"
_PAUSES = "LEFT JOIN installation_pauses p ON p.installation_id = coalesce(j.installation_id, 0)"
# Two index-friendly candidates (the oldest due pending job, the oldest expired lease),
# then the earlier of the two: a claim never scans finished jobs.
_NEXT_DUE = (
    f"SELECT id FROM (SELECT * FROM (SELECT j.id, j.run_at FROM jobs j {_PAUSES} "  # noqa: S608
    f"WHERE j.state = 'pending' AND j.run_at <= :now AND {_UNPAUSED} "
    "ORDER BY j.run_at, j.id LIMIT 1) "
    f"UNION ALL SELECT * FROM (SELECT j.id, j.run_at FROM jobs j {_PAUSES} "
    f"WHERE j.state = 'running' AND j.lease_expires <= :now AND {_UNPAUSED} "
    "ORDER BY j.lease_expires LIMIT 1)) ORDER BY run_at, id LIMIT 1"
)
_CLAIM = (
    "UPDATE jobs SET state = 'running', lease_owner = :owner, "  # noqa: S608
    "lease_expires = :expires, attempts = attempts + 1, updated_at = :now "
    f"WHERE id = ({_NEXT_DUE}) RETURNING {JOB_COLUMNS}"
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

    def release_owners(self, is_dead: Callable[[str], bool]) -> int:
        """Release every lease held by an owner ``is_dead`` says is gone."""
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


class SqliteJobQueue:
    """:class:`JobQueue` on the SQLite :class:`Store` (the default backend)."""

    def __init__(
        self, store: Store, clock: Clock, new_id: Callable[[], str] = lambda: uuid.uuid4().hex
    ) -> None:
        self._store = store
        self._clock = clock
        self._new_id = new_id

    def enqueue(self, spec: JobSpec) -> Job:
        trace_id = spec.trace_id or self._new_id()
        spec = replace(
            spec, trace_id=trace_id, dedupe_key=spec.dedupe_key or f"{spec.kind}:{trace_id}"
        )
        with self._store.transaction() as conn:
            job_id = insert_job(conn, spec, self._clock.now())
        return self._require(job_id)

    def claim(self, owner: str, lease_seconds: float) -> Job | None:
        now = self._clock.now()
        params = {"owner": owner, "expires": now + lease_seconds, "now": now}
        with self._store.transaction() as conn:
            row = conn.execute(_CLAIM, params).fetchone()
        return None if row is None else job_from_row(row)

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

    def release_owners(self, is_dead: Callable[[str], bool]) -> int:
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
                    (now, now, owner),
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
            row = conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()  # noqa: S608
        return None if row is None else job_from_row(row)

    def list(self, states: Collection[JobState] = (), limit: int = 100) -> list[Job]:
        wanted = [state.value for state in states] or [state.value for state in JobState]
        marks = ", ".join("?" * len(wanted))
        with self._store.reading() as conn:
            rows = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ({marks}) "  # noqa: S608
                "ORDER BY id DESC LIMIT ?",
                (*wanted, limit),
            ).fetchall()
        return [job_from_row(row) for row in reversed(rows)]

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

"""The durable plan store: one row per issue in TechLead's SQLite database, the source of truth.

A row holds the plan (JSON), the research findings it was made from, the error that
stopped the last planning attempt, the id of the checklist comment mirroring it, and
the timings of the last run. Two mechanisms keep concurrent jobs for one issue from
overwriting each other:

* a **lease** per issue (:meth:`PlanStore.lease`): a job holds it while it reads the
  row, decides and writes to GitHub, so two jobs never edit the checklist at once;
  an expired lease can be taken over, and so can one whose holder process is gone
  (``kill -9`` of a worker: its retried job must not wait out the lease);
* a **row version** (``revision``): :meth:`PlanStore.save` writes only if the row is
  still at the revision the job read (optimistic concurrency); otherwise it raises
  :class:`PlanStoreConflict` and the job queue runs the job again on fresh data.

The table lives next to the job queue's tables (``bot.store``); it is created through
``Store.transaction()``, where SQLite runs ``CREATE TABLE`` transactionally like any
other statement, so the store needs no plan-specific code.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agents.research.model import Findings
from bot.context import Clock, SystemClock
from bot.errors import PlanBusy, PlanStoreConflict
from bot.owners import lease_owner_id, owner_is_dead
from bot.plan.model import Plan, PlanState
from bot.store import Store

DEFAULT_LEASE_SECONDS = 300.0
DEFAULT_WAIT_SECONDS = 120.0
POLL_SECONDS = 0.05

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS plans (
        repo          TEXT NOT NULL,
        issue         INTEGER NOT NULL,
        revision      INTEGER NOT NULL DEFAULT 0,
        state         TEXT,
        plan          TEXT,
        findings      TEXT,
        error         TEXT,
        error_body    TEXT,
        comment_id    INTEGER,
        timings       TEXT,
        lease_owner   TEXT,
        lease_expires REAL,
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL,
        PRIMARY KEY (repo, issue)
    )""",
    "CREATE INDEX IF NOT EXISTS plans_by_state ON plans (state)",
)
_COLUMNS = "repo, issue, revision, plan, findings, error, error_body, comment_id, timings"
_ACQUIRE = (
    "INSERT INTO plans (repo, issue, lease_owner, lease_expires, created_at, updated_at) "
    "VALUES (:repo, :issue, :owner, :expires, :now, :now) "
    "ON CONFLICT (repo, issue) DO UPDATE SET lease_owner = :owner, lease_expires = :expires "
    "WHERE plans.lease_owner IS NULL OR plans.lease_expires <= :now "
    "OR plans.lease_owner = :owner"
)
_HOLDER = "SELECT lease_owner FROM plans WHERE repo = :repo AND issue = :issue"
_TAKE_OVER = (
    "UPDATE plans SET lease_owner = :owner, lease_expires = :expires "
    "WHERE repo = :repo AND issue = :issue AND lease_owner = :holder"
)
_SAVE = (
    "UPDATE plans SET revision = revision + 1, state = :state, plan = :plan, "
    "findings = :findings, error = :error, error_body = :error_body, "
    "comment_id = :comment_id, timings = :timings, updated_at = :now "
    "WHERE repo = :repo AND issue = :issue AND revision = :revision"
)
_INSERT = (
    "INSERT INTO plans (repo, issue, revision, state, plan, findings, error, error_body, "
    "comment_id, timings, created_at, updated_at) VALUES (:repo, :issue, 1, :state, :plan, "
    ":findings, :error, :error_body, :comment_id, :timings, :now, :now) "
    "ON CONFLICT (repo, issue) DO NOTHING"
)

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class PlanRecord:
    """What the store knows about one issue. ``revision`` 0: nothing saved yet.

    ``plan`` is the latest valid plan (kept while ``error`` explains why the latest
    attempt produced none, so fixing the issue re-plans incrementally).
    """

    repo: str
    issue: int
    revision: int = 0
    plan: Plan | None = None
    findings: Findings | None = None
    error: str | None = None
    error_body: str | None = None
    comment_id: int | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def state(self) -> PlanState | None:
        """The state people see: invalid while an error stands, else the plan's own."""
        if self.error is not None:
            return PlanState.INVALID
        return self.plan.state if self.plan is not None else None

    def with_plan(self, plan: Plan, findings: Findings | None = None) -> PlanRecord:
        """A valid plan replaces any standing error."""
        kept = self.findings if findings is None else findings
        return replace(self, plan=plan, findings=kept, error=None, error_body=None)

    def with_error(self, message: str, body: str) -> PlanRecord:
        return replace(self, error=message, error_body=body)


class PlanStore:
    """Plan rows in ``store``'s database; see the module docstring for the guarantees."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        sleep: Sleep = time.sleep,
        new_owner: Callable[[], str] = lease_owner_id,
    ) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._new_owner = new_owner
        with store.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    @classmethod
    @contextmanager
    def open(cls, data_dir: Path, *, clock: Clock | None = None) -> Iterator[PlanStore]:
        """A plan store on its own connection to ``data_dir``'s database, closed afterwards.

        Jobs open one per run: SQLite's WAL lets it work beside the queue's connection,
        and a job holds no connection between runs.
        """
        store = Store.open(data_dir)
        try:
            yield cls(store, clock=clock)
        finally:
            store.close()

    # -- reading

    def load(self, repo: str, issue: int) -> PlanRecord:
        """The stored record, or an empty one (revision 0) when nothing was saved."""
        with self._store.reading() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM plans WHERE repo = ? AND issue = ?",  # noqa: S608
                (repo.lower(), issue),
            ).fetchone()
        return PlanRecord(repo, issue) if row is None else _record(repo, row)

    def records(self) -> list[PlanRecord]:
        """Every saved record, oldest first (diagnostics, the demo and benchmarks)."""
        with self._store.reading() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM plans WHERE revision > 0 ORDER BY created_at"  # noqa: S608
            ).fetchall()
        return [_record(row[0], row) for row in rows]

    # -- writing

    def save(self, record: PlanRecord) -> PlanRecord:
        """Write ``record`` if the row is still at ``record.revision``; returns it as saved.

        Raises :class:`PlanStoreConflict` when another job saved in between.
        """
        params = {**record_columns(record), "now": self._clock.now(), "revision": record.revision}
        with self._store.transaction() as conn:
            saved = conn.execute(_SAVE, params).rowcount == 1
            if not saved and record.revision == 0:
                saved = conn.execute(_INSERT, params).rowcount == 1
        if not saved:
            raise PlanStoreConflict(record.repo, record.issue)
        return replace(record, revision=record.revision + 1)

    # -- the per-issue lease

    @contextmanager
    def lease(
        self,
        repo: str,
        issue: int,
        *,
        seconds: float = DEFAULT_LEASE_SECONDS,
        wait: float = DEFAULT_WAIT_SECONDS,
    ) -> Iterator[None]:
        """Hold the issue's lease for the block; wait up to ``wait`` s for another holder.

        Raises :class:`PlanBusy` when the wait runs out. A lease lasts ``seconds``; a
        holder that died on another host leaves it to expire, one that died on this host
        leaves it to be taken over at once.
        """
        owner = self._new_owner()
        acquire = functools.partial(self._try_acquire, repo, issue, owner, seconds)
        wait_for_lease(acquire, self._clock, self._sleep, repo, issue, wait)
        try:
            yield
        finally:
            self._release(repo, issue, owner)

    def _try_acquire(self, repo: str, issue: int, owner: str, seconds: float) -> bool:
        now = self._clock.now()
        params = {
            "repo": repo.lower(),
            "issue": issue,
            "owner": owner,
            "expires": now + seconds,
            "now": now,
        }
        with self._store.transaction() as conn:
            if conn.execute(_ACQUIRE, params).rowcount == 1:
                return True
            row = conn.execute(_HOLDER, params).fetchone()
            if row is None or row[0] is None or not owner_is_dead(row[0], owner):
                return False
            return conn.execute(_TAKE_OVER, {**params, "holder": row[0]}).rowcount == 1

    def _release(self, repo: str, issue: int, owner: str) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE plans SET lease_owner = NULL, lease_expires = NULL "
                "WHERE repo = ? AND issue = ? AND lease_owner = ?",
                (repo.lower(), issue, owner),
            )


def wait_for_lease(
    acquire: Callable[[], bool], clock: Clock, sleep: Sleep, repo: str, issue: int, wait: float
) -> None:
    """Poll ``acquire`` until it takes the lease; :class:`PlanBusy` after ``wait`` seconds."""
    started = clock.now()
    while not acquire():
        waited = clock.now() - started
        if waited >= wait:
            raise PlanBusy(repo, issue, waited)
        sleep(POLL_SECONDS)


def record_columns(record: PlanRecord) -> dict[str, Any]:
    """The stored form of ``record`` (JSON text in the plan, findings and timings)."""
    state = record.state
    return {
        # GitHub repository names compare case-insensitively.
        "repo": record.repo.lower(),
        "issue": record.issue,
        "state": state.value if state is not None else None,
        "plan": _dump(record.plan.to_dict() if record.plan else None),
        "findings": _dump(record.findings.to_dict() if record.findings else None),
        "error": record.error,
        "error_body": record.error_body,
        "comment_id": record.comment_id,
        "timings": _dump(record.timings or None),
    }


def record_from_columns(repo: str, revision: int, columns: dict[str, Any]) -> PlanRecord:
    """The record :func:`record_columns` stored, at ``revision``."""
    names = ("plan", "findings", "error", "error_body", "comment_id", "timings")
    return _record(repo, (repo, columns["issue"], revision, *(columns.get(n) for n in names)))


def _record(repo: str, row: tuple[Any, ...]) -> PlanRecord:
    _, issue, revision, plan, findings, error, error_body, comment_id, timings = row
    return PlanRecord(
        repo=repo,
        issue=int(issue),
        revision=int(revision),
        plan=Plan.from_dict(json.loads(plan)) if plan else None,
        findings=Findings.from_dict(json.loads(findings)) if findings else None,
        error=error,
        error_body=error_body,
        comment_id=comment_id,
        timings=json.loads(timings) if timings else {},
    )


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

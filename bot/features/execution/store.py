"""Execution records in TechLead's SQLite database, next to the plans they carry out.

One row per issue holds the :class:`~bot.features.execution.model.Run` as JSON. Writers
hold the issue's plan lease (``bot.plans.PlanStore.lease``); the row version makes a
write that lost a race raise :class:`~bot.errors.PlanStoreConflict` (the job runs again).

Two columns mirror the JSON for the one question asked on every scheduling step, "what
else of this installation is under way?": ``installation`` and ``active``. Finished runs
stay as history (the dashboard and /metrics read them) without slowing that question.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bot.context import Clock, SystemClock
from bot.errors import PlanStoreConflict
from bot.features.execution.model import Run
from bot.store import Store

SCHEMA = """CREATE TABLE IF NOT EXISTS plan_runs (
    repo       TEXT NOT NULL,
    issue      INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    run        TEXT NOT NULL,
    updated_at REAL NOT NULL,
    installation INTEGER,
    active     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, issue)
)"""
# Columns added after the first release: (name, declaration), added to older databases.
_ADDED_COLUMNS = (("installation", "INTEGER"), ("active", "INTEGER NOT NULL DEFAULT 0"))
_ACTIVE_INDEX = "CREATE INDEX IF NOT EXISTS plan_runs_active ON plan_runs (active, installation)"
_UPDATE = (
    "UPDATE plan_runs SET revision = revision + 1, run = :run, updated_at = :now, "
    "installation = :installation, active = :active "
    "WHERE repo = :repo AND issue = :issue AND revision = :revision"
)
_INSERT = (
    "INSERT INTO plan_runs (repo, issue, revision, run, updated_at, installation, active) "
    "VALUES (:repo, :issue, 1, :run, :now, :installation, :active) "
    "ON CONFLICT (repo, issue) DO NOTHING"
)


class RunStore:
    """Load and save :class:`Run` rows with optimistic concurrency."""

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        with store.transaction() as conn:
            conn.execute(SCHEMA)
            _add_columns(conn)
            conn.execute(_ACTIVE_INDEX)

    @classmethod
    @contextmanager
    def open(cls, data_dir: Path, clock: Clock | None = None) -> Iterator[RunStore]:
        store = Store.open(data_dir)
        try:
            yield cls(store, clock)
        finally:
            store.close()

    def load(self, repo: str, issue: int) -> Run:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT revision, run FROM plan_runs WHERE repo = ? AND issue = ?",
                (repo.lower(), issue),
            ).fetchone()
        if row is None:
            return Run(repo, issue)
        return load_run(repo, int(row[0]), row[1])

    def save(self, run: Run) -> Run:
        params = {
            "repo": run.repo.lower(),
            "issue": run.issue,
            "run": dump_run(run),
            "now": self._clock.now(),
            "revision": run.revision,
            "installation": run.installation,
            "active": int(run.active),
        }
        with self._store.transaction() as conn:
            saved = conn.execute(_UPDATE, params).rowcount == 1
            if not saved and run.revision == 0:
                saved = conn.execute(_INSERT, params).rowcount == 1
        if not saved:
            raise PlanStoreConflict(run.repo, run.issue)
        return replace(run, revision=run.revision + 1)

    def runs(self) -> list[Run]:
        """Every saved run (the metrics read them all)."""
        with self._store.reading() as conn:
            rows = conn.execute("SELECT repo, revision, run FROM plan_runs").fetchall()
        return [load_run(repo, int(revision), raw) for repo, revision, raw in rows]

    def find_branch(self, repo: str, branch: str) -> int | None:
        """The issue whose run owns ``branch`` (a task's or the integration branch)."""
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT issue, run FROM plan_runs WHERE repo = ?", (repo.lower(),)
            ).fetchall()
        for issue, raw in rows:
            if owns_branch(Run.from_dict(json.loads(raw)), branch):
                return int(issue)
        return None

    def installation_load(self, installation: int | None, repo: str, issue: int) -> tuple[int, int]:
        """(plans with work under way, tasks in flight) of ``installation``'s other plans."""
        if installation is None:
            return 0, 0
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT repo, issue, run FROM plan_runs WHERE active = 1 AND installation = ?",
                (installation,),
            ).fetchall()
        others = (
            Run.from_dict(json.loads(raw))
            for other_repo, other_issue, raw in rows
            if (other_repo, int(other_issue)) != (repo.lower(), issue)
        )
        return installation_load(others, installation)


def _add_columns(conn: sqlite3.Connection) -> None:
    """Bring a database written before the mirrored columns existed up to date."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(plan_runs)")}
    missing = [(name, kind) for name, kind in _ADDED_COLUMNS if name not in present]
    for name, kind in missing:
        conn.execute(f"ALTER TABLE plan_runs ADD COLUMN {name} {kind}")
    if missing:
        rows = conn.execute("SELECT repo, issue, run FROM plan_runs").fetchall()
        for repo, issue, raw in rows:
            run = Run.from_dict(json.loads(raw))
            conn.execute(
                "UPDATE plan_runs SET installation = ?, active = ? WHERE repo = ? AND issue = ?",
                (run.installation, int(run.active), repo, issue),
            )


def dump_run(run: Run) -> str:
    """The stored form of ``run`` (its revision lives beside it, not in it)."""
    return json.dumps({**run.to_dict(), "revision": 0}, separators=(",", ":"), sort_keys=True)


def load_run(repo: str, revision: int, raw: str | bytes) -> Run:
    """The run :func:`dump_run` stored, at ``revision``."""
    return replace(Run.from_dict(json.loads(raw)), repo=repo, revision=revision)


def owns_branch(run: Run, branch: str) -> bool:
    """Whether ``branch`` is the run's integration branch or one of its tasks' branches."""
    return branch in {run.integration_branch, *(task.branch for task in run.tasks.values())}


def installation_load(others: Iterable[Run], installation: int) -> tuple[int, int]:
    """(plans with work under way, tasks in flight) among ``others`` of ``installation``."""
    plans = tasks = 0
    for run in others:
        if run.installation == installation and run.active:
            plans += 1
            tasks += sum(1 for task in run.tasks.values() if task.phase.in_flight)
    return plans, tasks

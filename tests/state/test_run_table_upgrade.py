"""A database written before the run table mirrored ``installation`` and ``active`` still works."""

from __future__ import annotations

import json
from pathlib import Path

from bot.features.execution.model import Phase, Run, TaskRun
from bot.features.execution.store import RunStore, dump_run
from bot.store import Store

_OLD_SCHEMA = """CREATE TABLE plan_runs (
    repo       TEXT NOT NULL,
    issue      INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    run        TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (repo, issue)
)"""


def _run(issue: int, phase: Phase) -> Run:
    return Run("octo/shop", issue, installation=42, tasks={"t1": TaskRun(phase=phase)})


def test_an_older_run_table_gains_the_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        with store.transaction() as conn:
            conn.execute(_OLD_SCHEMA)
            for run in (_run(7, Phase.RUNNING), _run(8, Phase.MERGED)):
                conn.execute(
                    "INSERT INTO plan_runs VALUES (?, ?, 1, ?, 0)",
                    (run.repo, run.issue, dump_run(run)),
                )
        runs = RunStore(store)
        assert runs.installation_load(42, "octo/shop", 9) == (1, 1)
        assert runs.load("octo/shop", 8).tasks["t1"].phase is Phase.MERGED
        with store.reading() as conn:
            rows = conn.execute("SELECT issue, installation, active, run FROM plan_runs").fetchall()
        assert sorted(row[:3] for row in rows) == [(7, 42, 1), (8, 42, 0)]
        assert all(json.loads(row[3])["repo"] == "octo/shop" for row in rows)
        RunStore(store)  # opening again changes nothing
    finally:
        store.close()

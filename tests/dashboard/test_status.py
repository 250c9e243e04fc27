"""``techlead status``: the dashboard in a terminal, from the data dir or a running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.context import SystemClock
from bot.features.execution.model import Phase, Run, TaskRun
from bot.features.execution.store import RunStore
from bot.jobs import JobSpec
from bot.plan.model import Plan, PlanState, Task, TaskStatus
from bot.plans import PlanRecord, PlanStore
from bot.queue import SqliteJobQueue
from bot.rate_limits import RateLimitBook
from bot.settings import Settings
from bot.store import Store
from tests.dashboard.conftest import serving

pytestmark = pytest.mark.slow  # each case starts techlead in a subprocess

REPO = "octo/shop"
TOKEN = "ghs_" + "b" * 36


def seed(data_dir: Path) -> None:
    """One finished plan of two tasks, a done and a dead job, and a recorded budget."""
    now = time.time()
    clock = SystemClock()
    store = Store.open(data_dir)
    try:
        plan = Plan(
            title="Coupons at checkout",
            tasks=(
                Task("T1", "Define the coupon schema", "coder", status=TaskStatus.COMPLETED),
                Task("T2", "Add cart tests", "tester", status=TaskStatus.COMPLETED),
            ),
            issue_number=7,
            state=PlanState.DONE,
        )
        PlanStore(store).save(PlanRecord(REPO, 7, plan=plan))
        tasks = {
            "T1": TaskRun(Phase.MERGED, attempt=1, started_at=now - 60, finished_at=now - 30, pr=2),
            "T2": TaskRun(Phase.MERGED, attempt=1, started_at=now - 30, finished_at=now - 5, pr=3),
        }
        RunStore(store).save(Run(REPO, 7, started_at=now - 60, finished_at=now - 5, tasks=tasks))
        queue = SqliteJobQueue(store, clock)
        for kind in ("route", "task_run"):
            queue.enqueue(JobSpec(kind=kind, delivery_id=f"delivery-{kind}"))
        done, dead = queue.claim("w", 60), queue.claim("w", 60)
        assert done is not None and dead is not None
        queue.complete(done.id, "w")
        queue.fail(dead.id, "w", f"Traceback\nGitHubAuthError: bad credentials {TOKEN}", None)
        RateLimitBook(store, clock).note("installation:42", 4321, 5000, now + 1800)
    finally:
        store.close()


def status(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TECHLEAD_DATA_DIR": str(data_dir)}
    env.pop("TECHLEAD_QUEUE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "status", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    seed(tmp_path / "data")
    return tmp_path / "data"


def test_status_prints_the_dashboard_from_the_data_dir(data_dir: Path) -> None:
    done = status(data_dir=data_dir)

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("TechLead status · ")
    assert "Queue depth:   0 waiting or running, the oldest due for 0.0 s (jobs: 0 pending, " in out
    assert "1 done, 1 dead)" in out
    assert "Success rate:  last hour: 50.0% (1 done, 1 dead)" in out
    assert f"{REPO}#7 Coupons at checkout · done · 2/2 tasks done · 55 s" in out
    assert "T1 merged    [" in out and "· coder · Define the coupon schema (#2)" in out
    assert "T2 merged    [" in out and "· tester · Add cart tests (#3)" in out
    assert "· delivery delivery-task_run · GitHubAuthError: bad credentials [REDACTED]" in out
    assert TOKEN not in out
    assert "installation:42: 4321/5000 left, resets in 29 min" in out
    assert "\x1b" not in out, "plain text: no colour codes"


def test_status_from_a_running_server_matches_and_json_reads_back(data_dir: Path) -> None:
    with serving(Settings(data_dir=data_dir)) as url:
        remote = status("--url", url, data_dir=data_dir)
        as_json = status("--url", f"{url}/dashboard", "--json", data_dir=data_dir)

    local = status(data_dir=data_dir)
    assert remote.returncode == 0, remote.stderr
    # Everything but the first line (the time it was generated) and relative ages.
    assert _stable(remote.stdout) == _stable(local.stdout)
    view = json.loads(as_json.stdout)
    assert [row["id"] for row in view["timelines"][0]["rows"]] == ["T1", "T2"]
    assert view["rates"][0] == {"window": "last hour", "done": 1, "dead": 1}


def test_status_says_what_is_wrong_without_a_store_or_a_server(tmp_path: Path) -> None:
    missing = status(data_dir=tmp_path / "nothing")
    unreachable = status("--url", "http://127.0.0.1:9", data_dir=tmp_path)

    assert missing.returncode == 2
    assert "no TechLead store at" in missing.stderr and "TECHLEAD_DATA_DIR" in missing.stderr
    assert unreachable.returncode == 1
    assert "cannot read http://127.0.0.1:9" in unreachable.stderr


def _stable(text: str) -> list[str]:
    return [line.split(" (seen")[0].split(", resets in")[0] for line in text.splitlines()[1:]]

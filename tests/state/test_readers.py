"""With TECHLEAD_QUEUE_URL, /metrics and the dashboard read the plans and runs from Redis,
where every machine's workers write them, not from the serving machine's SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.context import SystemClock
from bot.dashboard import DashboardSource
from bot.features.execution.model import Phase
from bot.plans import PlanRecord
from bot.redis_queue import RedisJobQueue
from bot.run_metrics import OrchestrationCollector, collector_for
from bot.settings import Settings
from bot.state import close_clients, open_plan_store, open_run_store
from bot.store import Store
from tests.state.test_contract import REPO, a_plan, a_run


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Iterator[Settings]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()  # these readers use the default key prefix
    client.close()
    yield Settings.from_env({"TECHLEAD_DATA_DIR": str(tmp_path), "TECHLEAD_QUEUE_URL": redis_url})
    close_clients()


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = Store.open(settings.data_dir)
    yield opened
    opened.close()


def save_a_plan_and_its_run(settings: Settings) -> None:
    with open_plan_store(settings) as plans, open_run_store(settings) as runs:
        plans.save(PlanRecord(REPO, 7).with_plan(a_plan()))
        runs.save(a_run(7, 42, Phase.RUNNING, Phase.MERGED))


def test_metrics_count_the_tasks_of_plans_saved_in_redis(settings: Settings, store: Store) -> None:
    collector = collector_for(store, settings)
    assert task_count(collector) == 0
    save_a_plan_and_its_run(settings)
    assert task_count(collector) == len(a_plan().tasks) > 0


def task_count(collector: OrchestrationCollector) -> float:
    tasks = next(m for m in collector.collect() if m.name == "techlead_tasks")
    return sum(sample.value for sample in tasks.samples)


def test_the_dashboard_shows_plans_and_runs_saved_in_redis(
    settings: Settings, store: Store
) -> None:
    save_a_plan_and_its_run(settings)
    assert settings.queue_url is not None
    queue = RedisJobQueue.from_url(settings.queue_url, SystemClock())
    try:
        snapshot = DashboardSource(store, queue, SystemClock(), settings).snapshot()
    finally:
        queue.close()
    assert [(repo, issue) for repo, issue, _ in snapshot.plans] == [("octo/shop", 7)]
    assert [(run.repo, run.issue, len(run.tasks)) for run in snapshot.runs] == [("octo/shop", 7, 2)]

"""/metrics' orchestration series: the pure figures, and a real plan carried out on the sandbox."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.features.execution.model import Phase, Run, TaskRun
from bot.plan.model import Plan, Task, TaskStatus
from bot.run_metrics import most_at_once, summarise
from tests.execution.conftest import Project

REPO = "octo/shop"


def plan_of(*tasks: tuple[str, str, TaskStatus]) -> Plan:
    return Plan(
        title="Coupons",
        tasks=tuple(Task(id=i, title=i, agent=agent, status=status) for i, agent, status in tasks),
    )


def task_run(
    phase: Phase, start: float, end: float | None, *, attempt: int = 1, pr: int | None = 1
) -> TaskRun:
    return TaskRun(
        phase=phase,
        attempt=attempt,
        started_at=start,
        finished_at=end,
        executor_seconds=(end - start) / 2 if end else 0.0,
        pr=pr,
        gates_passed=phase is Phase.MERGED,
    )


def test_tasks_by_status_and_specialist_and_the_rates() -> None:
    plan = plan_of(
        ("T1", "backend-developer", TaskStatus.COMPLETED),
        ("T2", "backend-developer", TaskStatus.COMPLETED),
        ("T3", "test-engineer", TaskStatus.FAILED),
    )
    run = Run(
        REPO,
        7,
        started_at=0.0,
        finished_at=10.0,
        tasks={
            "T1": task_run(Phase.MERGED, 0.0, 4.0),
            "T2": task_run(Phase.MERGED, 0.0, 6.0, attempt=2),
            "T3": task_run(Phase.FAILED, 6.0, 10.0, attempt=2),
        },
    )
    waiting = plan_of(("T1", "docs-writer", TaskStatus.PENDING))

    stats = summarise([(REPO, 7, plan), (REPO, 8, waiting)], [run])

    assert stats.tasks == {
        ("completed", "backend-developer"): 2,
        ("failed", "test-engineer"): 1,
        ("pending", "docs-writer"): 1,
    }
    assert stats.completion_rate == pytest.approx(2 / 3), "plans not yet executed do not count"
    assert (stats.gate_passes, stats.submissions) == (2, 5)
    assert sorted(stats.task_seconds) == [4.0, 6.0]
    # 14 task-seconds over 10 s with two tasks at once; executors used half of it.
    assert stats.efficiency == pytest.approx(0.7)
    assert stats.overhead == pytest.approx(0.65)


@pytest.mark.parametrize(
    ("spans", "most"),
    [([], 1), ([(0, 4), (4, 6)], 1), ([(0, 4), (1, 6), (2, 3)], 3), ([(0, 4), (1, 2), (3, 5)], 2)],
    ids=["nothing-ran", "back-to-back", "all-overlap", "two-at-most"],
)
def test_the_parallelism_used_is_the_most_tasks_at_once(
    spans: list[tuple[float, float]], most: int
) -> None:
    tasks = {f"T{n}": task_run(Phase.MERGED, a, b) for n, (a, b) in enumerate(spans)}
    assert most_at_once(Run(REPO, 1, tasks=tasks)) == most


def scrape(project: Project) -> dict[str, list[tuple[dict[str, str], float]]]:
    answer = httpx.get(project.techlead.url.replace("/webhook", "/metrics"), timeout=15)
    answer.raise_for_status()
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def completed(series: dict[str, list[tuple[dict[str, str], float]]]) -> float:
    return sum(
        v for labels, v in series.get("techlead_tasks", []) if labels["status"] == "completed"
    )


@pytest.mark.slow
@pytest.mark.sandbox
def test_after_a_plan_is_carried_out_metrics_count_every_task_completed(project: Project) -> None:
    issue = project.planned("Checkout.\n\n- [ ] Define the coupon schema\n- [ ] Add cart tests\n")
    before = scrape(project)

    project.approve(issue)

    plan = project.record(issue).plan
    assert plan is not None and all(t.status is TaskStatus.COMPLETED for t in plan.tasks)
    after = scrape(project)
    assert completed(after) - completed(before) == len(plan.tasks)
    assert after["techlead_runs_finished"][0][1] >= 1
    assert 0 < after["techlead_quality_score"][0][1] <= 1
    assert 0 < after["techlead_parallel_efficiency"][0][1] <= 1
    assert after["techlead_task_duration_seconds_count"][0][1] >= len(plan.tasks)
    states = {labels["state"] for labels, _ in after["techlead_queue_jobs"]}
    assert {"pending", "running", "done", "dead"} <= states, "queue depth and dead letters"
    assert "techlead_queue_oldest_ready_seconds" in after

"""Orchestration series for /metrics, computed from the stored plans and execution runs.

Read at scrape time from the SQLite store that every worker process writes (or, with
``TECHLEAD_QUEUE_URL``, from Redis, which every machine's workers write), so the
server's /metrics is right whichever process ran the tasks. The figures:

- tasks by status and specialist (the plan's view of each task);
- completion rate: completed tasks ÷ tasks of plans whose execution started;
- quality score: task attempts whose gates passed ÷ attempts that reached a pull
  request (each retry after failing gates is one more submission);
- time per task: a summary of finished tasks' wall time;
- parallel efficiency and coordination overhead over finished runs (Σ task time ÷
  (wall x tasks at once), and the share of that not spent in executors), as the
  plan's report computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from bot.errors import QueueError
from bot.features.execution.model import Phase, Run, TaskRun
from bot.features.execution.schedule import metrics as run_figures
from bot.plan.model import Plan, TaskStatus
from bot.settings import Settings
from bot.state import Plans, Runs, plans_beside, runs_beside
from bot.store import Store


@dataclass(frozen=True)
class OrchestrationStats:
    """One snapshot of every plan and run."""

    tasks: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, specialist)
    executed_tasks: int = 0
    completed_tasks: int = 0
    submissions: int = 0
    gate_passes: int = 0
    task_seconds: tuple[float, ...] = ()
    efficiency: float = 0.0
    overhead: float = 0.0
    finished_runs: int = 0

    @property
    def completion_rate(self) -> float:
        return self.completed_tasks / self.executed_tasks if self.executed_tasks else 0.0

    @property
    def quality_score(self) -> float:
        return self.gate_passes / self.submissions if self.submissions else 0.0


PlanOf = tuple[str, int, Plan]  # repository, issue, plan


def summarise(plans: Iterable[PlanOf], runs: Iterable[Run]) -> OrchestrationStats:
    """The figures over ``plans`` and the ``runs`` that carried some of them out."""
    by_key = {(run.repo.lower(), run.issue): run for run in runs}
    tasks: dict[tuple[str, str], int] = {}
    executed = completed = 0
    for repo, issue, plan in plans:
        for task in plan.tasks:
            key = (task.status.value, task.agent)
            tasks[key] = tasks.get(key, 0) + 1
        if (repo.lower(), issue) in by_key:
            executed += len(plan.tasks)
            completed += sum(1 for t in plan.tasks if t.status is TaskStatus.COMPLETED)
    task_runs = [task for run in by_key.values() for task in run.tasks.values()]
    finished = [run for run in by_key.values() if run.finished_at is not None]
    figures = [run_figures(run.tasks.values(), *span(run), most_at_once(run)) for run in finished]
    return OrchestrationStats(
        tasks=tasks,
        executed_tasks=executed,
        completed_tasks=completed,
        submissions=sum(submissions(task) for task in task_runs),
        gate_passes=sum(1 for task in task_runs if gates_passed(task)),
        task_seconds=tuple(task.seconds for task in task_runs if task.phase.done and task.seconds),
        efficiency=_mean(f.efficiency for f in figures),
        overhead=_mean(f.overhead for f in figures),
        finished_runs=len(finished),
    )


def submissions(task: TaskRun) -> int:
    """Attempts that pushed a head for the gates: every attempt once a pull request exists."""
    return max(task.attempt, 1) if task.pr is not None else 0


def gates_passed(task: TaskRun) -> bool:
    return task.gates_passed or task.phase is Phase.MERGED


def span(run: Run) -> tuple[float | None, float | None]:
    """The run's wall time, widened to cover every task (records are saved at different
    moments, so a task may finish after the run's own finish was noted)."""
    starts = [t.started_at for t in run.tasks.values() if t.started_at is not None]
    ends = [t.finished_at for t in run.tasks.values() if t.finished_at is not None]
    start = min([*starts, run.started_at] if run.started_at is not None else starts, default=None)
    end = max([*ends, run.finished_at] if run.finished_at is not None else ends, default=None)
    return start, end


def most_at_once(run: Run) -> int:
    """The most tasks that were under way at the same moment (the parallelism used)."""
    edges: list[tuple[float, int]] = []
    for task in run.tasks.values():
        if task.started_at is not None and task.finished_at is not None:
            edges += [(task.started_at, 1), (task.finished_at, -1)]
    busy = most = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        busy += step
        most = max(most, busy)
    return max(most, 1)


def _mean(values: Iterable[float]) -> float:
    found = list(values)
    return round(sum(found) / len(found), 3) if found else 0.0


# ------------------------------------------------------------------------------ reading


def snapshot(plans: Plans, runs: Runs) -> OrchestrationStats:
    records = plans.records()
    found = [(r.repo, r.issue, r.plan) for r in records if r.plan is not None]
    return summarise(found, runs.runs())


def collector_for(store: Store, settings: Settings | None = None) -> OrchestrationCollector:
    """The collector over ``store`` (it creates the tables it reads when nothing ran yet),
    or over Redis when ``settings`` keep the plans there (``TECHLEAD_QUEUE_URL``)."""
    plans, runs = plans_beside(store, settings), runs_beside(store, settings)
    return OrchestrationCollector(lambda: snapshot(plans, runs))


# ---------------------------------------------------------------------------- collector


class OrchestrationCollector(Collector):
    """Yields the orchestration series at every scrape."""

    def __init__(self, stats: Callable[[], OrchestrationStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        try:
            stats = self._stats()
        except QueueError:
            return
        tasks = GaugeMetricFamily(
            "techlead_tasks",
            "Plan tasks by status and specialist.",
            labels=["status", "specialist"],
        )
        for (status, specialist), count in sorted(stats.tasks.items()):
            tasks.add_metric([status, specialist], count)
        yield tasks
        yield from _gauges(stats)
        yield SummaryMetricFamily(
            "techlead_task_duration_seconds",
            "Wall time of finished tasks, from the first start to completion.",
            count_value=len(stats.task_seconds),
            sum_value=sum(stats.task_seconds),
        )


def _gauges(stats: OrchestrationStats) -> Iterator[Metric]:
    rows: list[tuple[str, str, Any]] = [
        (
            "techlead_tasks_completion_ratio",
            "Completed tasks ÷ tasks of plans whose execution started.",
            stats.completion_rate,
        ),
        (
            "techlead_quality_score",
            "Task attempts whose gates passed ÷ attempts that reached a pull request.",
            stats.quality_score,
        ),
        (
            "techlead_parallel_efficiency",
            "Mean over finished runs: Σ task time ÷ (wall time x tasks at once).",
            stats.efficiency,
        ),
        (
            "techlead_coordination_overhead",
            "Mean over finished runs: share of wall time x tasks at once not spent executing.",
            stats.overhead,
        ),
        ("techlead_runs_finished", "Execution runs that finished.", stats.finished_runs),
    ]
    for name, documentation, value in rows:
        yield GaugeMetricFamily(name, documentation, value=float(value))

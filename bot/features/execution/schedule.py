"""Pure scheduling decisions: which tasks start now, what waits for what, how well it went.

A task starts when the plan is approved (or running), its own dependencies are done
(completed or skipped), no task it is serialised after is still open, and fewer than
``max_parallel`` of the plan's tasks are in flight. Two tasks of one wave that name the
same path are serialised: the later waits for the earlier (an implicit dependency shown
on the checklist).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bot.features.execution.model import Metrics, Phase, Run, TaskRun
from bot.plan.assign import mentioned_paths
from bot.plan.model import Plan, PlanDiff, Task, TaskStatus
from bot.plan.model import task_id as new_task_id
from bot.plan.waves import plan_waves
from bot.ports import CheckRunInfo

_PASSING = frozenset({"success", "neutral", "skipped"})


def implicit_after(plan: Plan) -> dict[str, tuple[str, ...]]:
    """Task id -> earlier tasks of its wave that name one of its paths."""
    found: dict[str, tuple[str, ...]] = {}
    for wave in plan_waves(plan):
        seen: list[tuple[str, set[str]]] = []
        for task_id in wave:
            task = plan.task(task_id)
            if task is None:
                continue
            paths = set(mentioned_paths(f"{task.title}\n{task.body}"))
            before = tuple(other for other, theirs in seen if paths & theirs)
            if before:
                found[task_id] = before
            seen.append((task_id, paths))
    return found


def _settled(plan: Plan, task_id: str) -> bool:
    task = plan.task(task_id)
    return task is None or task.status in (TaskStatus.COMPLETED, TaskStatus.SKIPPED)


def ready(task: Task, plan: Plan, run: Run, after: Sequence[str] = ()) -> bool:
    """Whether ``task`` may start now (parallelism aside)."""
    if task.status is not TaskStatus.PENDING or not task.in_issue:
        return False
    if run.task(task.id).phase.in_flight:
        return False
    waits = [*task.depends_on, *after]
    return all(_settled(plan, other) for other in waits)


def in_flight(run: Run) -> int:
    return sum(1 for task in run.tasks.values() if task.phase.in_flight)


INSTALLATION_SLOTS = 8


def fair_share(max_parallel: int, other_plans: int, slots: int = INSTALLATION_SLOTS) -> int:
    """How many tasks one plan may have in flight: its ``max_parallel``, but no more than
    an equal share of the installation's slots among the plans with work under way (at
    least one, so every plan makes progress)."""
    return max(1, min(max_parallel, slots // (other_plans + 1)))


def startable(plan: Plan, run: Run, max_parallel: int) -> list[str]:
    """Task ids to start now, in wave order, within the plan's parallelism."""
    free = max(max_parallel - in_flight(run), 0)
    after = implicit_after(plan)
    chosen: list[str] = []
    for wave in plan_waves(plan):
        for task_id in wave:
            task = plan.task(task_id)
            if len(chosen) >= free:
                return chosen
            if task is not None and ready(task, plan, run, after.get(task_id, ())):
                chosen.append(task_id)
    return chosen


def all_done(plan: Plan) -> bool:
    """Every task of the issue is completed or skipped (and at least one completed)."""
    live = [task for task in plan.tasks if task.in_issue]
    finished = all(t.status in (TaskStatus.COMPLETED, TaskStatus.SKIPPED) for t in live)
    return finished and any(t.status is TaskStatus.COMPLETED for t in live)


def metrics(
    tasks: Iterable[TaskRun], started: float | None, ended: float | None, parallel: int
) -> Metrics:
    """Parallel efficiency = Σ task time ÷ (wall x parallelism); overhead = 1 - executor share."""
    runs = list(tasks)
    wall = max((ended or 0.0) - (started or 0.0), 0.0)
    task_seconds = sum(run.seconds for run in runs)
    executor = sum(run.executor_seconds for run in runs)
    used = max(min(parallel, len(runs)), 1)
    efficiency = task_seconds / (wall * used) if wall > 0 else 0.0
    overhead = 1.0 - executor / (wall * used) if wall > 0 else 0.0
    return Metrics(
        wall_seconds=round(wall, 3),
        task_seconds=round(task_seconds, 3),
        executor_seconds=round(executor, 3),
        parallelism=used,
        efficiency=round(efficiency, 3),
        overhead=round(max(overhead, 0.0), 3),
    )


class GateState(enum.StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class GateVerdict:
    state: GateState
    failed: tuple[str, ...] = ()
    summaries: tuple[str, ...] = ()


def gate_verdict(runs: Sequence[CheckRunInfo], expected: Sequence[str]) -> GateVerdict:
    """The required gates of one head: all expected runs completed and none failing."""
    latest: dict[str, CheckRunInfo] = {}
    for run in sorted(runs, key=lambda item: item.id):
        if run.name in expected:
            latest[run.name] = run
    if any(name not in latest or latest[name].status != "completed" for name in expected):
        return GateVerdict(GateState.PENDING)
    failed = tuple(name for name in expected if latest[name].conclusion not in _PASSING)
    return GateVerdict(GateState.FAILED if failed else GateState.PASSED, failed)


def gate_summary(runs: Sequence[CheckRunInfo], expected: Sequence[str]) -> tuple[str, ...]:
    """``name: conclusion`` of each expected gate's latest run (for the integration PR)."""
    latest = {run.name: run for run in sorted(runs, key=lambda item: item.id)}
    return tuple(
        f"{name}: {latest[name].conclusion or latest[name].status}"
        for name in expected
        if name in latest
    )


def phase_status(phase: Phase) -> TaskStatus:
    """The plan's task status for an execution phase."""
    if phase.done:
        return TaskStatus.COMPLETED
    if phase is Phase.FAILED:
        return TaskStatus.FAILED
    if phase is Phase.CANCELLED:
        return TaskStatus.CANCELLED
    if phase is Phase.WAITING:
        return TaskStatus.PENDING
    return TaskStatus.IN_PROGRESS


MAX_NEW_TASKS = 5
NEW_TASK_BODY = "Reported by {parent} while it ran."


def grow(plan: Plan, parent: str, titles: Sequence[str]) -> Plan:
    """The plan with the tasks an executor reported (dynamic re-planning): each waits for
    ``parent``, goes to the same specialist, and the plan's version increments with the
    additions as its diff. Titles already in the plan are not added twice."""
    source = plan.task(parent)
    known = {task.title.strip().lower() for task in plan.tasks}
    fresh: dict[str, str] = {}
    for title in (t.strip() for t in titles):
        if title and title.lower() not in known:
            fresh.setdefault(title.lower(), title)
    if source is None or not fresh:
        return plan
    added, number = [], plan.next_id
    for title in list(fresh.values())[:MAX_NEW_TASKS]:
        added.append(
            Task(
                id=new_task_id(number),
                title=title[:200],
                agent=source.agent,
                depends_on=(parent,),
                category=source.category,
                body=NEW_TASK_BODY.format(parent=parent),
            )
        )
        number += 1
    return replace(
        plan,
        tasks=(*plan.tasks, *added),
        next_id=number,
        version=plan.version + 1,
        diff=PlanDiff(added=tuple(task.id for task in added)),
    )

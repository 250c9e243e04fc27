"""Groups tasks into waves by dependency level; within a wave, by priority then id.

Wave A holds the tasks that wait for nothing in the plan; wave B those that wait only
for wave A, and so on. External dependencies (other issues) do not change a wave: they
hold a task back when it runs, not where it sits in the plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import CyclicPlanError
from bot.plan.deps import find_cycle
from bot.plan.model import Plan, Task


def compute_waves(tasks: Sequence[Task]) -> tuple[tuple[str, ...], ...]:
    """Task ids per wave. Raises CyclicPlanError when no order exists."""
    known = {task.id for task in tasks}
    level: dict[str, int] = {}
    remaining = list(tasks)
    while remaining:
        ready = [
            task
            for task in remaining
            if all(dep in level or dep not in known for dep in task.depends_on)
        ]
        if not ready:
            graph = {task.id: task.depends_on for task in tasks}
            raise CyclicPlanError(find_cycle(graph) or [remaining[0].id, remaining[0].id])
        for task in ready:
            level[task.id] = 1 + max((level[d] for d in task.depends_on if d in level), default=-1)
        remaining = [task for task in remaining if task.id not in level]
    waves: list[list[Task]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for task in tasks:
        waves[level[task.id]].append(task)
    return tuple(
        tuple(task.id for task in sorted(wave, key=lambda t: (t.priority.rank, t.number, t.id)))
        for wave in waves
    )


def plan_waves(plan: Plan) -> tuple[tuple[str, ...], ...]:
    return compute_waves(plan.tasks)


def wave_name(index: int) -> str:
    """A, B, ..., Z, AA, AB, ... for wave 0, 1, ..."""
    name = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        name = chr(ord("A") + remainder) + name
    return name


def wave_of(plan: Plan) -> dict[str, str]:
    """Task id -> wave name."""
    return {
        task_id: wave_name(index) for index, wave in enumerate(plan_waves(plan)) for task_id in wave
    }

"""Pure scheduling: who starts, implicit serialisation, metrics, gate verdicts, growth."""

from __future__ import annotations

import pytest

from bot.features.execution.branches import integration_branch, slug, task_branch
from bot.features.execution.model import Phase, Run, TaskRun
from bot.features.execution.schedule import (
    GateState,
    fair_share,
    gate_verdict,
    grow,
    implicit_after,
    metrics,
    startable,
)
from bot.plan.model import Plan, PlanState, Task, TaskStatus
from bot.ports import CheckRunInfo


def plan_of(*tasks: Task) -> Plan:
    return Plan("Coupons", tasks, issue_number=7, state=PlanState.APPROVED, next_id=len(tasks) + 1)


def task(
    number: int, *after: int, status: TaskStatus = TaskStatus.PENDING, title: str = ""
) -> Task:
    return Task(
        f"T{number}",
        title or f"Task {number}",
        "coder",
        status=status,
        depends_on=tuple(f"T{n}" for n in after),
    )


DONE = TaskStatus.COMPLETED
RUNNING = TaskRun(phase=Phase.RUNNING, attempt=1)


@pytest.mark.parametrize(
    ("plan", "run", "parallel", "expected"),
    [
        (plan_of(task(1), task(2), task(3, 1)), Run("o/r", 7), 4, ["T1", "T2"]),
        (plan_of(task(1), task(2), task(3), task(4)), Run("o/r", 7), 2, ["T1", "T2"]),
        (
            plan_of(task(1, status=TaskStatus.IN_PROGRESS), task(2), task(3)),
            Run("o/r", 7, tasks={"T1": RUNNING}),
            2,
            ["T2"],
        ),
        (plan_of(task(1, status=DONE), task(2, 1), task(3, 2)), Run("o/r", 7), 4, ["T2"]),
        (
            plan_of(task(1, status=TaskStatus.SKIPPED), task(2, 1)),
            Run("o/r", 7),
            4,
            ["T2"],
        ),
        (plan_of(task(1, status=TaskStatus.FAILED), task(2, 1)), Run("o/r", 7), 4, []),
        (
            plan_of(task(1, title="Edit src/cart.py"), task(2, title="Test src/cart.py")),
            Run("o/r", 7),
            4,
            ["T1"],
        ),
    ],
    ids=[
        "independent-start-dependents-wait",
        "bounded-by-max-parallel",
        "running-tasks-count",
        "after-completion",
        "skipped-dependency-counts-as-done",
        "failed-dependency-holds-dependents",
        "same-file-serialised",
    ],
)
def test_startable(plan: Plan, run: Run, parallel: int, expected: list[str]) -> None:
    assert startable(plan, run, parallel) == expected


def test_overlapping_paths_in_one_wave_are_an_implicit_dependency() -> None:
    plan = plan_of(
        task(1, title="Edit src/cart.py"),
        task(2, title="Document docs/api.md"),
        task(3, title="Speed up src/cart.py and docs/api.md"),
    )
    assert implicit_after(plan) == {"T3": ("T1", "T2")}


def test_metrics_are_efficiency_and_overhead() -> None:
    tasks = [
        TaskRun(started_at=0.0, finished_at=10.0, executor_seconds=8.0),
        TaskRun(started_at=0.0, finished_at=10.0, executor_seconds=8.0),
    ]
    m = metrics(tasks, 0.0, 10.0, parallel=4)
    assert (m.parallelism, m.efficiency, m.overhead) == (2, 1.0, 0.2)
    assert metrics([], None, None, 4).efficiency == 0.0


def run_of(name: str, status: str, conclusion: str | None, number: int = 1) -> CheckRunInfo:
    return CheckRunInfo(number, name, "sha", status, conclusion, None)


@pytest.mark.parametrize(
    ("runs", "state", "failed"),
    [
        ([], GateState.PENDING, ()),
        ([run_of("L1", "in_progress", None)], GateState.PENDING, ()),
        ([run_of("L1", "completed", "success")], GateState.PASSED, ()),
        ([run_of("L1", "completed", "neutral")], GateState.PASSED, ()),
        ([run_of("L1", "completed", "failure")], GateState.FAILED, ("L1",)),
        (
            [run_of("L1", "completed", "failure", 1), run_of("L1", "completed", "success", 2)],
            GateState.PASSED,
            (),
        ),
        ([run_of("other", "completed", "failure")], GateState.PENDING, ()),
    ],
    ids=["none-yet", "running", "passed", "advisory", "failed", "rerun-passed", "not-ours"],
)
def test_gate_verdict(runs: list[CheckRunInfo], state: GateState, failed: tuple[str, ...]) -> None:
    verdict = gate_verdict(runs, ["L1"])
    assert (verdict.state, verdict.failed) == (state, failed)


def test_no_expected_gates_pass_at_once() -> None:
    assert gate_verdict([], []).state is GateState.PASSED


def test_reported_tasks_join_after_their_parent_once() -> None:
    plan = plan_of(task(1), task(2, 1))
    grown = grow(plan, "T1", ["Write the guide", "write the guide ", "Task 2"])
    assert [t.id for t in grown.tasks] == ["T1", "T2", "T3"]
    assert grown.task("T3").depends_on == ("T1",) and grown.version == plan.version + 1
    assert grown.diff is not None and grown.diff.added == ("T3",)
    assert grow(grown, "T1", ["Write the guide"]) == grown


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Add coupons to the cart!", "add-coupons-to-the-cart"),
        ("   ", "work"),
        ("Ünïcode & spaces: ok", "n-code-spaces-ok"),
        ("a " * 40, "a-a-a-a-a-a"),
    ],
    ids=["words", "empty", "non-ascii", "long"],
)
def test_slug(title: str, expected: str) -> None:
    assert slug(title) == expected


def test_branch_templates() -> None:
    assert integration_branch("techlead/{issue}-{slug}", 7, "Coupons!") == "techlead/7-coupons"
    name = task_branch("agents/{issue}/{task}-{task_slug}", 7, "x", "T3", "Store coupons")
    assert name == "agents/7/T3-store-coupons"


@pytest.mark.parametrize(
    ("max_parallel", "others", "expected"),
    [(4, 0, 4), (4, 1, 4), (4, 2, 2), (4, 3, 2), (4, 20, 1), (2, 0, 2)],
    ids=["alone", "two-plans", "three-plans", "four-plans", "crowded", "own-limit-first"],
)
def test_fair_share_of_an_installation(max_parallel: int, others: int, expected: int) -> None:
    assert fair_share(max_parallel, others, slots=8) == expected

"""The dashboard's pure core and renderers: what a person reads, from plain snapshots."""

from __future__ import annotations

import re

import pytest

from bot.dashboard import (
    DAY,
    HOUR,
    DashboardView,
    FinishedJob,
    Snapshot,
    Tone,
    dashboard_view,
    render_html,
    render_text,
    text_bar,
)
from bot.features.execution.model import Phase, Run, TaskRun
from bot.jobs import JobState
from bot.plan.model import Plan, PlanState, Task, TaskStatus
from bot.queue import QueueStats
from bot.rate_limits import Budget

NOW = 1_800_000_000.0
REPO = "octo/shop"
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def plan(*tasks: Task, state: PlanState = PlanState.RUNNING, title: str = "Coupons") -> Plan:
    return Plan(title=title, tasks=tasks, issue_number=7, state=state)


def task(task_id: str, title: str = "", status: TaskStatus = TaskStatus.PENDING) -> Task:
    return Task(id=task_id, title=title or f"Task {task_id}", agent="coder", status=status)


def job(
    job_id: int, state: JobState, ago: float, *, kind: str = "route", took: float = 1.0, **more: str
) -> FinishedJob:
    end = NOW - ago
    return FinishedJob(
        job_id, kind, state, end - took, end, more.get("delivery"), more.get("error")
    )


def finished_run(**tasks: TaskRun) -> Run:
    return Run(REPO, 7, started_at=NOW - 100, finished_at=NOW - 10, tasks=dict(tasks))


def view_of(
    *plans: tuple[str, int, Plan], runs: tuple[Run, ...] = (), **more: object
) -> DashboardView:
    return dashboard_view(Snapshot(now=NOW, plans=plans, runs=runs, **more))  # type: ignore[arg-type]


def test_an_empty_store_reads_as_nothing_to_show() -> None:
    view = view_of()

    page = render_html(view)
    text = render_text(view)

    assert view.timelines == () and view.depth == 0 and view.slowest is None
    assert "No plan is being carried out" in page
    assert "No failures in the last day" in page and "No GitHub response seen yet" in page
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "<script" not in page, "the page needs no JavaScript"
    assert "no plan is being carried out" in text and "no GitHub response seen yet" in text
    assert "Success rate:  last hour: — (0 done, 0 dead)" in text


def test_hostile_titles_reasons_and_ids_are_escaped_everywhere() -> None:
    hostile_plan = plan(task("T1", HOSTILE), title=HOSTILE)
    run = Run(
        REPO,
        7,
        started_at=NOW - 50,
        tasks={
            "T1": TaskRun(
                Phase.FAILED, attempt=1, started_at=NOW - 50, finished_at=NOW - 5, reason=HOSTILE
            )
        },
    )
    dead = job(1, JobState.DEAD, 60, error=HOSTILE, delivery='"><b>id</b>')
    budget = Budget("installation:<i>1</i>", 10, 5000, NOW + 60, NOW)

    page = render_html(
        view_of((REPO, 7, hostile_plan), runs=(run,), jobs=(dead,), budgets=(budget,))
    )

    assert "<script" not in page and "<img" not in page and "<b>id" not in page
    assert "<i>1" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page
    assert "&quot;&gt;&lt;b&gt;id&lt;/b&gt;" in page
    # Every tag on the page is one of the template's own.
    tags = set(re.findall(r"<([a-z0-9]+)[\s>]", page))
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "h3",
        "p",
        "section",
        "dl",
        "dt",
        "dd",
        "span",
        "article",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "div",
    }, tags


def test_control_characters_in_titles_never_reach_the_terminal() -> None:
    text = render_text(view_of((REPO, 7, plan(task("T1", "Fix \x1b[2Jcart\x07")))))
    assert "\x1b" not in text and "\x07" not in text
    assert "Fix ?[2Jcart?" in text


@pytest.mark.parametrize(
    ("state", "status", "label", "tone"),
    [
        (TaskRun(Phase.QUEUED, queued_at=NOW - 5), TaskStatus.PENDING, "queued", Tone.QUEUED),
        (
            TaskRun(Phase.RUNNING, started_at=NOW - 9),
            TaskStatus.IN_PROGRESS,
            "running",
            Tone.RUNNING,
        ),
        (TaskRun(Phase.REVIEW, started_at=NOW - 9), TaskStatus.IN_PROGRESS, "gates", Tone.GATES),
        (
            TaskRun(Phase.HANDOFF, started_at=NOW - 9),
            TaskStatus.IN_PROGRESS,
            "handoff",
            Tone.HANDOFF,
        ),
        (
            TaskRun(Phase.MERGED, started_at=NOW - 9, finished_at=NOW - 1),
            TaskStatus.COMPLETED,
            "merged",
            Tone.MERGED,
        ),
        (
            TaskRun(Phase.FAILED, started_at=NOW - 9, finished_at=NOW - 1),
            TaskStatus.FAILED,
            "failed",
            Tone.FAILED,
        ),
        (None, TaskStatus.SKIPPED, "skipped", Tone.SKIPPED),
        (None, TaskStatus.PENDING, "pending", Tone.PENDING),
    ],
    ids=["queued", "running", "gates", "handoff", "merged", "failed", "skipped", "pending"],
)
def test_each_task_bar_is_coloured_by_its_status(
    state: TaskRun | None, status: TaskStatus, label: str, tone: Tone
) -> None:
    runs = (Run(REPO, 7, started_at=NOW - 10, tasks={"T1": state} if state else {}),)

    view = view_of((REPO, 7, plan(task("T1", status=status))), runs=runs)
    page = render_html(view)

    (row,) = view.timelines[0].rows
    assert (row.status, row.tone) == (label, tone)
    assert f'data-status="{label}"' in page and f'class="bar tone-{tone.value}"' in page
    assert f'<span class="swatch tone-{tone.value}"></span>{tone.value}' in page, "in the legend"


def test_bars_sit_where_the_tasks_ran_within_the_plan() -> None:
    run = Run(
        REPO,
        7,
        started_at=NOW - 100,
        finished_at=NOW,
        tasks={
            "T1": TaskRun(Phase.MERGED, started_at=NOW - 100, finished_at=NOW - 50),
            "T2": TaskRun(Phase.MERGED, started_at=NOW - 50, finished_at=NOW),
        },
    )
    done = plan(
        task("T1", status=TaskStatus.COMPLETED),
        task("T2", status=TaskStatus.COMPLETED),
        state=PlanState.DONE,
    )

    view = view_of((REPO, 7, done), runs=(run,))

    first, second = view.timelines[0].rows
    assert (first.offset, first.width, second.offset, second.width) == (0.0, 50.0, 50.0, 50.0)
    assert (first.start, first.end) == (0.0, 50.0)
    assert 'style="left:50.00%;width:50.00%"' in render_html(view)
    assert "0.0 s → 50 s (50 s)" in render_html(view), "the bar in words, for no-CSS readers"
    assert text_bar(first, 10) == "#####....." and text_bar(second, 10) == ".....#####"
    assert view.timelines[0].done == 2 and not view.timelines[0].active


def test_a_task_in_flight_runs_to_now() -> None:
    run = Run(
        REPO, 7, started_at=NOW - 40, tasks={"T1": TaskRun(Phase.RUNNING, started_at=NOW - 20)}
    )

    (row,) = view_of((REPO, 7, plan(task("T1"))), runs=(run,)).timelines[0].rows

    assert (row.offset, row.width, row.end) == (50.0, 50.0, None)
    assert "20 s → now" in render_text(view_of((REPO, 7, plan(task("T1"))), runs=(run,)))


def test_plans_under_way_come_first_then_the_most_recently_finished() -> None:
    def finished(issue: int, ago: float, took: float) -> Run:
        return Run(REPO, issue, started_at=NOW - ago - took, finished_at=NOW - ago)

    plans = [(REPO, n, plan(task("T1"), state=PlanState.DONE)) for n in (1, 2, 3)]
    plans.append((REPO, 4, plan(task("T1"), state=PlanState.RUNNING)))
    runs = (finished(1, 3 * HOUR, 60), finished(2, HOUR, 10), finished(3, 2 * HOUR, 600))

    view = view_of(*plans, runs=(*runs, Run(REPO, 4, started_at=NOW - 5)))

    assert [line.issue for line in view.timelines] == [4, 2, 3, 1]


@pytest.mark.parametrize(
    ("state", "finished_ago", "shown"),
    [
        (PlanState.RUNNING, None, True),
        (PlanState.APPROVED, None, True),
        (PlanState.DONE, HOUR, True),
        (PlanState.DONE, DAY + 1, False),
        (PlanState.AWAITING_APPROVAL, None, False),
    ],
    ids=["running", "approved", "done-an-hour-ago", "done-yesterday", "awaiting-approval"],
)
def test_plans_under_way_and_finished_within_a_day_are_shown(
    state: PlanState, finished_ago: float | None, shown: bool
) -> None:
    finished = None if finished_ago is None else NOW - finished_ago
    run = Run(REPO, 7, started_at=NOW - 2 * DAY, finished_at=finished)

    view = view_of((REPO, 7, plan(task("T1"), state=state)), runs=(run,))

    assert bool(view.timelines) is shown


def test_success_rate_is_done_over_done_and_dead_per_window() -> None:
    jobs = (
        job(1, JobState.DONE, 10),
        job(2, JobState.DONE, 20),
        job(3, JobState.DEAD, 30, error="boom", delivery="d-3"),
        job(4, JobState.DONE, 30),
        job(5, JobState.DEAD, 2 * HOUR),
        job(6, JobState.DONE, 2 * HOUR),
        job(7, JobState.DEAD, DAY + 60),  # older than a day: in neither window
    )

    hour, day = view_of(jobs=jobs).rates

    assert (hour.window, hour.done, hour.dead, hour.ratio) == ("last hour", 3, 1, 0.75)
    assert (day.window, day.done, day.dead) == ("last day", 4, 2)
    assert day.ratio == pytest.approx(4 / 6)
    assert "last hour: 75.0% (3 done, 1 dead)" in render_text(view_of(jobs=jobs))


def test_the_slowest_stage_is_the_one_with_the_largest_p90() -> None:
    tasks = {
        f"T{n}": TaskRun(
            Phase.MERGED,
            queued_at=NOW - 100,
            started_at=NOW - 99,
            executed_at=NOW - 99 + n,  # executor: 1..5 s
            finished_at=NOW - 99 + n + 30,  # gates and review: 30 s each
        )
        for n in range(1, 6)
    }
    jobs = tuple(job(n, JobState.DONE, 5, kind="task_run", took=float(n)) for n in range(1, 11))

    view = view_of(runs=(Run(REPO, 7, tasks=tasks),), jobs=jobs)

    assert view.slowest is not None
    assert (view.slowest.name, view.slowest.p90, view.slowest.samples) == (
        "task: gates and review",
        30.0,
        5,
    )
    by_name = {stage.name: stage for stage in view.stages}
    assert (by_name["job: task_run"].median, by_name["job: task_run"].p90) == (5.5, 10.0)
    assert by_name["task: executor"].p90 == 5.0
    assert "Slowest stage: task: gates and review: p90 30 s, median 30 s (5 samples)" in (
        render_text(view)
    )


def test_failures_show_the_reason_redacted_and_cut_and_the_delivery_id() -> None:
    token = "ghs_" + "a" * 36
    traceback = f"Traceback (most recent call last):\n  File x\nGitHubAuthError: bad {token}\n"
    long_reason = "ValueError: " + "x" * 500
    failed = TaskRun(Phase.FAILED, started_at=NOW - 30, finished_at=NOW - 20, reason="tests failed")
    jobs = (
        job(1, JobState.DEAD, 5, error=traceback, delivery="delivery-1"),
        job(2, JobState.DEAD, 50, error=long_reason, delivery="delivery-2"),
    )
    runs = (Run(REPO, 7, started_at=NOW - 30, tasks={"T1": failed}),)

    view = view_of((REPO, 7, plan(task("T1", "Cart"))), runs=runs, jobs=jobs)

    first, second, third = view.failures
    assert (first.reason, first.delivery_id) == ("GitHubAuthError: bad [REDACTED]", "delivery-1")
    assert third.reason.startswith("ValueError: xxx") and len(third.reason) == 200
    assert (second.what, second.reason, second.delivery_id) == (
        f"{REPO}#7 T1 Cart",
        "tests failed",
        None,
    )
    text = render_text(view)
    assert "job 1 route · delivery delivery-1 · GitHubAuthError: bad [REDACTED]" in text
    assert token not in text and token not in render_html(view)


def test_rate_limit_headroom_per_identity() -> None:
    budgets = (
        Budget("installation:42", 4321, 5000, NOW + 1800, NOW - 3),
        Budget("token", 0, None, None, NOW - 120),
    )

    view = view_of(
        budgets=budgets, queue=QueueStats({JobState.PENDING: 3, JobState.RUNNING: 1}, 12.0)
    )
    text = render_text(view)

    assert "installation:42: 4321/5000 left, resets in 30 min 0 s (seen 3.0 s ago)" in text
    assert "token: 0/? left, reset unknown (seen 2 min 0 s ago)" in text
    assert "<tr><td>installation:42</td><td>4321/5000</td><td>in 30 min 0 s</td>" in render_html(
        view
    )
    assert view.depth == 4
    assert "4 waiting or running, the oldest due for 12 s (jobs: 3 pending, 1 running)" in text
    assert "Least GitHub headroom: token: 0/? left" in text


def test_the_json_view_reads_back_as_the_same_view() -> None:
    run = finished_run(
        T1=TaskRun(Phase.MERGED, attempt=2, started_at=NOW - 90, finished_at=NOW - 40, pr=3)
    )
    view = view_of(
        (REPO, 7, plan(task("T1", status=TaskStatus.COMPLETED), state=PlanState.DONE)),
        runs=(run,),
        jobs=(job(1, JobState.DEAD, 5, error="boom"),),
        budgets=(Budget("app", 10, 100, NOW + 5, NOW),),
    )

    assert DashboardView.from_dict(view.to_dict()) == view
    assert render_text(DashboardView.from_dict(view.to_dict())) == render_text(view)

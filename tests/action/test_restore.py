"""Reading a plan and its execution record back from a checklist, as a workflow run does.

The checklist's hidden blocks are the only memory a workflow run has: one from an older
TechLead still restores the plan, and one that is corrupt or from a newer format is
reported with the reason. A plan with many tasks keeps its record within GitHub's
65,536-character comment limit.
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.commands.action import ActionEvent, Restored, action_settings, restore_plan
from bot.features.execution.model import HandoffRecord, Phase, Run, TaskRun
from bot.features.execution.render import insert_section, parse_run_state, section
from bot.features.execution.store import RunStore
from bot.github import GitHubApi, GitHubClient
from bot.plan.checklist import MAX_COMMENT_CHARS, parse_state, render
from bot.plan.model import Plan, PlanState, Task, TaskStatus
from bot.plans import PlanStore
from bot.settings import Settings
from tests.action.workflow import ISSUE_PERMISSIONS, Repo
from tests.support.techlead import no_wait

PLAN = Plan(
    "Add coupons to the cart",
    (
        Task("T1", "validate the coupon code", "coder", status=TaskStatus.IN_PROGRESS),
        Task("T2", "add tests", "coder", depends_on=("T1",)),
    ),
    issue_number=1,
    state=PlanState.RUNNING,
    next_id=3,
    delivery_id="actions-7-1",
    trace_id="a" * 32,
)
RUN = Run(
    "o/r",
    1,
    integration_branch="techlead/1-add-coupons-to-the-cart",
    started_at=1.0,
    tasks={"T1": TaskRun(phase=Phase.REVIEW, attempt=1, pr=2, trace_id="a" * 32, agent="coder")},
)


def current(plan: Plan) -> str:
    return insert_section(render(plan), section(plan, RUN, 4))


def older(plan: Plan) -> str:
    """A checklist of a TechLead from before trace ids and the run block."""
    data = {k: v for k, v in plan.to_dict().items() if k not in ("delivery_id", "trace_id")}
    payload = base64.b64encode(zlib.compress(json.dumps(data).encode())).decode()
    body = render(plan)
    start = body.index("<!-- techlead:state")
    return body[:start] + f"<!-- techlead:state v1 {payload} -->\n"


def replaced(block: str, text: str) -> Callable[[Plan], str]:
    """The current checklist with one hidden block replaced by ``text``."""

    def change(plan: Plan) -> str:
        body = current(plan)
        start = body.index(f"<!-- techlead:{block}")
        return body[:start] + text + body[body.index("-->", start) + 3 :]

    return change


# body, then whether the plan and the record are restored, and what the step says.
CASES: dict[str, tuple[Callable[[Plan], str], bool, bool, str]] = {
    "current": (
        current,
        True,
        True,
        "read back the plan of #{n} (v1, running) and its execution record (1 tasks)",
    ),
    "older": (older, True, False, "read back the plan of #{n} (v1, running) from its checklist"),
    "corrupt-plan": (
        replaced("state", "<!-- techlead:state v1 bm90IHpsaWI= -->"),
        False,
        False,
        "the plan of #{n} was not read back from its checklist: the plan's hidden state in "
        "this comment is unreadable: error",
    ),
    "newer-plan": (
        replaced("state", "<!-- techlead:state v9 AAAA -->"),
        False,
        False,
        "state format v9 is newer than this TechLead understands (v1)",
    ),
    "corrupt-run": (
        replaced("run", "<!-- techlead:run v1 bm90IHpsaWI= -->"),
        True,
        False,
        "the execution record of #{n} was not read back: the plan's hidden state in this "
        "comment is unreadable: error",
    ),
    "newer-run": (
        replaced("run", "<!-- techlead:run v3 AAAA -->"),
        True,
        False,
        "run state format v3 is newer than this TechLead understands (v1)",
    ),
}


@pytest.mark.sandbox
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_checklist_is_read_back_or_says_why_not(tmp_path: Path, repo: Repo, case: str) -> None:
    body_of, has_plan, has_run, says = CASES[case]
    token = repo.token(ISSUE_PERMISSIONS)
    number = repo.owner.open_issue(repo.full_name, "Add coupons to the cart", "- coupons")
    settings, github = _workflow(tmp_path, repo, token)
    github.create_comment(repo.full_name, number, body_of(replace(PLAN, issue_number=number)))

    restored = restore_plan(_event(tmp_path, repo, token, number), settings, github)

    assert says.format(n=number) in "\n".join(restored.lines())
    with PlanStore.open(settings.data_dir) as plans:
        stored = plans.load(repo.full_name, number).plan
    with RunStore.open(settings.data_dir) as runs:
        run = runs.load(repo.full_name, number)
    assert (stored is not None, restored.plan is not None) == (has_plan, has_plan)
    if has_plan:
        assert stored is not None and stored.trace_id == ("" if case == "older" else "a" * 32)
    assert ("T1" in run.tasks) is has_run
    if has_run:
        assert (run.task("T1").pr, run.task("T1").trace_id) == (2, "a" * 32)


def _workflow(tmp_path: Path, repo: Repo, token: str) -> tuple[Settings, GitHubApi]:
    """The run's settings and the GitHub port its jobs use."""
    settings = action_settings(_event(tmp_path, repo, token, 0), Settings())
    return settings, GitHubClient(settings, sleep=no_wait).port(None)


def _event(tmp_path: Path, repo: Repo, token: str, number: int) -> ActionEvent:
    return ActionEvent(
        name="issue_comment",
        payload={"issue": {"number": number}},
        token=token,
        api_url=repo.sandbox.api_url,
        repository=repo.full_name,
        delivery_id="actions-8-1",
        data_dir=tmp_path / "techlead",
        bot_login="github-actions[bot]",
    )


def test_no_checklist_is_no_problem_for_an_issue_event() -> None:
    assert Restored().lines() == []


# --------------------------------------------------------------------------- size


def _noise(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(string.ascii_letters + " ") for _ in range(size))


def test_a_plan_with_many_tasks_keeps_its_record_within_the_comment_limit() -> None:
    rng = random.Random(7)
    count = 60
    tasks = tuple(
        Task(f"T{n}", f"Task {n}: {_noise(rng, 150)}", "coder", body=_noise(rng, 400))
        for n in range(1, count + 1)
    )
    plan = Plan("Many things", tasks, issue_number=1, state=PlanState.RUNNING, next_id=count + 1)
    task_runs = {
        task.id: TaskRun(
            phase=Phase.MERGED,
            attempt=2,
            pr=100 + n,
            branch=f"techlead/1/{task.id}-{_noise(rng, 30).replace(' ', '-')}",
            log=_noise(rng, 2000),
            retry_notes=(_noise(rng, 1500),),
            handoff=HandoffRecord(_noise(rng, 800), ("a.py",) * 20, (_noise(rng, 200),)),
            trace_id=f"{n:032x}",
            agent="coder",
            delivery_id="actions-9-1",
        )
        for n, task in enumerate(tasks)
    }
    run = Run("o/r", 1, integration_branch="techlead/1-many-things", tasks=task_runs)

    body = insert_section(render(plan), section(plan, run, 4))

    assert len(body) <= MAX_COMMENT_CHARS, len(body)
    back = parse_run_state(body, "o/r", 1)
    read = parse_state(body)
    assert back is not None and read is not None
    assert len(read.tasks) == count
    assert {task_id: (t.phase, t.pr, t.trace_id) for task_id, t in back.tasks.items()} == {
        task_id: (t.phase, t.pr, t.trace_id) for task_id, t in task_runs.items()
    }


@pytest.mark.parametrize(
    ("room", "keeps_rows", "keeps_record"),
    [("all", True, True), ("all but the rows", False, True), ("none", False, False)],
    ids=["room", "rows-left-out", "record-left-out"],
)
def test_a_checklist_near_the_limit_gives_up_the_section_before_passing_it(
    room: str, keeps_rows: bool, keeps_record: bool
) -> None:
    rng = random.Random(3)
    tasks = {f"T{n}": TaskRun(Phase.FAILED, 1, pr=n, reason=_noise(rng, 100)) for n in range(40)}
    run = Run("o/r", 1, integration_branch="techlead/1-x", tasks=tasks)
    plan = Plan("X", tuple(Task(task_id, "t", "coder") for task_id in tasks), issue_number=1)
    extra = section(plan, run, 4)
    free = {"all": len(extra) + 100, "all but the rows": len(extra) - 100, "none": 300}[room]
    filler = "x" * (MAX_COMMENT_CHARS - free)
    body = f"<!-- techlead:plan -->\n{filler}\n<!-- techlead:state v1 AAAA -->\n"

    placed = insert_section(body, extra)

    assert len(placed) <= MAX_COMMENT_CHARS
    assert ("**T1** " in placed) is keeps_rows
    assert (parse_run_state(placed, "o/r", 1) is not None) is keeps_record
    assert placed.endswith("<!-- techlead:state v1 AAAA -->\n")

"""Boxes ticked in the plan comment act like commands; ticks are never lost to a bot edit."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.demo import tick_approve
from bot.plan.checklist import parse_ticks
from bot.plan.model import PlanState, TaskStatus
from tests.planning.conftest import Project
from tests.planning.helpers import fail_task

pytestmark = pytest.mark.sandbox

FAULT_TIMEOUT = 10.0


def test_ticking_approve_approves_the_plan(project: Project) -> None:
    issue = project.planned_issue()
    comment = project.plan_comment(issue)

    project.maintainer.edit_comment(project.name, comment["id"], tick_approve(comment["body"]))
    project.settle()

    body = project.plan_comment(issue)["body"]
    # Approval starts execution at once: the plan is running.
    assert "· running · v1" in body and "Approval records version 1" in body
    assert project.record(issue).plan.state is PlanState.RUNNING
    assert project.replies(issue) == []


def test_a_triager_tick_is_refused_and_cleared(project: Project) -> None:
    issue = project.planned_issue()
    comment = project.plan_comment(issue)

    project.triager.edit_comment(project.name, comment["id"], tick_approve(comment["body"]))
    project.settle()

    body = project.plan_comment(issue)["body"]
    assert not parse_ticks(body).approve, "the refused tick is cleared"
    assert "· awaiting approval · v1" in body
    replies = project.replies(issue)
    assert len(replies) == 1
    assert f"Sorry @{project.triager.login}, `approve` needs write permission" in replies[0]["body"]


def test_a_tick_on_an_outdated_version_is_explained(project: Project) -> None:
    issue = project.planned_issue()
    old = project.plan_comment(issue)
    project.maintainer.edit_issue(
        project.name, issue, body="- [ ] Define the coupon API schema\n- [ ] Write docs\n"
    )
    project.settle()
    assert project.shown_plan(issue).version == 2

    project.maintainer.edit_comment(project.name, old["id"], tick_approve(old["body"]))
    project.settle()

    body = project.plan_comment(issue)["body"]
    assert "· awaiting approval · v2" in body and "(version 2)" in body
    assert not parse_ticks(body).approve
    (reply,) = project.replies(issue)
    assert "that box belonged to version 1 of the plan, which is now version 2" in reply["body"]


def test_ticking_retry_and_skip_of_failed_tasks(project: Project) -> None:
    issue = project.planned_issue()
    fail_task(project, issue, "T1")
    fail_task(project, issue, "T2")
    body = project.plan_comment(issue)["body"]
    ticked = _tick(_tick(body, "retry T1"), "skip T2")

    project.maintainer.edit_comment(project.name, project.plan_comment(issue)["id"], ticked)
    project.settle()

    plan = project.shown_plan(issue)
    assert plan.task("T1").status is TaskStatus.PENDING
    assert plan.task("T2").status is TaskStatus.SKIPPED
    after = project.plan_comment(issue)["body"]
    assert "techlead:control retry" not in after and "techlead:control skip" not in after


def test_a_box_ticked_while_the_bot_updates_the_comment_is_kept(project: Project) -> None:
    """The bot's re-read before writing is slowed; the person ticks in that window."""
    issue = project.planned_issue()
    comment = project.plan_comment(issue)
    delay = project.sandbox.faults.latency("/repos/*/issues/comments/*", 1.5, count=1, method="GET")

    project.maintainer.comment(project.name, issue, "/techlead skip T4")
    assert _wait(lambda: delay.remaining == 0), "the bot never re-read the plan comment"
    project.maintainer.edit_comment(project.name, comment["id"], tick_approve(comment["body"]))
    project.settle()

    bot_edits = [
        d.payload["comment"]["body"]
        for d in project.sandbox.webhook_deliveries(project.techlead.app.id)
        if d.event == "issue_comment"
        and d.action == "edited"
        and d.payload["sender"]["login"] == project.techlead.app.bot_login
        and d.payload["comment"]["id"] == comment["id"]
    ]
    skip_edit = bot_edits[0]
    assert "~~**T4**" in skip_edit, "the first bot edit after the tick is the skip"
    assert parse_ticks(skip_edit).approve, "it kept the approve box the person had ticked"
    plan = project.shown_plan(issue)
    assert plan.state is PlanState.RUNNING, "the kept approval started execution"
    assert plan.task("T4").status is TaskStatus.SKIPPED


def _tick(body: str, control: str) -> str:
    lines = body.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if f"techlead:control {control} " in line:
            lines[index] = line.replace("- [ ]", "- [x]", 1)
            return "".join(lines)
    raise AssertionError(f"no {control} box in the comment")


def _wait(check: Callable[[], bool], timeout: float = FAULT_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True

"""Closing the issue, removing the label or ``/techlead cancel`` cancel the plan, visibly."""

from __future__ import annotations

import pytest

from bot.demo import Person
from bot.plan.model import CancelReason, PlanState
from bot.sandbox import Sandbox
from tests.planning.conftest import Project

pytestmark = pytest.mark.sandbox


def test_closing_cancels_and_reopening_plans_again(project: Project) -> None:
    issue = project.planned_issue()

    project.maintainer.edit_issue(project.name, issue, state="closed")
    project.settle()
    body = project.plan_comment(issue)["body"]
    who = project.maintainer.login
    assert f"Cancelled: the issue was closed (by @{who})." in body
    assert "Approve this plan" not in body
    plan = project.record(issue).plan
    assert plan.state is PlanState.CANCELLED and plan.cancel_reason is CancelReason.ISSUE_CLOSED

    project.maintainer.edit_issue(project.name, issue, state="open")
    project.settle()
    assert "· awaiting approval · v2" in project.plan_comment(issue)["body"]


def test_an_issue_closed_by_another_app_is_cancelled_too(
    project: Project, sandbox: Sandbox
) -> None:
    issue = project.planned_issue()
    release = sandbox.create_app(project.owner.login, f"release-bot-{project.repo.name}")
    installed = sandbox.install_app(
        release.id,
        project.owner.login,
        repositories=[project.repo.name],
        permissions={"issues": "write", "metadata": "read"},
    )
    bot = Person(sandbox.api_url, release.bot_login, sandbox.installation_token(installed.id))
    try:
        bot.edit_issue(project.name, issue, state="closed")
        project.settle()
    finally:
        bot.close()

    body = project.plan_comment(issue)["body"]
    assert f"Cancelled: the issue was closed (by @{release.bot_login})." in body
    assert project.record(issue).plan.state is PlanState.CANCELLED


def test_removing_the_label_cancels(project: Project) -> None:
    issue = project.planned_issue()
    project.maintainer.unlabel(project.name, issue, "techlead")
    project.settle()

    body = project.plan_comment(issue)["body"]
    assert "Cancelled: the trigger label was removed from the issue (by @" in body
    assert project.record(issue).plan.cancel_reason is CancelReason.LABEL_REMOVED


def test_removing_another_label_changes_nothing(project: Project) -> None:
    issue = project.planned_issue()
    project.maintainer.label(project.name, issue, "bug")
    project.maintainer.unlabel(project.name, issue, "bug")
    project.settle()

    assert "· awaiting approval · v1" in project.plan_comment(issue)["body"]


def test_cancel_command_names_who_and_later_commands_say_it_is_cancelled(
    project: Project,
) -> None:
    issue = project.planned_issue()
    cancel = project.maintainer.comment(project.name, issue, "/techlead cancel")
    project.settle()

    body = project.plan_comment(issue)["body"]
    assert f"Cancelled by @{project.maintainer.login}." in body
    assert project.reactions(cancel) == ["+1", "eyes"]

    approve = project.maintainer.comment(project.name, issue, "/techlead approve")
    project.settle()
    (reply,) = [c for c in project.replies(issue) if f"reply:{approve}" in c["body"]]
    assert "the plan is cancelled. Comment `/techlead plan` to plan again." in reply["body"]
    assert project.record(issue).plan.state is PlanState.CANCELLED


def test_closing_an_unplanned_issue_writes_nothing(project: Project) -> None:
    issue = project.open_issue()
    project.maintainer.edit_issue(project.name, issue, state="closed")
    project.settle()

    assert project.comments(issue) == []

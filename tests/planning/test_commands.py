"""Comment commands: acknowledged with reactions, refused or explained in a reply, never silent."""

from __future__ import annotations

import pytest

from bot.features.planning.requests import Kind
from bot.plan.model import PlanState, TaskStatus
from tests.planning.conftest import Project
from tests.planning.helpers import fail_task, github_as_app

pytestmark = pytest.mark.sandbox


def test_approve_command_approves_and_says_what_approval_means(project: Project) -> None:
    issue = project.planned_issue()
    command = project.maintainer.comment(project.name, issue, "/techlead approve")
    project.settle()

    body = project.plan_comment(issue)["body"]
    # Approval starts execution: the plan runs its tasks at once.
    assert "· running · v1" in body
    assert "Plan approved (version 1). Approval records version 1 as the agreed plan" in body
    assert "TechLead now runs its tasks wave by wave" in body
    assert "**Approve this plan**" not in body
    assert project.record(issue).plan.state is PlanState.RUNNING
    assert project.reactions(command) == ["+1", "eyes"]

    again = project.maintainer.comment(project.name, issue, "/techlead lgtm")
    project.settle()
    assert "version 1 of the plan is already approved" in _reply_to(project, issue, again)


@pytest.mark.parametrize(
    "body",
    [
        "```\n/techlead plan\n```",
        "> /techlead plan",
        "Please do not run `/techlead plan` yet.",
        "<!--\n/techlead plan\n-->",
    ],
    ids=["code-block", "quote", "inline-code", "html-comment"],
)
def test_commands_in_code_quotes_and_comments_are_ignored(project: Project, body: str) -> None:
    issue = project.open_issue()
    comment = project.maintainer.comment(project.name, issue, body)
    project.settle()

    assert project.comments(issue) == [c for c in project.comments(issue) if c["id"] == comment]
    assert project.reactions(comment) == []
    assert project.record(issue).revision == 0


def test_an_unknown_command_is_explained(project: Project) -> None:
    issue = project.open_issue()
    comment = project.maintainer.comment(project.name, issue, "/techlead frobnicate now")
    project.settle()

    reply = _reply_to(project, issue, comment)
    assert "> /techlead frobnicate now" in reply
    assert "I don't know `/techlead frobnicate`" in reply
    assert "`/techlead approve`: approve the plan" in reply
    assert project.reactions(comment) == ["confused", "eyes"]


def test_help_and_status_answer_in_one_reply(project: Project) -> None:
    issue = project.planned_issue()
    comment = project.reader.comment(project.name, issue, "/techlead status\n/techlead help")
    project.settle()

    reply = _reply_to(project, issue, comment)
    assert "**Plan status:** version 1, awaiting approval. 4 pending." in reply
    assert f"({project.plan_comment(issue)['html_url']})" in reply
    assert "**TechLead commands**" in reply
    assert project.reactions(comment) == ["+1", "eyes"]


def test_a_reader_is_refused_politely_and_nothing_is_planned(project: Project) -> None:
    issue = project.open_issue()
    comment = project.reader.comment(project.name, issue, "/techlead plan")
    project.settle()

    reply = _reply_to(project, issue, comment)
    assert f"Sorry @{project.reader.login}, `plan` needs write permission" in reply
    assert project.reactions(comment) == ["confused", "eyes"]
    assert project.plan_comments(issue) == []
    assert project.jobs(Kind.RUN.value, issue) == []


def test_a_triager_labelling_is_refused_politely_and_nothing_is_planned(project: Project) -> None:
    issue = project.open_issue()
    project.triager.label(project.name, issue, "techlead")
    project.settle()

    replies = project.replies(issue)
    assert len(replies) == 1
    assert f"Sorry @{project.triager.login}, `plan` needs write permission" in replies[0]["body"]
    assert "you have triage" in replies[0]["body"]
    assert project.plan_comments(issue) == []
    assert project.record(issue).revision == 0


@pytest.mark.parametrize("who", ["own App", "another App"])
def test_a_bots_comment_triggers_nothing(project: Project, who: str) -> None:
    issue = project.open_issue()
    app = project.techlead.app if who == "own App" else None
    bot = github_as_app(project, app)
    bot.comment(project.name, issue, "/techlead plan")
    project.settle()

    assert project.plan_comments(issue) == []
    assert project.replies(issue) == []
    routed = project.techlead.bot.services.store
    outcomes = [
        routed.get_delivery(d.guid).outcome
        for d in project.sandbox.webhook_deliveries(project.techlead.app.id)
        if d.event == "issue_comment" and d.payload["repository"]["full_name"] == project.name
    ]
    assert outcomes == ["ignored (bot)"]


def test_skip_and_retry_change_task_status(project: Project) -> None:
    issue = project.planned_issue()
    fail_task(project, issue, "T2")
    assert "Retry **T2**" in project.plan_comment(issue)["body"]

    retry = project.maintainer.comment(project.name, issue, "/techlead retry T2, T3")
    skip = project.maintainer.comment(project.name, issue, "/techlead skip t4")
    project.settle()

    plan = project.shown_plan(issue)
    assert plan.task("T2").status is TaskStatus.PENDING
    assert plan.task("T4").status is TaskStatus.SKIPPED
    assert "~~**T4** Add tests for coupons~~" in project.plan_comment(issue)["body"]
    assert "T3 is pending; only a failed task can be retried" in _reply_to(project, issue, retry)
    assert project.reactions(retry) == ["confused", "eyes"]
    assert project.reactions(skip) == ["+1", "eyes"]


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/techlead skip", "`/techlead skip` needs a task id, like `/techlead skip T3`"),
        ("/techlead skip T9", "the plan has no task T9 (its tasks: T1, T2, T3, T4)"),
        ("/techlead retry banana", "`banana` is not a task id"),
    ],
    ids=["no-task", "unknown-task", "not-an-id"],
)
def test_bad_task_commands_are_explained(project: Project, command: str, answer: str) -> None:
    issue = project.planned_issue()
    comment = project.maintainer.comment(project.name, issue, command)
    project.settle()

    assert answer in _reply_to(project, issue, comment)
    assert project.reactions(comment) == ["confused", "eyes"]
    assert project.shown_plan(issue).version == 1


def test_commands_without_a_plan_say_how_to_start(project: Project) -> None:
    issue = project.open_issue()
    comment = project.maintainer.comment(project.name, issue, "/techlead approve")
    project.settle()

    reply = _reply_to(project, issue, comment)
    assert "there is no plan for this issue yet. Add the `techlead` label" in reply
    assert project.plan_comments(issue) == []


def test_planning_a_closed_issue_is_explained(project: Project) -> None:
    issue = project.open_issue()
    project.maintainer.edit_issue(project.name, issue, state="closed")
    comment = project.maintainer.comment(project.name, issue, "/techlead plan")
    project.settle()

    assert "this issue is closed; reopen it" in _reply_to(project, issue, comment)
    assert project.plan_comments(issue) == []
    assert project.reactions(comment) == ["confused", "eyes"]


def _reply_to(project: Project, issue: int, comment_id: int) -> str:
    marker = f"<!-- techlead:reply:{comment_id} -->"
    found = [c["body"] for c in project.comments(issue) if c["body"].startswith(marker)]
    assert len(found) == 1, f"expected one reply to comment {comment_id}, found {len(found)}"
    return found[0]

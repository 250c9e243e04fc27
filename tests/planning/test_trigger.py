"""Planning starts from the label (or a command) and keeps exactly one plan comment."""

from __future__ import annotations

import pytest

from bot.features.planning.requests import Kind
from bot.jobs import JobState
from bot.plan.model import PlanState, TaskStatus
from tests.planning.conftest import ISSUE_BODY, PROJECT_FILES, Project

pytestmark = pytest.mark.sandbox


def test_labelling_an_issue_posts_one_plan_comment_mirroring_the_store(project: Project) -> None:
    issue = project.planned_issue()

    comment = project.plan_comment(issue)
    body = comment["body"]
    assert f"## TechLead plan for #{issue} · awaiting approval · v1" in body
    assert "Research summary" in body and "`src/shop/cart.py`" in body
    assert "**Approve this plan** (version 1)" in body
    shown = project.shown_plan(issue)
    assert [task.id for task in shown.tasks] == ["T1", "T2", "T3", "T4"]
    assert shown.task("T3") is not None and shown.task("T3").depends_on == ("T1", "T2")
    record = project.record(issue)
    assert record.comment_id == comment["id"]
    assert record.plan == shown, "the comment's hidden state mirrors the plan store"
    assert record.state is PlanState.AWAITING_APPROVAL
    assert record.findings is not None, "research findings are kept for re-renders"
    assert record.findings.file_count >= len(PROJECT_FILES)
    assert "src/shop/cart.py" in record.findings.relevant_paths()


def test_another_label_plans_nothing(project: Project) -> None:
    issue = project.open_issue()
    project.maintainer.label(project.name, issue, "bug")
    project.settle()

    assert project.comments(issue) == []
    assert project.record(issue).revision == 0


def test_relabelling_edits_the_one_comment(project: Project) -> None:
    issue = project.planned_issue()
    first = project.plan_comment(issue)

    project.maintainer.unlabel(project.name, issue, "techlead")
    project.settle()
    assert "Cancelled: the trigger label was removed" in project.plan_comment(issue)["body"]
    project.maintainer.label(project.name, issue, "techlead")
    project.settle()

    again = project.plan_comment(issue)
    assert again["id"] == first["id"]
    assert "· awaiting approval · v2" in again["body"]
    assert project.record(issue).plan.state is PlanState.AWAITING_APPROVAL


def test_a_redelivered_label_event_changes_nothing(project: Project) -> None:
    issue = project.planned_issue()
    before = project.plan_comment(issue)
    labeled = [
        d
        for d in project.sandbox.webhook_deliveries(project.techlead.app.id)
        if d.event == "issues"
        and d.action == "labeled"
        and d.payload["repository"]["full_name"] == project.name
    ]
    assert len(labeled) == 1

    project.techlead.github.port().redeliver(labeled[0].id)
    project.settle()

    again = [d for d in project.sandbox.webhook_deliveries() if d.guid == labeled[0].guid]
    assert [d.redelivery for d in again] == [False, True]
    assert all(d.status_code == 202 for d in again)
    assert len(project.jobs(Kind.RUN.value, issue)) == 1, "the same delivery ran once"
    assert project.plan_comment(issue) == before


def test_plan_command_twice_edits_the_one_comment(project: Project) -> None:
    issue = project.planned_issue()
    first = project.plan_comment(issue)

    commands = [project.maintainer.comment(project.name, issue, "/techlead plan") for _ in "ab"]
    project.settle()

    assert project.plan_comment(issue)["id"] == first["id"]
    assert project.shown_plan(issue).version == 1, "nothing changed, so no new version"
    for comment_id in commands:
        assert project.reactions(comment_id) == ["+1", "eyes"]
    assert project.replies(issue) == []


def test_plan_command_plans_an_unlabelled_issue(project: Project) -> None:
    issue = project.open_issue()
    command = project.maintainer.comment(project.name, issue, "/TechLead Plan")
    project.settle()

    assert len(project.shown_plan(issue).tasks) == 4
    assert project.reactions(command) == ["+1", "eyes"]


def test_editing_the_issue_replans_and_keeps_ids_and_completed_tasks(project: Project) -> None:
    body = (
        "- [x] Define the coupon API schema (high)\n"
        "- [ ] Store coupons in the database (after 1)\n"
        "- [ ] Apply coupons to the cart total (after 1, 2)\n"
    )
    issue = project.planned_issue(body)
    assert project.shown_plan(issue).task("T1").status is TaskStatus.COMPLETED

    edited = (
        "- [ ] Apply coupons to the cart total (after 2, 3)\n"
        "- [x] Define the coupon API schema (high)\n"
        "- [ ] Store coupons in the database (after 2)\n"
        "- [ ] Document coupons in docs/api.md (after 1)\n"
    )
    project.maintainer.edit_issue(project.name, issue, body=edited)
    project.settle()

    plan = project.shown_plan(issue)
    assert plan.version == 2
    titles = {task.id: task.title for task in plan.tasks}
    assert titles["T1"] == "Define the coupon API schema"
    assert titles["T3"] == "Apply coupons to the cart total"
    assert titles["T4"] == "Document coupons in docs/api.md"
    assert plan.task("T1").status is TaskStatus.COMPLETED
    assert plan.task("T3").depends_on == ("T1", "T2")
    body_now = project.plan_comment(issue)["body"]
    assert "### Changes in version 2" in body_now and "Added: **T4**" in body_now
    assert project.record(issue).plan == plan


def test_a_label_and_a_command_at_once_still_make_one_comment(project: Project) -> None:
    """The first job's comment takes a second to post; the other job must wait for it."""
    issue = project.open_issue()
    project.maintainer.label(project.name, issue, "techlead")
    project.maintainer.comment(project.name, issue, "/techlead plan")
    project.sandbox.faults.latency(
        f"/repos/{project.name}/issues/{issue}/comments", 1.0, count=1, method="POST"
    )
    project.settle()

    jobs = project.jobs(Kind.RUN.value, issue) + project.jobs(Kind.COMMAND.value, issue)
    assert [job.state for job in jobs] == [JobState.DONE, JobState.DONE]
    assert len(project.plan_comments(issue)) == 1
    assert project.shown_plan(issue).version == 1


def test_edits_by_someone_without_write_access_do_not_replan(project: Project) -> None:
    issue = project.planned_issue()
    for extra in ("- [ ] Write docs\n", "- [ ] Write more docs\n"):
        project.triager.edit_issue(project.name, issue, body=ISSUE_BODY + extra)
        project.settle()

    assert project.shown_plan(issue).version == 1
    (reply,) = project.replies(issue)
    assert f"Sorry @{project.triager.login}, `plan` needs write permission" in reply["body"]


def test_editing_the_title_only_does_not_replan(project: Project) -> None:
    issue = project.planned_issue()
    project.maintainer.edit_issue(project.name, issue, title="Coupons, please")
    project.settle()

    assert project.jobs(Kind.RUN.value, issue).__len__() == 1
    assert project.shown_plan(issue).version == 1


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            "- [ ] Store coupons (after 2)\n- [ ] Apply coupons (after 1)\n",
            "The tasks wait for each other in a cycle: **T1 → T2 → T1**",
        ),
        ("- [ ] Store coupons\n- [ ] Apply coupons (after 7)\n", "**T2** waits for **item 7**"),
    ],
    ids=["cycle", "dangling"],
)
def test_a_broken_task_list_gets_an_explanation_and_nothing_runs(
    project: Project, body: str, shown: str
) -> None:
    issue = project.planned_issue(body)

    comment = project.plan_comment(issue)["body"]
    assert "· cannot run" in comment and shown in comment
    assert "Approve this plan" not in comment
    record = project.record(issue)
    assert record.state is PlanState.INVALID and record.plan is None

    project.maintainer.edit_issue(
        project.name, issue, body="- [ ] Store coupons\n- [ ] Apply coupons (after 1)\n"
    )
    project.settle()
    assert project.shown_plan(issue).task("T2").depends_on == ("T1",)


def test_invalid_config_is_reported_on_the_issue_with_key_and_line(project: Project) -> None:
    project.write_config("version: 1\nplanning:\n  max_taks: 3\n")
    issue = project.planned_issue()

    comment = project.plan_comment(issue)["body"]
    assert "`.github/techlead.yml:3`" in comment
    assert "`planning.max_taks`" in comment and "did you mean 'max_tasks'?" in comment
    assert project.record(issue).state is PlanState.INVALID


def test_too_many_tasks_for_the_configured_limit_are_explained(project: Project) -> None:
    project.write_config("version: 1\nplanning:\n  max_tasks: 2\n")
    issue = project.planned_issue()

    comment = project.plan_comment(issue)["body"]
    assert "the issue lists 4 tasks; a plan holds at most 2 (planning.max_tasks)" in comment
    assert "Approve this plan" not in comment


def test_config_from_the_default_branch_changes_the_label(project: Project) -> None:
    project.write_config("version: 1\ntrigger:\n  label: plan-me\n")
    issue = project.open_issue()
    project.maintainer.label(project.name, issue, "techlead")
    project.settle()
    assert project.plan_comments(issue) == []

    project.maintainer.label(project.name, issue, "plan-me")
    project.settle()
    assert len(project.shown_plan(issue).tasks) == 4

"""Hand-offs, cancelling mid-run, dry runs, messages and tasks reported by an agent."""

from __future__ import annotations

import time

from bot.features.execution.model import Phase
from bot.plan.model import PlanState, TaskStatus
from tests.execution.conftest import Project, config_text
from tests.execution.test_failures import processes_with


def test_a_handoff_opens_a_draft_pull_request_and_completes_when_a_person_merges_it(
    project: Project,
) -> None:
    login = project.maintainer.login
    project.configure(config_text(extra=f"  handoff_assignees: [{login}]\n"))
    issue = project.planned("Design.\n\n- [ ] Manual sign-off of the rules\n")
    project.approve(issue)

    task = project.run(issue).task("T1")
    assert task.phase is Phase.HANDOFF
    pull = project.maintainer.call("GET", f"/repos/{project.name}/pulls/{task.pr}")
    assert pull["draft"] and pull["base"]["ref"] == project.run(issue).integration_branch
    assert "A person is needed for this task" in pull["body"]
    assert [a["login"] for a in pull["assignees"]] == [login]
    commits = project.maintainer.call("GET", f"/repos/{project.name}/pulls/{task.pr}/commits")
    assert commits[-1]["commit"]["message"].startswith("Start T1: Manual sign-off")
    assert "handed to a person" in project.plan_comment(issue)["body"]

    project.sandbox.mark_ready_for_review(project.name, task.pr, login)
    project.maintainer.call(
        "PUT", f"/repos/{project.name}/pulls/{task.pr}/merge", {"sha": pull["head"]["sha"]}
    )
    project.settle()

    assert project.run(issue).task("T1").phase is Phase.MERGED
    assert project.record(issue).plan.state is PlanState.DONE
    assert project.run(issue).integration_pr is not None


def test_cancel_stops_running_agents_and_closes_what_was_opened(project: Project) -> None:
    issue = project.planned(
        "Mixed.\n\n- [ ] Stuck coupon schema\n- [ ] Manual sign-off of the rules\n"
    )
    project.maintainer.comment(project.name, issue, "/techlead approve")
    deadline = time.monotonic() + 30
    while project.run(issue).task("T1").phase is not Phase.RUNNING:
        assert time.monotonic() < deadline, "T1 never started"
        time.sleep(0.05)
    while project.run(issue).task("T2").phase is not Phase.HANDOFF:
        assert time.monotonic() < deadline, "T2 never reached its hand-off"
        time.sleep(0.05)

    project.maintainer.comment(project.name, issue, "/techlead cancel")
    project.settle()

    run = project.run(issue)
    assert project.record(issue).plan.state is PlanState.CANCELLED
    assert run.cleaned_up and run.task("T1").phase is Phase.CANCELLED
    assert run.task("T1").executor_seconds < 20  # killed, not left to sleep its 30 s
    assert processes_with(f"grandchild-{project.name}-T1") == []
    handoff = project.maintainer.call("GET", f"/repos/{project.name}/pulls/{run.task('T2').pr}")
    assert handoff["state"] == "closed" and not handoff["merged_at"]
    notes = project.maintainer.comments(project.name, handoff["number"])
    assert any("the plan was cancelled" in c["body"] for c in notes)
    assert not [b for b in project.branches() if b.startswith("techlead/")]
    assert [p["number"] for p in project.pulls()] == [handoff["number"]]


def test_dry_run_shows_what_would_be_created_and_creates_nothing(project: Project) -> None:
    project.configure(config_text(extra="  dry_run: true\n"))
    issue = project.planned("Coupons.\n\n- [ ] Define the coupon schema\n")
    project.approve(issue)

    body = project.plan_comment(issue)["body"]
    assert "**Dry run**" in body
    assert "branch `techlead/1-coupons-at-checkout`" in body
    assert "T1: branch `techlead/1/T1-define-the-coupon-schema`" in body
    assert not [b for b in project.branches() if b.startswith("techlead/")]
    assert project.pulls() == []
    assert project.record(issue).plan.task("T1").status is TaskStatus.PENDING


def test_messages_reach_dependents_and_reported_tasks_join_the_plan(project: Project) -> None:
    body = (
        "Coupons.\n\n- [ ] Define the coupon schema with a follow-up\n"
        "- [ ] Apply coupons (after 1)\n"
    )
    issue = project.planned(body)
    project.approve(issue)

    plan, run = project.record(issue).plan, project.run(issue)
    assert plan.version == 2 and plan.diff is not None and plan.diff.added == ("T3",)
    added = plan.task("T3")
    assert added is not None and added.title == "Write the coupon guide"
    assert added.depends_on == ("T1",) and added.status is TaskStatus.COMPLETED
    assert plan.state is PlanState.DONE
    pulls = {p["head"]["ref"]: p for p in project.pulls()}
    dependent = pulls[run.task("T2").branch]["body"]
    assert "information from T1: T1 wrote work/T1.txt" in dependent
    shown = project.plan_comment(issue)["body"]
    assert "T1 → * (information)" in shown
    assert "Changes in version 2" in shown or "version 2" in shown


def test_require_review_waits_for_an_approving_review_before_merging(project: Project) -> None:
    project.configure(config_text(extra="  require_review: 1\n"))
    issue = project.planned("Coupons.\n\n- [ ] Define the coupon schema\n")
    project.approve(issue)

    task = project.run(issue).task("T1")
    assert task.phase is Phase.REVIEW and task.gates_passed
    assert project.run(issue).integration_pr is None
    project.owner.call(
        "POST",
        f"/repos/{project.name}/pulls/{task.pr}/reviews",
        {"event": "APPROVE", "body": "Looks right."},
    )
    project.settle()

    run = project.run(issue)
    assert run.task("T1").phase is Phase.MERGED and run.task("T1").approved_by
    assert project.record(issue).plan.state is PlanState.DONE
    integration = project.maintainer.call(
        "GET", f"/repos/{project.name}/pulls/{run.integration_pr}"
    )
    assert f"@{project.owner.login}" in integration["body"]


def test_an_issue_edit_closes_the_pull_request_of_a_removed_task(project: Project) -> None:
    body = "Mixed.\n\n- [ ] Define the coupon schema\n- [ ] Manual sign-off of the rules\n"
    issue = project.planned(body)
    project.approve(issue)
    run = project.run(issue)
    assert run.task("T1").phase is Phase.MERGED and run.task("T2").phase is Phase.HANDOFF

    project.maintainer.edit_issue(
        project.name, issue, body="Mixed.\n\n- [ ] Define the coupon schema\n"
    )
    project.settle()

    plan, run = project.record(issue).plan, project.run(issue)
    assert plan.task("T1").status is TaskStatus.COMPLETED  # kept, with its PR
    assert run.task("T2").phase is Phase.CANCELLED
    handoff = project.maintainer.call("GET", f"/repos/{project.name}/pulls/{run.task('T2').pr}")
    assert handoff["state"] == "closed"
    notes = project.maintainer.comments(project.name, handoff["number"])
    assert any("its task left the plan" in c["body"] for c in notes)
    merged = project.maintainer.call("GET", f"/repos/{project.name}/pulls/{run.task('T1').pr}")
    assert merged["merged_at"]

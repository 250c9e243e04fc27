"""A six-task plan with two levels of dependencies, carried out end to end on the sandbox."""

from __future__ import annotations

import re

from bot.features.execution.model import Phase
from bot.plan.model import PlanState, TaskStatus
from tests.execution.conftest import Project, checklist_history

BODY = """\
Checkout needs coupons.

- [ ] Define the coupon schema
- [ ] Add the coupon database table
- [ ] Document the cart
- [ ] Apply coupons to the cart (after 1, 2)
- [ ] Add cart tests (after 3)
- [ ] Add coupon tests (after 4, 5)
"""
DEPENDS = {"T4": ("T1", "T2"), "T5": ("T3",), "T6": ("T4", "T5")}


def test_six_tasks_run_wave_by_wave_into_one_integration_pull_request(project: Project) -> None:
    issue = project.planned(BODY)
    assert project.record(issue).plan.state is PlanState.AWAITING_APPROVAL
    assert not any(b.startswith("techlead/") for b in project.branches())

    project.approve(issue)

    plan, run = project.record(issue).plan, project.run(issue)
    assert plan.state is PlanState.DONE
    assert [t.status for t in plan.tasks] == [TaskStatus.COMPLETED] * 6
    assert {t: run.task(t).phase for t in run.tasks} == {f"T{n}": Phase.MERGED for n in range(1, 7)}

    # One pull request per task, into the integration branch, merged; one integration PR.
    pulls = {p["head"]["ref"]: p for p in project.pulls()}
    task_pulls = {t: pulls[run.task(t).branch] for t in run.tasks}
    assert len(project.pulls()) == 7
    for task_id, pull in task_pulls.items():
        assert pull["base"]["ref"] == run.integration_branch == "techlead/1-coupons-at-checkout"
        assert pull["merged_at"], task_id
        assert f"Task **{task_id}** of #{issue}" in pull["body"]
    integration = pulls[run.integration_branch]
    assert integration["base"]["ref"] == "main" and integration["state"] == "open"
    assert f"Closes #{issue}" in integration["body"]
    assert all(f"| {t} |" in integration["body"] for t in run.tasks)
    assert integration["body"].count("TechLead L1 · Lint: neutral") == 6  # no Python changed

    # Dependents start only after their dependencies were merged, and see their work.
    for task_id, deps in DEPENDS.items():
        for dep in deps:
            assert run.task(task_id).started_at >= run.task(dep).finished_at
            assert task_pulls[task_id]["number"] > task_pulls[dep]["number"]
            assert f"Hand-off from {dep}" in task_pulls[task_id]["body"]
    # Independent tasks overlap in time.
    wave_a = [run.task(t) for t in ("T1", "T2", "T3")]
    assert max(t.started_at for t in wave_a) < min(t.executed_at for t in wave_a)

    # Every task's file reached the integration branch; commits carry the trailers.
    for task_id in run.tasks:
        assert project.file(f"work/{task_id}.txt", run.integration_branch) is not None
    commits = project.maintainer.call(
        "GET", f"/repos/{project.name}/pulls/{task_pulls['T4']['number']}/commits"
    )
    message = commits[-1]["commit"]["message"]
    assert "TechLead-Task: T4" in message
    assert f"TechLead-Plan: {project.name}#{issue} v1" in message
    assert re.search(r"TechLead-Trace: \w+", message)
    assert re.search(r"TechLead-Agent: [a-z-]+", message)
    assert re.search(r"TechLead-Delivery: \S+", message), "it traces back to its delivery"

    # Task branches are deleted once merged; the integration branch stays for review.
    assert [b for b in project.branches() if b.startswith("techlead/")] == [run.integration_branch]

    # The checklist went through every transition and shows the outcome.
    history = checklist_history(project, issue)
    assert any("· running · v1" in body and "in progress" in body for body in history)
    body = project.plan_comment(issue)["body"]
    assert f"integration pull request #{integration['number']}" in body
    assert "Parallel efficiency" in body
    assert all(f"PR #{p['number']}" in body for p in task_pulls.values())

    # Merging the integration PR closes the issue.
    project.maintainer.call(
        "PUT",
        f"/repos/{project.name}/pulls/{integration['number']}/merge",
        {"sha": integration["head"]["sha"]},
    )
    project.settle()
    assert (
        project.maintainer.call("GET", f"/repos/{project.name}/issues/{issue}")["state"] == "closed"
    )


def test_approving_again_or_replaying_advance_makes_nothing_twice(project: Project) -> None:
    issue = project.planned("Coupons.\n\n- [ ] Define the coupon schema\n")
    project.approve(issue)
    before = (
        project.pulls(),
        project.branches(),
        len(project.maintainer.comments(project.name, issue)),
    )

    project.maintainer.comment(project.name, issue, "/techlead approve")
    project.settle()
    from bot.features.execution import flows
    from bot.features.execution.flows import advance_spec

    project.techlead.bot.services.queue.enqueue(advance_spec(project.name, issue, "replay"))
    project.settle()

    assert [p["number"] for p in project.pulls()] == [p["number"] for p in before[0]]
    assert project.branches() == before[1]
    assert flows.ADVANCE == "execution.advance"

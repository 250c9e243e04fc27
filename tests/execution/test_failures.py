"""Failures: a time limit, a protected path, a required gate; retries and what people see."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from bot.features.execution.model import Phase
from bot.plan.model import PlanState, TaskStatus
from tests.execution.conftest import Project, config_text


def tick_retry(project: Project, issue: int, task_id: str) -> None:
    comment = project.plan_comment(issue)
    marker = f"techlead:control retry {task_id} v"
    lines = [
        line.replace("- [ ]", "- [x]", 1) if marker in line else line
        for line in comment["body"].split("\n")
    ]
    project.maintainer.edit_comment(project.name, comment["id"], "\n".join(lines))
    project.settle()


def processes_with(marker: str, wait: float = 5.0) -> list[int]:
    """Live processes whose command line holds ``marker`` (a killed one may take a moment)."""
    deadline = time.monotonic() + wait
    while (found := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                alive = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
                if alive and marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return [pid for pid in found if pid != os.getpid()]


def test_an_executor_past_its_time_limit_is_killed_and_a_retry_runs_it_again(
    project: Project,
) -> None:
    project.configure(config_text(task_seconds=1.5))
    issue = project.planned("Slow work.\n\n- [ ] Slow coupon schema\n")
    project.approve(issue)

    task = project.run(issue).task("T1")
    assert task.phase is Phase.FAILED
    assert "timed out after 1.5s" in task.reason
    assert task.executor_seconds < 3.5
    assert processes_with(f"grandchild-{project.name}-T1") == []  # the whole group died
    body = project.plan_comment(issue)["body"]
    assert "techlead:control retry T1 v1" in body and "timed out after 1.5s" in body
    assert project.record(issue).plan.task("T1").status is TaskStatus.FAILED
    assert project.pulls() == []

    project.configure(config_text(task_seconds=30))
    tick_retry(project, issue, "T1")

    task = project.run(issue).task("T1")
    assert (task.phase, task.attempt) == (Phase.MERGED, 2)
    assert project.record(issue).plan.state is PlanState.DONE


def test_a_change_to_a_protected_path_is_rejected_and_explained(project: Project) -> None:
    issue = project.planned("Release.\n\n- [ ] Add a release workflow for coupons\n")
    project.approve(issue)

    task = project.run(issue).task("T1")
    assert task.phase is Phase.FAILED
    assert "`.github/workflows/release.yml` is protected (`.github/workflows/**`)" in task.reason
    body = project.plan_comment(issue)["body"]
    assert "rejected at commit time" in body and ".github/workflows/release.yml" in body
    assert not [b for b in project.branches() if "/T1-" in b]
    assert project.pulls() == []


def test_what_an_agent_commits_itself_is_checked_and_recommitted(project: Project) -> None:
    issue = project.planned("Sneaky.\n\n- [ ] Add a release workflow that commits itself\n")
    project.approve(issue)

    task = project.run(issue).task("T1")
    assert task.phase is Phase.FAILED
    assert "`.github/workflows/release.yml` is protected" in task.reason
    assert project.pulls() == []


def test_an_agent_commit_becomes_one_commit_with_the_trailers(project: Project) -> None:
    issue = project.planned("Coupons.\n\n- [ ] Define the coupon schema and commits itself\n")
    project.approve(issue)

    task = project.run(issue).task("T1")
    assert task.phase is Phase.MERGED
    commits = project.maintainer.call("GET", f"/repos/{project.name}/pulls/{task.pr}/commits")
    assert len(commits) == 1 and "TechLead-Task: T1" in commits[0]["commit"]["message"]


def test_allow_workflow_edits_lets_the_same_change_through(project: Project) -> None:
    project.configure(config_text(extra="  allow_workflow_edits: true\n"))
    issue = project.planned("Release.\n\n- [ ] Add a release workflow for coupons\n")
    project.approve(issue)
    assert project.run(issue).task("T1").phase is Phase.MERGED


def test_a_required_gate_failure_is_retried_once_with_the_findings(project: Project) -> None:
    issue = project.planned("Lint.\n\n- [ ] Add a lint-dirty cart helper\n")
    project.approve(issue)

    task = project.run(issue).task("T1")
    assert (task.phase, task.attempt, task.gate_retried) == (Phase.MERGED, 2, True)
    assert any("TechLead L1" in note for note in task.retry_notes)
    pull = next(p for p in project.pulls() if p["head"]["ref"] == task.branch)
    assert "Fix these from the previous attempt" in pull["body"]
    assert "attempt 2" in pull["body"]
    assert len(project.pulls()) == 2  # the task PR (reused) and the integration PR


def test_after_the_last_attempt_the_maintainers_are_mentioned_once(project: Project) -> None:
    project.configure(config_text(extra="  max_attempts: 1\n"))
    issue = project.planned("Release.\n\n- [ ] Add a release workflow for coupons\n")
    project.approve(issue)

    mentions = [
        c for c in project.maintainer.comments(project.name, issue) if "@shop-lead" in c["body"]
    ]
    assert len(mentions) == 1
    assert "task **T1** failed 1 times" in mentions[0]["body"]
    assert "rejected at commit time" in mentions[0]["body"]
    assert project.run(issue).task("T1").mentioned


def test_a_pull_request_that_no_longer_merges_is_re_run_on_the_integration_branch(
    project: Project,
) -> None:
    project.configure(config_text(extra="  require_review: 1\n"))
    issue = project.planned("Coupons.\n\n- [ ] Define the coupon schema\n")
    project.approve(issue)
    run = project.run(issue)
    task = run.task("T1")
    assert task.phase is Phase.REVIEW

    # Someone lands a different version of the task's file on the integration branch.
    content = base64.b64encode(b"a person's version\n").decode()
    project.owner.call(
        "PUT",
        f"/repos/{project.name}/contents/work/T1.txt",
        {"message": "Hand-written T1", "content": content, "branch": run.integration_branch},
    )
    project.owner.call(
        "POST", f"/repos/{project.name}/pulls/{task.pr}/reviews", {"event": "APPROVE"}
    )
    project.settle()

    task = project.run(issue).task("T1")
    assert (task.phase, task.attempt, task.conflict_retried) == (Phase.MERGED, 2, True)
    assert len(project.pulls()) == 2  # the same task PR, then the integration PR
    integration = project.run(issue).integration_pr
    log = project.maintainer.call(
        "GET", f"/repos/{project.name}/pulls/{integration}/commits?per_page=100"
    )
    assert any(c["commit"]["message"] == "Hand-written T1" for c in log)  # never overwritten


def test_github_failing_a_task_for_good_fails_it_with_the_reason_and_a_retry_box(
    project: Project,
) -> None:
    issue = project.planned(
        "Coupons.\n\n- [ ] Define the coupon schema\n- [ ] Apply coupons (after 1)\n"
    )
    broken = project.sandbox.faults.error(
        f"/repos/{project.name}/pulls", status=502, count=None, method="POST"
    )
    project.approve(issue)
    project.sandbox.faults.remove(broken.id)

    task = project.run(issue).task("T1")
    assert task.phase is Phase.FAILED
    assert "gave up after its retries" in task.reason and "502" in task.reason
    assert project.run(issue).task("T2").phase is Phase.WAITING  # only dependents wait
    assert "techlead:control retry T1 v1" in project.plan_comment(issue)["body"]

    tick_retry(project, issue, "T1")
    assert project.record(issue).plan.state is PlanState.DONE

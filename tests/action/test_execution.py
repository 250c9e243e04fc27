"""An approved plan carried out under GitHub Actions, to the integration pull request.

- With the workflow's ``GITHUB_TOKEN`` GitHub starts no workflow for TechLead's writes:
  the one run that handles the approval goes on by itself to the end.
- With a machine user's token (``TECHLEAD_GITHUB_TOKEN``) its writes start workflows:
  each run handles one event on a fresh runner, reading the plan and its execution
  record back from the checklist. The sandbox's signed webhooks for those writes are
  captured and replayed, as the documented workflows (with their ``concurrency`` groups:
  one pending run per group, a newer one replacing it) would receive them.
- Whatever TechLead wrote traces back: a task commit's trailers, the checklist's hidden
  state and the delivery stored by the run that made them agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.features.execution.render import parse_run_state
from bot.plan.checklist import PLAN_MARKER, parse_state
from bot.store import Store
from tests.action.workflow import (
    EXECUTE_PERMISSIONS,
    ISSUE_PERMISSIONS,
    Repo,
    bot_comments,
    configure,
    payload,
    run_action,
)
from tests.conftest import unique
from tests.sandbox_webhooks.support import SECRET, Received, Receiver

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

COUPONS = (
    "Customers should be able to apply a coupon code to their cart.\n\n"
    "- validate the coupon code\n- apply the coupon in the cart total\n- add tests\n"
)
# The events of the documented execution workflow, one `concurrency` group. (The plans
# workflow runs too for TechLead's own comments, and ignores them as its own.)
WORKFLOWS = {
    "pull_request": "execution",
    "pull_request_review": "execution",
    "status": "execution",
    "check_run": "execution",
    "check_suite": "execution",
}
MAX_RUNS = 12


def planned(tmp_path: Path, repo: Repo, token: str, extra: dict[str, str] | None = None) -> int:
    """An issue labeled for TechLead and the workflow run that plans it."""
    configure(repo)
    number = repo.owner.open_issue(repo.full_name, "Add coupons to the cart", COUPONS)
    repo.owner.label(repo.full_name, number, "techlead")
    labeled = payload(
        "issues.labeled",
        issue=repo.get(f"/issues/{number}"),
        label=repo.get("/labels/techlead"),
        repository=repo.get(""),
        sender=repo.sender(),
    )
    run_action(tmp_path / "plan", repo, "issues", labeled, token, extra)
    return number


def approval(repo: Repo, number: int) -> dict[str, Any]:
    comment_id = repo.owner.comment(repo.full_name, number, "/techlead approve")
    return payload(
        "issue_comment.created",
        issue=repo.get(f"/issues/{number}"),
        comment=repo.get(f"/issues/comments/{comment_id}"),
        repository=repo.get(""),
        sender=repo.sender(),
    )


def assert_carried_out(repo: Repo, number: int, login: str) -> str:
    """Every task PR merged, the integration PR open and closing the issue; the checklist."""
    pulls = repo.get("/pulls?state=all&per_page=100")
    tasks = [pull for pull in pulls if pull["base"]["ref"] != "main"]
    [integration] = [pull for pull in pulls if pull["base"]["ref"] == "main"]
    assert len(tasks) == 3
    assert all(pull["merged_at"] for pull in tasks), [(p["number"], p["state"]) for p in tasks]
    assert integration["state"] == "open"
    assert f"Closes #{number}" in integration["body"]
    [checklist] = [body for body in bot_comments(repo, number, login) if PLAN_MARKER in body]
    assert f"## TechLead plan for #{number} · done · v1" in checklist
    return checklist


def summary(output: str) -> str:
    """The step's own lines (not the log)."""
    return " | ".join(line for line in output.splitlines() if line.startswith("TechLead:"))


def trailers(message: str) -> dict[str, str]:
    return dict(re.findall(r"^(TechLead-[A-Za-z]+): (.+)$", message, re.MULTILINE))


def test_one_run_with_the_workflow_token_carries_the_plan_to_the_integration_pr(
    tmp_path: Path, repo: Repo
) -> None:
    number = planned(tmp_path, repo, repo.token(ISSUE_PERMISSIONS))

    output = run_action(
        tmp_path / "approve",
        repo,
        "issue_comment",
        approval(repo, number),
        repo.token(EXECUTE_PERMISSIONS),
    )

    assert "GITHUB_TOKEN mode" in output
    # GitHub sends nothing for its own pull requests: it fed itself their opening.
    assert "fed itself 4 events" in output and output.count("pull_request.opened #") == 4
    assert f"read back the plan of #{number} (v1, awaiting_approval)" in output
    checklist = assert_carried_out(repo, number, "github-actions[bot]")
    # Anything TechLead wrote traces back to its delivery: a task commit's trailers...
    pulls = [pull for pull in repo.get("/pulls?state=all") if pull["base"]["ref"] != "main"]
    task_commits = [
        trailers(commit["commit"]["message"])
        for pull in pulls
        for commit in repo.get(f"/pulls/{pull['number']}/commits")
    ]
    assert {found.get("TechLead-Task") for found in task_commits} == {"T1", "T2", "T3"}
    # ...name the trace, agent and delivery the checklist's hidden state records...
    plan = parse_state(checklist)
    run = parse_run_state(checklist, repo.full_name, number)
    assert plan is not None and run is not None
    for found in task_commits:
        task = run.task(found["TechLead-Task"])
        assert (task.trace_id, task.agent, task.delivery_id) == (
            found["TechLead-Trace"],
            found["TechLead-Agent"],
            found["TechLead-Delivery"],
        )
    assert (plan.delivery_id, plan.trace_id) == (run.delivery_id, run.trace_id)
    assert run.delivery_id == task_commits[0]["TechLead-Delivery"]
    # ...and the run stored that delivery: the approval, under the same trace.
    store = Store.open(tmp_path / "approve" / "techlead")
    try:
        stored = store.get_delivery(run.delivery_id)
        fed = [
            store.get_delivery(f"{run.delivery_id}-pr{task.pr}-{task.head_sha[:12]}")
            for task in run.tasks.values()
        ]
    finally:
        store.close()
    assert stored is not None
    assert (stored.event, stored.trace_id) == ("issue_comment", run.trace_id)
    assert stored.payload()["comment"]["body"] == "/techlead approve"
    assert [(item.event, item.trace_id) for item in fed if item is not None] == [
        ("pull_request", run.trace_id)
    ] * 3


# --------------------------------------------------------------------------- own token


@pytest.fixture
def receiver(repo: Repo) -> Iterator[Receiver]:
    """The sandbox's webhooks for repositories without an App, captured on 127.0.0.1."""
    captured = Receiver()
    repo.sandbox.set_webhook(captured.start(), SECRET)
    yield captured
    repo.sandbox.set_webhook(None, None)
    captured.stop()


def next_runs(received: list[Received], repo: Repo) -> list[Received]:
    """The deliveries that start workflow runs, the latest per concurrency group."""
    latest: dict[str, Received] = {}
    for item in received:
        group = WORKFLOWS.get(item.event)
        if group is not None and item.payload.get("repository", {}).get("full_name") == (
            repo.full_name
        ):
            assert item.signed_with(SECRET)
            latest[group] = item
    return sorted(latest.values(), key=received.index)


def test_with_an_own_token_each_run_carries_on_from_the_checklist(
    tmp_path: Path, repo: Repo, receiver: Receiver
) -> None:
    bot = repo.sandbox.create_user(unique("shop-bot"))
    repo.sandbox.set_role(repo.full_name, bot.login, "write")
    own = {"TECHLEAD_GITHUB_TOKEN": bot.token, "TECHLEAD_BOT_LOGIN": bot.login}
    # `permissions: {}`: the own token does everything. (No github-actions installation:
    # the sandbox's repository webhook then sends every event, as workflows get them.)
    workflow_token = "ghs_unused_workflow_token"
    number = planned(tmp_path, repo, workflow_token, own)
    assert repo.sandbox.wait_for_deliveries(10)
    seen = len(receiver.all())

    output = run_action(
        tmp_path / "approve", repo, "issue_comment", approval(repo, number), workflow_token, own
    )

    assert f"own-token mode ({bot.login})" in output
    # Its writes' events carry on: no run waits for gates (tasks of one wave that finish
    # while it runs may be merged by it, the last ones' are left).
    assert not [pull for pull in repo.get("/pulls?state=all") if pull["base"]["ref"] == "main"]
    runs, log = 0, [summary(output)]
    while runs < MAX_RUNS:
        assert repo.sandbox.wait_for_deliveries(10)
        received = receiver.all()
        due, seen = next_runs(received[seen:], repo), len(received)
        if not due:
            break
        for item in due:
            runs += 1
            body = {k: v for k, v in item.payload.items() if k != "installation"}
            output = run_action(
                tmp_path / f"run{runs}", repo, item.event, body, workflow_token, own
            )
            log.append(f"{item.event}.{item.action}: " + summary(output))
            assert f"read back the plan of #{number}" in output
            assert "and its execution record" in output
    [checklist] = [body for body in bot_comments(repo, number, bot.login) if PLAN_MARKER in body]
    assert "integration pull request #" in checklist, "\n".join([*log, checklist])
    assert_carried_out(repo, number, bot.login)
    assert runs < MAX_RUNS

"""``techlead action`` in a real subprocess, as a workflow step runs it, against the sandbox.

The workflow's ``GITHUB_TOKEN`` is an installation token of the ``github-actions`` App
holding only the permissions the documented workflow grants (docs/action.md), so a
missing permission fails here as it would on GitHub. Payloads are the real examples in
tests/fixtures/webhooks with their objects replaced by the sandbox's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.plan.checklist import PLAN_MARKER
from tests.action.workflow import (
    ACTIONS_BOT,
    ISSUE_PERMISSIONS,
    PULL_PERMISSIONS,
    Repo,
    bot_comments,
    payload,
    run_action,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_a_labeled_issue_gets_its_plan_with_issue_permissions_only(
    tmp_path: Path, repo: Repo
) -> None:
    number = repo.owner.open_issue(repo.full_name, "Add coupons to the cart", COUPONS)
    repo.owner.label(repo.full_name, number, "techlead")
    body = payload(
        "issues.labeled",
        issue=repo.get(f"/issues/{number}"),
        label=repo.get("/labels/techlead"),
        repository=repo.get(""),
        sender=repo.owner.call("GET", f"/users/{repo.owner.login}"),
    )

    run_action(tmp_path, repo, "issues", body, repo.token(ISSUE_PERMISSIONS))

    [plan] = bot_comments(repo, number)
    assert plan.startswith(PLAN_MARKER)
    assert "awaiting approval" in plan


def test_a_command_in_an_issue_comment_is_answered(tmp_path: Path, repo: Repo) -> None:
    number = repo.owner.open_issue(repo.full_name, "Add coupons to the cart", COUPONS)
    comment_id = repo.owner.comment(repo.full_name, number, "/techlead plan")
    body = payload(
        "issue_comment.created",
        issue=repo.get(f"/issues/{number}"),
        comment=repo.get(f"/issues/comments/{comment_id}"),
        repository=repo.get(""),
        sender=repo.owner.call("GET", f"/users/{repo.owner.login}"),
    )

    run_action(tmp_path, repo, "issue_comment", body, repo.token(ISSUE_PERMISSIONS))

    assert any(text.startswith(PLAN_MARKER) for text in bot_comments(repo, number))


def test_an_opened_pull_request_gets_gate_statuses(tmp_path: Path, repo: Repo) -> None:
    head = push_branch(repo, "risky", "src/shop/run.py", RISKY)
    pull = repo.owner.call(
        "POST", f"/repos/{repo.full_name}/pulls", {"title": "Run", "head": "risky", "base": "main"}
    )
    body = payload(
        "pull_request.opened",
        number=pull["number"],
        pull_request=repo.get(f"/pulls/{pull['number']}"),
        repository=repo.get(""),
        sender=repo.owner.call("GET", f"/users/{repo.owner.login}"),
    )

    run_action(tmp_path, repo, "pull_request", body, repo.token(PULL_PERMISSIONS))

    combined = repo.get(f"/commits/{head}/status")["statuses"]
    states = {item["context"]: item["state"] for item in combined}
    assert states.get("TechLead L5 · Security") == "failure", states
    assert "pending" not in states.values(), states
    every = repo.get(f"/commits/{head}/statuses")
    assert {item["creator"]["login"] for item in every} == {ACTIONS_BOT}


def push_branch(repo: Repo, branch: str, path: str, text: str) -> str:
    import base64

    main = repo.get("/git/ref/heads/main")["object"]["sha"]
    repo.owner.call(
        "POST", f"/repos/{repo.full_name}/git/refs", {"ref": f"refs/heads/{branch}", "sha": main}
    )
    change = {
        "message": "Run things",
        "content": base64.b64encode(text.encode()).decode(),
        "branch": branch,
    }
    answer = repo.owner.call("PUT", f"/repos/{repo.full_name}/contents/{path}", change)
    return str(answer["commit"]["sha"])


COUPONS = (
    "Customers should be able to apply a coupon code to their cart.\n\n"
    "- validate the code\n- apply the discount in `total`\n- add tests\n"
)
RISKY = (
    "import os\nimport subprocess\n\n\n"
    'def lookup(code):\n    return subprocess.run(f"grep {code} coupons.txt", shell=True)\n'
)

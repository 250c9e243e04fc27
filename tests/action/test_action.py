"""``techlead action`` in a real subprocess, as a workflow step runs it, against the sandbox.

The workflow's ``GITHUB_TOKEN`` is an installation token of the ``github-actions`` App
holding only the permissions the documented workflow grants (docs/action.md), so a
missing permission fails here as it would on GitHub. Payloads are the real examples in
tests/fixtures/webhooks with their objects replaced by the sandbox's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.demo import Person
from bot.plan.checklist import PLAN_MARKER
from bot.sandbox import Sandbox
from tests.conftest import unique
from tests.support.techlead import served_sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

FIXTURES = Path(__file__).parents[1] / "fixtures" / "webhooks"
ACTIONS_BOT = "github-actions[bot]"
TIMEOUT = 60
PYPROJECT = '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint]\nselect = ["E", "F"]\n'
FILES = {
    "README.md": "# Shop\n",
    "pyproject.toml": PYPROJECT,
    "src/shop/cart.py": "def total(items):\n    return sum(item.price for item in items)\n",
}
# The `permissions:` blocks of the example workflows in docs/action.md.
ISSUE_PERMISSIONS = {"contents": "read", "issues": "write"}
PULL_PERMISSIONS = {
    "contents": "read",
    "pull-requests": "write",
    "statuses": "write",
    "checks": "read",
}

EXECUTE_PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "pull-requests": "write",
    "statuses": "write",
    "checks": "read",
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with served_sandbox(tmp_path_factory.mktemp("action-sandbox")) as served:
        owner = served.create_user("actions-owner")
        served.create_app(owner.login, "github-actions", name="GitHub Actions")
        yield served


@dataclass
class Repo:
    """A repository, its owner acting through the API, and the workflow's token."""

    sandbox: Sandbox
    full_name: str
    owner: Person
    app_id: int

    def token(self, permissions: dict[str, str]) -> str:
        granted = {name.replace("-", "_"): level for name, level in permissions.items()}
        granted["metadata"] = "read"
        installation = self.sandbox.install_app(
            self.app_id,
            self.full_name.split("/")[0],
            permissions=granted,
            repositories=[self.full_name.split("/")[1]],
        )
        return self.sandbox.installation_token(installation.id)

    def get(self, path: str) -> Any:
        return self.owner.call("GET", f"/repos/{self.full_name}{path}")


@pytest.fixture
def repo(sandbox: Sandbox) -> Iterator[Repo]:
    user = sandbox.create_user(unique("maintainer"), name="Maintainer")
    made = sandbox.create_repo(user.login, unique("shop"), files=dict(FILES))
    app = next(app for app in sandbox.state.apps.values() if app.slug == "github-actions")
    person = Person(sandbox.api_url, user.login, user.token)
    yield Repo(sandbox, made.full_name, person, app.id)
    person.close()


def payload(fixture: str, **objects: Any) -> dict[str, Any]:
    """A real example payload with its objects replaced by the sandbox's."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{fixture}.json").read_text())
    data.pop("installation", None)  # Actions payloads carry none
    data.update(objects)
    return data


def run_action(tmp_path: Path, repo: Repo, event: str, body: dict[str, Any], token: str) -> str:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(body))
    summary = tmp_path / "summary.md"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_TOKEN": token,
        "GITHUB_API_URL": repo.sandbox.api_url,
        "GITHUB_REPOSITORY": repo.full_name,
        "GITHUB_RUN_ID": unique("run").split("-")[-1],
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
        "TECHLEAD_WRITE_INTERVAL": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "action", "--timeout", str(TIMEOUT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 30,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert token not in output, "the token never appears in the output or the log"
    assert "jobs done, 0 failed" in summary.read_text()
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines and all("delivery_id" in line for line in lines), "every log line names it"
    delivery = env["GITHUB_RUN_ID"]
    job_lines = [line for line in lines if "job_id" in line]
    assert job_lines and all(line["delivery_id"] == f"actions-{delivery}-1" for line in job_lines)
    return output


def bot_comments(repo: Repo, issue: int) -> list[str]:
    found = repo.get(f"/issues/{issue}/comments?per_page=100")
    return [comment["body"] for comment in found if comment["user"]["login"] == ACTIONS_BOT]


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


def test_an_approval_in_a_later_run_starts_execution_from_the_checklist(
    tmp_path: Path, repo: Repo
) -> None:
    number = repo.owner.open_issue(repo.full_name, "Add coupons to the cart", COUPONS)
    repo.owner.label(repo.full_name, number, "techlead")
    labeled = payload(
        "issues.labeled",
        issue=repo.get(f"/issues/{number}"),
        label=repo.get("/labels/techlead"),
        repository=repo.get(""),
        sender=repo.owner.call("GET", f"/users/{repo.owner.login}"),
    )
    (tmp_path / "first").mkdir()
    run_action(tmp_path / "first", repo, "issues", labeled, repo.token(ISSUE_PERMISSIONS))
    comment_id = repo.owner.comment(repo.full_name, number, "/techlead approve")
    approved = payload(
        "issue_comment.created",
        issue=repo.get(f"/issues/{number}"),
        comment=repo.get(f"/issues/comments/{comment_id}"),
        repository=repo.get(""),
        sender=repo.owner.call("GET", f"/users/{repo.owner.login}"),
    )
    (tmp_path / "second").mkdir()

    token = repo.token(EXECUTE_PERMISSIONS)

    run_action(tmp_path / "second", repo, "issue_comment", approved, token)

    [plan] = [text for text in bot_comments(repo, number) if text.startswith(PLAN_MARKER)]
    assert f"## TechLead plan for #{number} · running · v1" in plan
    branches = [item["name"] for item in repo.get("/branches?per_page=100")]
    assert any(name.startswith(f"techlead/{number}/T1-") for name in branches), branches

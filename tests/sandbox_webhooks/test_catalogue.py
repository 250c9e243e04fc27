"""Every event the bot relies on is delivered, once, in GitHub's payload shape.

Each payload is validated against GitHub's published schema by the autouse fixture in
``fixtures.py``; here the point is that each kind arrives, as many times as it happened.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import github
import httpx
import pytest

from bot.sandbox import Sandbox
from bot.sandbox.sandbox import DEFAULT_APP_EVENTS
from tests.conftest import build_world, make_github
from tests.sandbox_webhooks.support import Receiver
from tests.support.gitcli import GitCli

pytestmark = pytest.mark.sandbox

EXPECTED = Counter(
    {
        ("installation", "created"): 1,
        ("issues", "opened"): 1,
        ("issues", "edited"): 1,
        ("issues", "labeled"): 1,
        ("issues", "unlabeled"): 1,
        ("issues", "closed"): 1,
        ("issues", "reopened"): 1,
        ("issue_comment", "created"): 2,
        ("issue_comment", "edited"): 1,
        ("issue_comment", "deleted"): 1,
        ("push", None): 2,
        ("check_suite", "requested"): 2,
        ("check_suite", "rerequested"): 1,
        ("check_suite", "completed"): 1,
        ("pull_request", "opened"): 1,
        ("pull_request", "edited"): 1,
        ("pull_request", "labeled"): 1,
        ("pull_request", "converted_to_draft"): 1,
        ("pull_request", "ready_for_review"): 1,
        ("pull_request", "synchronize"): 1,
        ("pull_request", "closed"): 1,
        ("pull_request", "reopened"): 1,
        ("pull_request_review", "submitted"): 1,
        ("pull_request_review_comment", "created"): 1,
        ("check_run", "created"): 1,
        ("check_run", "completed"): 1,
        ("check_run", "rerequested"): 1,
        ("check_run", "requested_action"): 1,
        ("status", None): 1,
    }
)


def test_each_event_kind_arrives_once_per_occurrence(
    sandbox: Sandbox,
    sandbox_api_url: str,
    app_key: tuple[str, str],
    receiver: Receiver,
    git: GitCli,
    tmp_path: Path,
) -> None:
    owner = sandbox.create_user(f"cat-{len(sandbox.events)}")
    app = sandbox.create_app(
        owner.login,
        f"cat-{len(sandbox.events)}",
        public_key_pem=app_key[1],
        events=[*DEFAULT_APP_EVENTS, "status"],
    )
    sandbox.set_app_webhook(app.id, receiver.url, "s")
    repo_info = sandbox.create_repo(owner.login, "catalogue", files={"app.py": "a = 1\n"})
    installation = sandbox.install_app(app.id, owner.login)
    auth = github.Auth.AppAuth(app.id, app_key[0]).get_installation_auth(installation.id)
    as_user = make_github(github.Auth.Token(owner.token), sandbox_api_url)
    as_app = make_github(auth, sandbox_api_url)
    try:
        repo = as_user.get_repo(repo_info.full_name)
        issue = repo.create_issue("Catalogue", body="every event")
        issue.edit(title="Catalogue of events", labels=["kind"])
        issue.remove_from_labels("kind")
        first = issue.create_comment("first")
        first.edit("first, edited")
        first.delete()
        as_app.get_repo(repo_info.full_name).get_issue(issue.number).create_comment("by the bot")
        issue.edit(state="closed")
        issue.edit(state="open")

        checkout = tmp_path / "checkout"
        url = f"{sandbox.base_url}/{repo_info.full_name}.git"
        git.ok("clone", "-q", url, str(checkout), token=owner.token)
        git.ok("checkout", "-q", "-b", "topic", cwd=checkout)
        git.commit(checkout, {"app.py": "a = 2\n"}, "Two")
        git.ok("push", "-q", "origin", "topic", cwd=checkout, token=owner.token)
        pull = repo.create_pull(base="main", head="topic", title="Topic")
        pull.edit(body="now with a body")
        pull.add_to_labels("kind")
        sandbox.convert_to_draft(repo_info.full_name, pull.number)
        sandbox.mark_ready_for_review(repo_info.full_name, pull.number)
        git.commit(checkout, {"app.py": "a = 3\n"}, "Three")
        git.ok("push", "-q", "origin", "topic", cwd=checkout, token=owner.token)
        reviewing = as_app.get_repo(repo_info.full_name).get_pull(pull.number)
        reviewing.create_review(
            body="ok", event="COMMENT", comments=[{"path": "app.py", "line": 1, "body": "three?"}]
        )
        head = repo.get_pull(pull.number).head.sha
        run = as_app.get_repo(repo_info.full_name).create_check_run(
            "lint",
            head,
            conclusion="success",
            actions=[{"label": "Rerun", "description": "Run it again", "identifier": "rerun"}],
        )
        token = sandbox.installation_token(installation.id)
        base = f"{sandbox_api_url}/repos/{repo_info.full_name}"
        headers = {"Authorization": f"token {token}"}
        assert (
            httpx.post(f"{base}/check-runs/{run.id}/rerequest", headers=headers).status_code == 201
        )
        suite_id = run.check_suite.id
        assert (
            httpx.post(f"{base}/check-suites/{suite_id}/rerequest", headers=headers).status_code
            == 201
        )
        sandbox.request_check_run_action(repo_info.full_name, run.id, "rerun", owner.login)
        repo.get_commit(head).create_status("success", context="ci", description="green")
        pull.edit(state="closed")
        pull.edit(state="open")
        assert sandbox.wait_for_deliveries()
    finally:
        as_user.close()
        as_app.close()

    assert Counter(receiver.kinds()) == EXPECTED
    assert len({r.guid for r in receiver.all()}) == len(receiver.all())


def test_an_organizations_repository_names_the_organization(
    sandbox: Sandbox, sandbox_api_url: str, app_key: tuple[str, str], receiver: Receiver
) -> None:
    member = build_world(sandbox, sandbox_api_url, app_key)
    org = sandbox.create_user(f"org-{member.repo.name}", kind="Organization")
    app = sandbox.create_app(org.login, f"orgapp-{member.repo.name}", public_key_pem=app_key[1])
    sandbox.set_app_webhook(app.id, receiver.url, "s")
    repo = sandbox.create_repo(org.login, "shared", files={"README.md": "# shared\n"})
    sandbox.install_app(app.id, org.login)
    sandbox.set_role(repo.full_name, member.user.login, "write")

    member.user_gh.get_repo(repo.full_name).create_issue("In the organization")
    assert sandbox.wait_for_deliveries()

    [opened] = receiver.of("issues", "opened")
    assert opened.payload["organization"]["login"] == org.login
    assert opened.payload["sender"]["login"] == member.user.login

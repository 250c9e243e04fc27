"""A pull request's life as a person and an App live it: git push, PyGithub, webhooks.

Push a branch over git HTTP, open a draft, read its files, review it inline, push
again (comments on changed lines become outdated), fail to merge the draft, mark it
ready, merge it, see the linked issue closed; every step's webhook reaches a real
receiver exactly once, signed.
"""

from __future__ import annotations

import github
import pytest

from bot.sandbox import Sandbox
from tests.conftest import World, build_world
from tests.sandbox_webhooks.fixtures import Cloner
from tests.sandbox_webhooks.support import Receiver
from tests.support.gitcli import GitCli

pytestmark = pytest.mark.sandbox

APP_SECRET = "app-hook-secret"
APP_PY = """def greet(name):
    return f"Hello, {name}!"


def add(a, b):
    return a + b


def main():
    print(greet("world"))
    print(add(1, 2))
"""
FIRST = APP_PY.replace("    return a + b\n", "    total = a + b\n    return total\n")
SECOND = FIRST.replace("    total = a + b\n", "    total = sum((a, b))\n")
EXPECTED_PATCH = "\n".join(
    [
        "@@ -3,7 +3,8 @@ def greet(name):",
        " ",
        " ",
        " def add(a, b):",
        "-    return a + b",
        "+    total = a + b",
        "+    return total",
        " ",
        " ",
        " def main():",
    ]
)

EXPECTED_HOOKS = [
    ("issues", "opened"),
    ("push", None),
    ("check_suite", "requested"),
    ("pull_request", "opened"),
    ("pull_request_review_comment", "created"),
    ("pull_request_review_comment", "created"),
    ("pull_request_review_comment", "created"),
    ("pull_request_review", "submitted"),
    ("push", None),
    ("check_suite", "requested"),
    ("pull_request", "synchronize"),
    ("pull_request", "ready_for_review"),
    ("push", None),
    ("check_suite", "requested"),
    ("pull_request", "closed"),
    ("issues", "closed"),
]


@pytest.fixture
def project(
    sandbox: Sandbox, sandbox_api_url: str, app_key: tuple[str, str], receiver: Receiver
) -> World:
    world = build_world(sandbox, sandbox_api_url, app_key, files={"app.py": APP_PY})
    sandbox.set_app_webhook(world.app.id, receiver.url, APP_SECRET)
    return world


def test_pull_request_from_push_to_merge(
    sandbox: Sandbox, project: World, git: GitCli, clone: Cloner, receiver: Receiver
) -> None:
    token = project.user.token
    repo = project.user_gh.get_repo(project.repo.full_name)
    bug = repo.create_issue("add() is hard to read")
    checkout = clone(project, token)
    git.ok("checkout", "-q", "-b", "readable-add", cwd=checkout)
    first = git.commit(checkout, {"app.py": FIRST}, "Name the sum")
    git.ok("push", "-q", "origin", "readable-add", cwd=checkout, token=token)

    pull = repo.create_pull(
        base="main",
        head="readable-add",
        title="Readable add",
        body=f"Fixes #{bug.number}",
        draft=True,
    )
    files = list(pull.get_files())
    assert [(f.filename, f.status, f.additions, f.deletions) for f in files] == [
        ("app.py", "modified", 2, 1)
    ]
    assert files[0].patch == EXPECTED_PATCH
    assert (pull.draft, pull.head.sha, pull.commits) == (True, first, 1)

    as_app = project.app_gh.get_repo(project.repo.full_name).get_pull(pull.number)
    review = as_app.create_review(
        body="A few notes",
        event="COMMENT",
        comments=[
            {"path": "app.py", "line": 6, "side": "RIGHT", "body": "added line"},
            {"path": "app.py", "line": 5, "side": "RIGHT", "body": "context line"},
            {"path": "app.py", "line": 6, "side": "LEFT", "body": "removed line"},
        ],
    )
    assert review.state == "COMMENTED"
    placed = {c.body: c for c in as_app.get_review_comments()}
    assert {body: c.position for body, c in placed.items()} == {
        "added line": 5,
        "context line": 3,
        "removed line": 4,
    }

    second = git.commit(checkout, {"app.py": SECOND}, "Use sum")
    git.ok("push", "-q", "origin", "readable-add", cwd=checkout, token=token)
    after = {c.body: c for c in repo.get_pull(pull.number).get_review_comments()}
    outdated = after["added line"]
    assert (outdated.position, outdated.line) == (None, None)
    assert (outdated.original_position, outdated.original_line) == (5, 6)
    assert outdated.commit_id == outdated.original_commit_id == first
    kept = after["context line"]
    assert (kept.position, kept.line, kept.commit_id) == (3, 5, second)
    assert (after["removed line"].line, after["removed line"].side) == (6, "LEFT")

    with pytest.raises(github.GithubException) as draft:
        pull.merge()
    assert (draft.value.status, draft.value.data["message"]) == (
        405,
        "Pull Request is still a draft",
    )

    sandbox.mark_ready_for_review(project.repo.full_name, pull.number)
    with pytest.raises(github.GithubException) as stale:
        pull.merge(sha=first)
    assert stale.value.status == 409
    assert (
        stale.value.data["message"] == "Head branch was modified. Review and try the merge again."
    )

    merged = pull.merge(sha=second)
    assert merged.merged
    tip = repo.get_git_ref("heads/main").object.sha
    assert tip == merged.sha
    assert [p.sha for p in repo.get_git_commit(tip).parents][1] == second
    assert repo.get_contents("app.py", ref="main").decoded_content.decode() == SECOND
    closed = repo.get_issue(bug.number)
    assert (closed.state, closed.state_reason) == ("closed", "completed")
    assert repo.get_pull(pull.number).merged

    assert sandbox.wait_for_deliveries(20)
    assert receiver.kinds() == EXPECTED_HOOKS
    got = receiver.all()
    assert len({r.guid for r in got}) == len(got)
    assert all(r.signed_with(APP_SECRET) for r in got)
    assert {r.headers["x-github-hook-installation-target-id"] for r in got} == {str(project.app.id)}
    assert {r.payload["installation"]["id"] for r in got} == {project.installation.id}
    synchronize = receiver.of("pull_request", "synchronize")[0].payload
    assert (synchronize["before"], synchronize["after"]) == (first, second)
    closed_hook = receiver.of("pull_request", "closed")[0].payload["pull_request"]
    assert (closed_hook["merged"], closed_hook["merge_commit_sha"]) == (True, merged.sha)

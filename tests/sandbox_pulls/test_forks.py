"""Forks in the sandbox, and pull requests whose head branch lives in a fork.

A contributor without write access forks the repository (PyGithub's ``create_fork``),
pushes a branch to the fork over git HTTP and opens a pull request into the original,
as on GitHub. What the App then sees is what GitHub shows: ``head.repo`` is the fork
(``fork: true``), the head's commits are fetchable from the base repository at
``refs/pull/N/head``, a push to the fork's branch synchronizes the pull request, and
nobody can push to ``refs/pull/*``. Every webhook validates against GitHub's schema
(the autouse fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import github
import pytest

from bot.sandbox import Sandbox
from tests.conftest import World, make_github, unique
from tests.support.gitcli import GitCli

pytestmark = pytest.mark.sandbox

CHANGE = {"feature.py": "def feature():\n    return 42\n"}


@dataclass
class Contributor:
    """Someone with no role on the world's repository, and a client of theirs."""

    login: str
    token: str
    gh: github.Github


@pytest.fixture
def contributor(sandbox: Sandbox, world: World) -> Iterator[Contributor]:
    user = sandbox.create_user(unique("contributor"), name="Outside Contributor")
    client = make_github(github.Auth.Token(user.token), world.api_url)
    yield Contributor(user.login, user.token, client)
    client.close()


def fork_of(world: World, contributor: Contributor) -> github.Repository.Repository:
    return contributor.gh.get_repo(world.repo.full_name).create_fork()


def push_to_fork(
    sandbox: Sandbox,
    git: GitCli,
    tmp_path: Path,
    fork: str,
    contributor: Contributor,
    files: dict[str, str | None],
) -> tuple[Path, str]:
    """Clone the fork, commit ``files`` on branch ``patch-1``, push: (checkout, sha)."""
    checkout = tmp_path / unique("fork-checkout")
    url = f"{sandbox.base_url}/{fork}.git"
    git.ok("clone", "-q", url, str(checkout), token=contributor.token)
    git.ok("checkout", "-q", "-b", "patch-1", cwd=checkout)
    sha = git.commit(checkout, files, "A change from a fork")
    git.ok("push", "-q", "origin", "patch-1", cwd=checkout, token=contributor.token)
    return checkout, sha


def test_a_fork_is_a_repository_that_names_its_parent(
    sandbox: Sandbox, world: World, contributor: Contributor
) -> None:
    fork = fork_of(world, contributor)

    assert fork.full_name == f"{contributor.login}/{world.repo.name}"
    assert fork.fork is True
    assert fork.parent.full_name == world.repo.full_name
    assert fork.source.full_name == world.repo.full_name
    assert fork.get_contents("README.md").decoded_content == b"# Project\n"
    original = world.user_gh.get_repo(world.repo.full_name)
    assert original.fork is False
    assert original.forks_count == 1
    assert [f.full_name for f in original.get_forks()] == [fork.full_name]
    # Asking again gives the same fork.
    assert fork_of(world, contributor).id == fork.id
    forked = [e for e in sandbox.events if e.name == "fork" and e.repo_id == world.repo.id]
    assert len(forked) == 1


def test_a_pull_request_from_a_fork_shows_the_fork_as_its_head(
    sandbox: Sandbox,
    world: World,
    contributor: Contributor,
    git: GitCli,
    tmp_path: Path,
) -> None:
    fork = fork_of(world, contributor)
    checkout, sha = push_to_fork(sandbox, git, tmp_path, fork.full_name, contributor, CHANGE)

    opened = contributor.gh.get_repo(world.repo.full_name).create_pull(
        base="main", head=f"{contributor.login}:patch-1", title="From a fork", body=""
    )

    pull = world.app_gh.get_repo(world.repo.full_name).get_pull(opened.number)
    assert pull.head.sha == sha
    assert pull.head.ref == "patch-1"
    assert pull.head.label == f"{contributor.login}:patch-1"
    assert pull.head.repo.full_name == fork.full_name
    assert pull.head.repo.fork is True
    assert pull.base.repo.full_name == world.repo.full_name
    assert [f.filename for f in pull.get_files()] == ["feature.py"]
    payload = _last_pull_event(sandbox, world, "opened")["pull_request"]
    assert payload["head"]["repo"]["fork"] is True
    assert payload["head"]["repo"]["full_name"] == fork.full_name

    # A push to the fork's branch moves the pull request, fetchable from the base.
    newer = git.commit(checkout, {"feature.py": "def feature():\n    return 43\n"}, "Fix")
    git.ok("push", "-q", "origin", "patch-1", cwd=checkout, token=contributor.token)
    assert world.app_gh.get_repo(world.repo.full_name).get_pull(opened.number).head.sha == newer
    synchronized = _last_pull_event(sandbox, world, "synchronize")
    assert (synchronized["before"], synchronized["after"]) == (sha, newer)
    base_url = f"{sandbox.base_url}/{world.repo.full_name}.git"
    listed = git.ok(
        "ls-remote", base_url, f"refs/pull/{opened.number}/head", token=world.user.token
    )
    assert listed.split() == [newer, f"refs/pull/{opened.number}/head"]


def test_refs_pull_cannot_be_pushed_to(
    sandbox: Sandbox, world: World, git: GitCli, tmp_path: Path
) -> None:
    checkout = tmp_path / "owner-checkout"
    url = f"{sandbox.base_url}/{world.repo.full_name}.git"
    git.ok("clone", "-q", url, str(checkout), token=world.user.token)
    git.ok("checkout", "-q", "-b", "topic", cwd=checkout)
    git.commit(checkout, CHANGE, "topic")
    git.ok("push", "-q", "origin", "topic", cwd=checkout, token=world.user.token)
    number = (
        world.user_gh.get_repo(world.repo.full_name)
        .create_pull(base="main", head="topic", title="Same repository", body="")
        .number
    )

    done = git.run(
        "push", "origin", f"HEAD~1:refs/pull/{number}/head", cwd=checkout, token=world.user.token
    )

    assert done.returncode != 0
    assert "hidden ref" in done.stderr
    head = world.user_gh.get_repo(world.repo.full_name).get_pull(number).head.sha
    listed = git.ok("ls-remote", url, f"refs/pull/{number}/head", token=world.user.token)
    assert listed.split()[0] == head


def test_deleting_the_forks_branch_closes_the_pull_request(
    sandbox: Sandbox,
    world: World,
    contributor: Contributor,
    git: GitCli,
    tmp_path: Path,
) -> None:
    fork = fork_of(world, contributor)
    checkout, _ = push_to_fork(sandbox, git, tmp_path, fork.full_name, contributor, CHANGE)
    number = (
        contributor.gh.get_repo(world.repo.full_name)
        .create_pull(base="main", head=f"{contributor.login}:patch-1", title="From a fork", body="")
        .number
    )
    # A branch of the same name in the base repository is not the fork's.
    owner_checkout = tmp_path / "owner"
    url = f"{sandbox.base_url}/{world.repo.full_name}.git"
    git.ok("clone", "-q", url, str(owner_checkout), token=world.user.token)
    git.ok("checkout", "-q", "-b", "patch-1", cwd=owner_checkout)
    git.commit(owner_checkout, {"other.py": "x = 1\n"}, "unrelated")
    git.ok("push", "-q", "origin", "patch-1", cwd=owner_checkout, token=world.user.token)
    assert world.user_gh.get_repo(world.repo.full_name).get_pull(number).state == "open"

    git.ok("push", "-q", "origin", ":patch-1", cwd=checkout, token=contributor.token)

    pull = world.user_gh.get_repo(world.repo.full_name).get_pull(number)
    assert pull.state == "closed"
    assert pull.head.repo.full_name == fork.full_name


@pytest.mark.parametrize(
    ("head", "why"),
    [("nobody-here:patch-1", "no such account"), ("{owner}:no-such-branch", "no such branch")],
    ids=["unknown-fork-owner", "unknown-branch"],
)
def test_a_head_that_is_no_fork_branch_is_refused(
    world: World, contributor: Contributor, head: str, why: str
) -> None:
    fork_of(world, contributor)
    repo = contributor.gh.get_repo(world.repo.full_name)

    with pytest.raises(github.GithubException) as refused:
        repo.create_pull(base="main", head=head.format(owner=contributor.login), title=why, body="")

    assert refused.value.status == 422


def _last_pull_event(sandbox: Sandbox, world: World, action: str) -> dict[str, object]:
    found = [
        e
        for e in sandbox.events
        if e.name == "pull_request" and e.action == action and e.repo_id == world.repo.id
    ]
    assert found, f"no pull_request.{action}"
    return found[-1].body(sandbox.urls)


def test_a_fork_pull_request_reopens_while_the_forks_branch_exists(
    sandbox: Sandbox,
    world: World,
    contributor: Contributor,
    git: GitCli,
    tmp_path: Path,
) -> None:
    fork = fork_of(world, contributor)
    checkout, _ = push_to_fork(sandbox, git, tmp_path, fork.full_name, contributor, CHANGE)
    number = (
        contributor.gh.get_repo(world.repo.full_name)
        .create_pull(base="main", head=f"{contributor.login}:patch-1", title="From a fork", body="")
        .number
    )
    pull = world.user_gh.get_repo(world.repo.full_name).get_pull(number)
    pull.edit(state="closed")
    pull.edit(state="open")  # the branch is in the fork, not in the base repository
    assert pull.state == "open"

    pull.edit(state="closed")
    git.ok("push", "-q", "origin", ":patch-1", cwd=checkout, token=contributor.token)
    with pytest.raises(github.GithubException) as refused:
        pull.edit(state="open")
    assert refused.value.status == 422

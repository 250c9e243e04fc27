"""Users, collaborators and permission levels, reactions, branches and /rate_limit."""

from __future__ import annotations

from collections.abc import Callable

import github
import httpx
import pytest

from bot.sandbox import Sandbox
from tests.conftest import World, unique

pytestmark = pytest.mark.sandbox


def test_public_profile_by_username(
    world: World, github_for: Callable[[str], github.Github]
) -> None:
    profile = world.app_gh.get_user(world.user.login)
    assert (profile.login, profile.type) == (world.user.login, "User")
    with pytest.raises(github.UnknownObjectException):
        world.app_gh.get_user("nobody-by-that-name").login  # noqa: B018


@pytest.mark.parametrize(
    ("role", "permission"),
    [
        ("admin", "admin"),
        ("maintain", "write"),
        ("write", "write"),
        ("triage", "read"),
        ("read", "read"),
    ],
    ids=["admin", "maintain", "write", "triage", "read"],
)
def test_permission_levels(world: World, sandbox: Sandbox, role: str, permission: str) -> None:
    person = sandbox.create_user(unique(role))
    sandbox.set_role(world.repo.full_name, person.login, role)
    repo = world.app_gh.get_repo(world.repo.full_name)
    assert repo.get_collaborator_permission(person.login) == permission
    raw = repo.get_collaborator_role_name(person.login)
    assert raw == role


def test_owner_is_admin_and_strangers_read_public_repos(world: World, sandbox: Sandbox) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    assert repo.get_collaborator_permission(world.user.login) == "admin"
    stranger = sandbox.create_user(unique("stranger"))
    assert repo.get_collaborator_permission(stranger.login) == "read"


def test_put_collaborator_grants_the_role(
    world: World, sandbox: Sandbox, github_for: Callable[[str], github.Github]
) -> None:
    person = sandbox.create_user(unique("helper"))
    owner_repo = world.user_gh.get_repo(world.repo.full_name)
    owner_repo.add_to_collaborators(person.login, permission="triage")
    assert owner_repo.has_in_collaborators(person.login)
    assert [c.login for c in owner_repo.get_collaborators()] == [world.user.login, person.login]

    helper_repo = github_for(person.token).get_repo(world.repo.full_name)
    issue = owner_repo.create_issue("Triage me")
    helper_repo.get_issue(issue.number).add_to_labels("triaged")
    with pytest.raises(github.GithubException) as caught:
        helper_repo.create_file("x.txt", "needs write", "x")
    assert caught.value.status == 403

    owner_repo.remove_from_collaborators(person.login)
    assert not owner_repo.has_in_collaborators(person.login)


def test_reader_cannot_label_but_can_open_issues(
    world: World, sandbox: Sandbox, github_for: Callable[[str], github.Github]
) -> None:
    reader = sandbox.create_user(unique("reader"))
    repo = github_for(reader.token).get_repo(world.repo.full_name)
    issue = repo.create_issue("From a reader", labels=["dropped"])
    assert issue.labels == []
    with pytest.raises(github.GithubException) as caught:
        issue.add_to_labels("bug")
    assert caught.value.status == 403


@pytest.mark.parametrize("target", ["issue", "comment"])
def test_reactions_new_existing_list_delete(world: World, target: str) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    issue = repo.create_issue("React")
    subject = issue if target == "issue" else issue.create_comment("react to me")

    first = subject.create_reaction("rocket")
    again = subject.create_reaction("rocket")
    subject.create_reaction("eyes")
    assert first.id == again.id
    assert sorted(r.content for r in subject.get_reactions()) == ["eyes", "rocket"]

    subject.delete_reaction(first.id)
    assert [r.content for r in subject.get_reactions()] == ["eyes"]
    fresh = repo.get_issue(issue.number) if target == "issue" else issue.get_comment(subject.id)
    assert fresh.reactions["total_count"] == 1
    assert fresh.reactions["eyes"] == 1


def test_reaction_status_codes(world: World, sandbox: Sandbox) -> None:
    issue = world.user_gh.get_repo(world.repo.full_name).create_issue("Codes")
    url = f"{sandbox.api_url}/repos/{world.repo.full_name}/issues/{issue.number}/reactions"
    headers = {"Authorization": f"token {world.user.token}"}
    assert httpx.post(url, headers=headers, json={"content": "heart"}).status_code == 201
    assert httpx.post(url, headers=headers, json={"content": "heart"}).status_code == 200
    bad = httpx.post(url, headers=headers, json={"content": "thumbs"})
    assert bad.status_code == 422


def test_branches(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    repo.create_git_ref("refs/heads/dev", world.repo.head_sha or "")
    assert [b.name for b in repo.get_branches()] == ["dev", "main"]
    main = repo.get_branch("main")
    assert (main.commit.sha, main.protected) == (world.repo.head_sha, False)
    with pytest.raises(github.GithubException) as caught:
        repo.get_branch("nope")
    assert caught.value.status == 404


def test_rate_limit_endpoint_is_free(world: World) -> None:
    first = world.user_gh.get_rate_limit().resources.core
    second = world.user_gh.get_rate_limit().resources.core
    assert first.limit == 5000
    assert first.remaining == second.remaining


def test_installation_lists_its_repositories(world: World) -> None:
    installation = world.integration.get_app_installation(world.installation.id)
    names = [r.full_name for r in installation.get_repos()]
    assert names == [world.repo.full_name]

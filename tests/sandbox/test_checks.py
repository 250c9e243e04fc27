"""Check runs and suites: Apps only, annotations appended, GitHub's size limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import github
import pytest

from bot.sandbox import Sandbox
from tests.conftest import World

pytestmark = pytest.mark.sandbox


def _annotations(count: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "path": "app.py",
            "start_line": line,
            "end_line": line,
            "annotation_level": "warning",
            "message": f"problem on line {line}",
        }
        for line in range(start, start + count)
    ]


def test_app_creates_updates_and_reads_back_a_check_run(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    sha = world.repo.head_sha or ""
    run = repo.create_check_run("lint", sha, status="in_progress", external_id="job-1")
    run.edit(
        conclusion="failure",
        output={"title": "2 problems", "summary": "Fix them", "annotations": _annotations(2)},
    )

    again = world.user_gh.get_repo(world.repo.full_name).get_check_run(run.id)
    assert (again.status, again.conclusion) == ("completed", "failure")
    assert again.output.title == "2 problems"
    assert again.output.annotations_count == 2
    assert again.app.slug == world.app.slug
    assert again.external_id == "job-1"
    assert again.completed_at is not None and again.started_at is not None


def test_annotations_are_appended_across_updates(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    run = repo.create_check_run(
        "lint",
        world.repo.head_sha or "",
        output={"title": "t", "summary": "s", "annotations": _annotations(50)},
    )
    run.edit(output={"title": "t", "summary": "s", "annotations": _annotations(30, start=51)})
    lines = [a.start_line for a in run.get_annotations()]
    assert lines == list(range(1, 81))
    assert repo.get_check_run(run.id).output.annotations_count == 80


def test_more_than_50_annotations_in_one_request_is_rejected(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    with pytest.raises(github.GithubException) as caught:
        repo.create_check_run(
            "lint",
            world.repo.head_sha or "",
            output={"title": "t", "summary": "s", "annotations": _annotations(51)},
        )
    assert caught.value.status == 422
    assert "No more than 50 items are allowed" in caught.value.data["message"]
    assert list(repo.get_commit(world.repo.head_sha or "").get_check_runs()) == []


@pytest.mark.parametrize("field", ["summary", "text"])
def test_output_over_65535_characters_is_rejected(world: World, field: str) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    output: dict[str, Any] = {"title": "t", "summary": "s", field: "x" * 65536}
    with pytest.raises(github.GithubException) as caught:
        repo.create_check_run("lint", world.repo.head_sha or "", output=output)
    assert caught.value.status == 422
    assert "Only 65535 characters are allowed; 65536 were supplied." in caught.value.data["message"]


def test_output_over_65535_bytes_is_rejected(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    output: dict[str, Any] = {
        "title": "t",
        "summary": "é" * 40000,
    }  # 40,000 characters, 80,000 bytes
    with pytest.raises(github.GithubException) as caught:
        repo.create_check_run("lint", world.repo.head_sha or "", output=output)
    assert caught.value.status == 422
    assert (
        caught.value.data["errors"][0]["message"] == "summary exceeds a maximum bytesize of 65535"
    )


def test_user_token_cannot_create_check_runs(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    with pytest.raises(github.GithubException) as caught:
        repo.create_check_run("lint", world.repo.head_sha or "")
    assert caught.value.status == 403
    assert caught.value.data["message"] == "You must authenticate via a GitHub App."


def test_installation_without_checks_write_cannot_create_check_runs(
    world_factory: Callable[..., World],
) -> None:
    world = world_factory(permissions={"issues": "write", "checks": "read"})
    repo = world.app_gh.get_repo(world.repo.full_name)
    with pytest.raises(github.GithubException) as caught:
        repo.create_check_run("lint", world.repo.head_sha or "")
    assert caught.value.status == 403
    assert caught.value.data["message"] == "Resource not accessible by integration"
    assert repo.create_issue("still allowed").number >= 1


def test_unknown_head_sha_is_rejected(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    with pytest.raises(github.GithubException) as caught:
        repo.create_check_run("lint", "0" * 40)
    assert caught.value.status == 422


def test_completed_without_conclusion_is_rejected(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    with pytest.raises(github.GithubException) as caught:
        repo.create_check_run("lint", world.repo.head_sha or "", status="completed")
    assert caught.value.status == 422


def test_list_for_ref_filters_by_name_and_status(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    sha = world.repo.head_sha or ""
    repo.create_check_run("lint", sha, status="in_progress")
    repo.create_check_run("tests", sha, conclusion="success")
    commit = repo.get_commit(sha)

    assert sorted(r.name for r in commit.get_check_runs()) == ["lint", "tests"]
    assert [r.name for r in commit.get_check_runs(check_name="tests")] == ["tests"]
    assert [r.name for r in commit.get_check_runs(status="in_progress")] == ["lint"]
    assert commit.get_check_runs().totalCount == 2


def test_suite_is_created_per_app_and_sha_and_tracks_its_runs(
    world: World, sandbox: Sandbox
) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    sha = world.repo.head_sha or ""
    first = repo.create_check_run("lint", sha, conclusion="success")
    second = repo.create_check_run("tests", sha, status="in_progress")
    assert first.check_suite.id == second.check_suite.id

    suite = repo.get_check_suite(first.check_suite.id)
    assert (suite.status, suite.head_sha, suite.app.id) == ("in_progress", sha, world.app.id)
    second.edit(conclusion="failure")
    suite = repo.get_check_suite(first.check_suite.id)
    assert (suite.status, suite.conclusion) == ("completed", "failure")
    assert suite.latest_check_runs_count == 2
    assert [s.id for s in repo.get_commit(sha).get_check_suites()] == [suite.id]

    suite.rerequest()
    assert repo.get_check_suite(suite.id).status == "queued"
    kinds = [(e.name, e.action) for e in sandbox.events if e.repo_id == world.repo.id]
    assert ("check_suite", "completed") in kinds
    assert kinds[-1] == ("check_suite", "rerequested")


def test_check_run_events_carry_the_run(world: World, sandbox: Sandbox) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    run = repo.create_check_run("lint", world.repo.head_sha or "")
    run.edit(conclusion="neutral")
    mine = [e for e in sandbox.events if e.repo_id == world.repo.id and e.name == "check_run"]
    assert [e.action for e in mine] == ["created", "completed"]
    assert mine[-1].body(sandbox.urls)["check_run"]["conclusion"] == "neutral"


def test_another_app_cannot_update_the_run(
    world: World,
    sandbox: Sandbox,
    sandbox_api_url: str,
    app_key: tuple[str, str],
    github_for: Callable[[str], github.Github],
) -> None:
    run = world.app_gh.get_repo(world.repo.full_name).create_check_run(
        "lint", world.repo.head_sha or ""
    )
    other = sandbox.create_app(
        world.user.login, f"other-{world.app.slug}", public_key_pem=app_key[1]
    )
    installation = sandbox.install_app(other.id, world.user.login)
    intruder = github_for(sandbox.installation_token(installation.id))
    with pytest.raises(github.GithubException) as caught:
        intruder.get_repo(world.repo.full_name).get_check_run(run.id).edit(conclusion="success")
    assert caught.value.status == 403

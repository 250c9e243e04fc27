"""Contents, refs, git objects, commits and statuses are backed by a real git repository."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path

import github
import pytest

from bot.sandbox import Sandbox
from tests.conftest import World

pytestmark = pytest.mark.sandbox


_REF_EVENTS = {"push", "create", "delete"}


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_repository_from_a_local_directory(
    world_factory: Callable[..., World], tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("print('hi')\n")
    (tmp_path / "README.md").write_text("# Hello\n")
    world = world_factory(source=tmp_path)
    repo = world.app_gh.get_repo(world.repo.full_name)

    readme = repo.get_contents("README.md")
    assert not isinstance(readme, list)
    assert readme.decoded_content == b"# Hello\n"
    listing = repo.get_contents("src")
    assert isinstance(listing, list)
    assert [(item.path, item.type) for item in listing] == [("src/app.py", "file")]
    root = repo.get_contents("")
    assert isinstance(root, list)
    assert sorted(item.name for item in root) == ["README.md", "src"]
    assert _git(world.repo.git_path, "show", "main:src/app.py") == "print('hi')"


def test_put_contents_makes_a_real_commit(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    result = repo.create_file("docs/plan.md", "Add plan", "step 1\n")
    commit_sha = result["commit"].sha
    assert _git(world.repo.git_path, "rev-parse", "main") == commit_sha
    assert _git(world.repo.git_path, "show", "main:docs/plan.md") == "step 1"
    assert _git(world.repo.git_path, "log", "-1", "--format=%s%n%an") == (
        f"Add plan\n{world.app.bot_login.removesuffix('[bot]')}[bot]"
    )

    current = repo.get_contents("docs/plan.md")
    assert not isinstance(current, list)
    repo.update_file("docs/plan.md", "Refine plan", "step 1\nstep 2\n", current.sha)
    assert _git(world.repo.git_path, "show", "main:docs/plan.md") == "step 1\nstep 2"
    with pytest.raises(github.GithubException) as caught:
        repo.update_file("docs/plan.md", "stale", "x", current.sha)
    assert caught.value.status == 409

    fresh = repo.get_contents("docs/plan.md")
    assert not isinstance(fresh, list)
    repo.delete_file("docs/plan.md", "Drop plan", fresh.sha)
    with pytest.raises(github.UnknownObjectException):
        repo.get_contents("docs/plan.md")


def test_updating_without_sha_is_rejected(world: World, sandbox: Sandbox) -> None:
    import httpx

    response = httpx.put(
        f"{sandbox.api_url}/repos/{world.repo.full_name}/contents/README.md",
        headers={"Authorization": f"token {world.user.token}"},
        json={"message": "m", "content": base64.b64encode(b"new").decode()},
    )
    assert response.status_code == 422
    assert response.json()["message"] == 'Invalid request.\n\n"sha" wasn\'t supplied.'


def test_contents_at_a_ref(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    first = world.repo.head_sha or ""
    current = repo.get_contents("README.md")
    assert not isinstance(current, list)
    repo.update_file("README.md", "Rewrite", "# New\n", current.sha)
    old = repo.get_contents("README.md", ref=first)
    assert not isinstance(old, list)
    assert old.decoded_content == b"# Project\n"


def test_refs_create_update_fast_forward_only_and_delete(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    base = world.repo.head_sha or ""
    ref = repo.create_git_ref("refs/heads/feature", base)
    assert ref.object.sha == base

    repo.create_file("f.txt", "on main", "x\n")
    main_tip = repo.get_git_ref("heads/main").object.sha
    ref.edit(main_tip)  # fast-forward
    assert repo.get_git_ref("heads/feature").object.sha == main_tip

    with pytest.raises(github.GithubException) as caught:
        ref.edit(base)  # backwards, not forced
    assert (caught.value.status, caught.value.data["message"]) == (
        422,
        "Update is not a fast forward",
    )
    ref.edit(base, force=True)
    assert repo.get_git_ref("heads/feature").object.sha == base

    assert [r.ref for r in repo.get_git_matching_refs("heads/")] == [
        "refs/heads/feature",
        "refs/heads/main",
    ]
    with pytest.raises(github.GithubException) as caught:
        repo.create_git_ref("refs/heads/feature", base)
    assert caught.value.status == 422
    ref.delete()
    with pytest.raises(github.UnknownObjectException):
        repo.get_git_ref("heads/feature")


def test_git_objects_round_trip(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    base = repo.get_git_commit(world.repo.head_sha or "")
    blob = repo.create_git_blob("generated\n", "utf-8")
    element = github.InputGitTreeElement("gen.txt", "100644", "blob", sha=blob.sha)
    tree = repo.create_git_tree([element], base.tree)
    commit = repo.create_git_commit("Generate", tree, [base])
    repo.get_git_ref("heads/main").edit(commit.sha)

    assert sorted(e.path for e in repo.get_git_tree(commit.tree.sha).tree) == [
        "README.md",
        "gen.txt",
    ]
    assert base64.b64decode(repo.get_git_blob(blob.sha).content) == b"generated\n"
    assert _git(world.repo.git_path, "show", "main:gen.txt") == "generated"
    detail = repo.get_commit(commit.sha)
    assert [f.filename for f in detail.files] == ["gen.txt"]
    assert detail.stats.additions == 1


def test_push_events_for_ref_changes(world: World, sandbox: Sandbox) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    repo.create_git_ref("refs/heads/topic", world.repo.head_sha or "")
    repo.create_file("a.txt", "Add a", "a\n", branch="topic")
    refs = [e for e in sandbox.events if e.repo_id == world.repo.id and e.name in _REF_EVENTS]
    assert [(e.name, e.action) for e in refs] == [("push", None), ("create", None), ("push", None)]
    push = refs[-1].body(sandbox.urls)
    assert push["ref"] == "refs/heads/topic"
    assert push["head_commit"]["added"] == ["a.txt"]


def test_commit_statuses_and_combined_state(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    commit = repo.get_commit(world.repo.head_sha or "")
    commit.create_status("pending", context="ci/tests")
    commit.create_status("success", context="ci/lint", description="clean")
    assert repo.get_commit("main").get_combined_status().state == "pending"
    commit.create_status("failure", context="ci/tests", target_url="http://ci.example/1")

    combined = repo.get_commit("main").get_combined_status()
    assert combined.state == "failure"
    assert sorted((s.context, s.state) for s in combined.statuses) == [
        ("ci/lint", "success"),
        ("ci/tests", "failure"),
    ]
    assert [s.state for s in commit.get_statuses()] == ["failure", "success", "pending"]
    with pytest.raises(github.GithubException) as caught:
        repo.get_commit(world.repo.head_sha or "").create_status("sideways")
    assert caught.value.status == 422


def test_status_needs_statuses_permission(world_factory: Callable[..., World]) -> None:
    world = world_factory(permissions={"contents": "read"})
    commit = world.app_gh.get_repo(world.repo.full_name).get_commit(world.repo.head_sha or "")
    with pytest.raises(github.GithubException) as caught:
        commit.create_status("success", context="ci")
    assert caught.value.status == 403


def test_first_file_in_an_empty_repository(world_factory: Callable[..., World]) -> None:
    world = world_factory(files={})
    assert world.repo.head_sha is None
    repo = world.app_gh.get_repo(world.repo.full_name)
    with pytest.raises(github.GithubException) as caught:
        repo.get_contents("README.md")
    assert caught.value.status == 404
    repo.create_file("README.md", "First commit", "# Empty no more\n")
    assert _git(world.repo.git_path, "log", "--format=%s", "main") == "First commit"
    assert [b.name for b in repo.get_branches()] == ["main"]

"""Bare mirrors: created on first use, fetched incrementally, safe under concurrent use."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.errors import RefNotFound, WorkspaceError
from bot.workspace import Workspace
from tests.workspace.conftest import Remotes, Upstream, WorkspaceFactory, git

ROOT = Path(__file__).resolve().parents[2]


def mirror_refs(workspace: Workspace, repo: str = "octo/app") -> dict[str, str]:
    out = git(workspace.mirror_path(repo), "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split() for line in out.splitlines())


def test_first_fetch_creates_a_bare_mirror_under_the_data_dir(
    workspace: Workspace, upstream: Upstream, tmp_path: Path
) -> None:
    shas = workspace.fetch("octo/app", ["main"])

    mirror = tmp_path / "data" / "git" / "mirrors" / "octo" / "app.git"
    assert workspace.mirror_path("octo/app") == mirror
    assert git(mirror, "rev-parse", "--is-bare-repository") == "true"
    assert shas == {"main": upstream.sha("main")}
    assert workspace.mirrors() == ["octo/app"]


def test_fetching_one_branch_brings_only_that_branch(
    workspace: Workspace, upstream: Upstream
) -> None:
    upstream.commit({"feature.txt": "f\n"}, "feature work", branch="feature")

    workspace.fetch("octo/app", ["main"])

    assert set(mirror_refs(workspace)) == {"refs/heads/main"}


def test_later_fetches_are_incremental_and_see_new_commits(
    workspace: Workspace, upstream: Upstream
) -> None:
    workspace.fetch("octo/app", ["main"])
    newer = upstream.commit({"README.md": "hello again\n"}, "second")

    assert workspace.fetch("octo/app", ["main"]) == {"main": newer}
    assert workspace.read_file("octo/app", "main", "README.md") == b"hello again\n"


def test_fetch_without_refs_mirrors_all_branches_and_prunes_deleted_ones(
    workspace: Workspace, upstream: Upstream
) -> None:
    upstream.commit({"x.txt": "x\n"}, "x", branch="topic")
    workspace.fetch("octo/app")
    assert set(mirror_refs(workspace)) == {"refs/heads/main", "refs/heads/topic"}

    upstream.delete_branch("topic")
    workspace.fetch("octo/app")

    assert set(mirror_refs(workspace)) == {"refs/heads/main"}


def test_full_refs_such_as_pull_request_heads_are_fetched(
    workspace: Workspace, upstream: Upstream
) -> None:
    head = upstream.commit({"pr.txt": "change\n"}, "pr", branch="contributor")
    git(upstream.bare, "update-ref", "refs/pull/7/head", head)

    assert workspace.fetch("octo/app", ["refs/pull/7/head"]) == {"refs/pull/7/head": head}


def test_a_missing_remote_ref_raises_ref_not_found(
    workspace: Workspace, upstream: Upstream
) -> None:
    with pytest.raises(RefNotFound, match="refs/heads/nope"):
        workspace.fetch("octo/app", ["nope"])


def test_a_sha_already_in_the_mirror_needs_no_network(
    workspace: Workspace, upstream: Upstream, remotes: Remotes, tmp_path: Path
) -> None:
    sha = workspace.fetch("octo/app", ["main"])["main"]
    remotes.urls["octo/app"] = (tmp_path / "gone.git").as_uri()

    assert workspace.fetch("octo/app", [sha]) == {sha: sha}
    with pytest.raises(WorkspaceError, match="fetch failed"):
        workspace.fetch("octo/app", ["main"])


def test_an_unknown_sha_is_fetched_from_the_remote(
    workspace: Workspace, upstream: Upstream
) -> None:
    workspace.fetch("octo/app", ["main"])
    newer = upstream.commit({"n.txt": "n\n"}, "newer")

    assert workspace.fetch("octo/app", [newer]) == {newer: newer}


def test_concurrent_fetches_from_threads_all_succeed(
    workspace: Workspace, upstream: Upstream
) -> None:
    head = upstream.commit({"t.txt": "t\n"}, "t", branch="topic")
    results: list[dict[str, str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(workspace.fetch("octo/app", ["main", "topic"]))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert results == [{"main": upstream.sha("main"), "topic": head}] * 6
    assert git(workspace.mirror_path("octo/app"), "fsck", "--no-progress") == ""


CHILD = """
import sys
from pathlib import Path
from bot.settings import Settings
from bot.workspace import Identity, Workspace
ws = Workspace(Settings(data_dir=Path(sys.argv[1])), committer=Identity("b", "b@x"),
               credentials=lambda repo: None, remote_url=lambda repo: sys.argv[2])
print(ws.fetch("octo/app", ["main"])["main"])
"""


def test_concurrent_fetches_from_processes_share_one_mirror(
    workspace: Workspace, upstream: Upstream, tmp_path: Path
) -> None:
    data_dir = str(tmp_path / "data")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, data_dir, upstream.url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [child.communicate(timeout=60) for child in children]

    assert [child.returncode for child in children] == [0] * 4, outputs
    assert {out.strip() for out, _ in outputs} == {upstream.sha("main")}
    assert workspace.mirrors() == ["octo/app"]
    assert not list(workspace.mirror_path("octo/app").parent.glob("*.tmp-*"))


@pytest.mark.parametrize(
    "repo",
    ["../etc", "octo/../../x", "octo", "octo/app/extra", "octo/.", "octo/a b"],
    ids=["dotdot-owner", "dotdot-name", "no-name", "three-parts", "dot-name", "space"],
)
def test_repository_names_that_could_escape_the_cache_are_refused(
    workspace: Workspace, repo: str
) -> None:
    with pytest.raises(WorkspaceError, match="not a repository name"):
        workspace.fetch(repo, ["main"])


@pytest.mark.parametrize(
    "ref",
    ["--upload-pack=touch /tmp/x", "a..b", "main~1", "x:y", "has space", "", "a/", "x.lock"],
    ids=["option", "dotdot", "tilde", "colon", "space", "empty", "trailing-slash", "lock"],
)
def test_refs_that_are_not_ref_names_never_reach_git(workspace: Workspace, ref: str) -> None:
    with pytest.raises(WorkspaceError, match="not a valid git ref"):
        workspace.fetch("octo/app", [ref])
    assert workspace.mirrors() == []


def test_a_remote_that_does_not_exist_fails_with_a_clear_message(
    workspace: Workspace, remotes: Remotes, tmp_path: Path
) -> None:
    remotes.urls["octo/app"] = (tmp_path / "missing.git").as_uri()

    with pytest.raises(WorkspaceError, match=r"octo/app: fetch failed: .*"):
        workspace.fetch("octo/app", ["main"])


def test_resolving_before_any_fetch_says_to_fetch_first(workspace: Workspace) -> None:
    with pytest.raises(RefNotFound, match="fetch"):
        workspace.resolve("octo/app", "main")


def test_a_hanging_remote_times_out(make_workspace: WorkspaceFactory, remotes: Remotes) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    remotes.urls["octo/app"] = f"http://127.0.0.1:{server.getsockname()[1]}/octo/app.git"
    workspace = make_workspace(network_timeout=1.0)
    try:
        with pytest.raises(WorkspaceError, match="timed out"):
            workspace.fetch("octo/app", ["main"])
    finally:
        server.close()

"""Housekeeping: orphaned worktrees are removed and the mirror cache stays under its bound."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.workspace import Workspace
from tests.workspace.conftest import FakeClock, Remotes, Upstream, WorkspaceFactory, copy_upstream

ROOT = Path(__file__).resolve().parents[2]

CRASHING_CHILD = """
import os, sys
from pathlib import Path
from bot.settings import Settings
from bot.workspace import Identity, Workspace
ws = Workspace(Settings(data_dir=Path(sys.argv[1])), committer=Identity("b", "b@x"),
               credentials=lambda repo: None, remote_url=lambda repo: sys.argv[2])
with ws.worktree("octo/app", "main", label="crashed") as tree:
    print(tree.path, flush=True)
    os._exit(0)  # dies without leaving the block, as a killed worker would
"""


def test_cleanup_removes_worktrees_of_dead_processes_but_not_live_ones(
    workspace: Workspace, upstream: Upstream, tmp_path: Path
) -> None:
    workspace.fetch("octo/app", ["main"])
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_CHILD, str(tmp_path / "data"), upstream.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    orphan = Path(child.stdout.strip())
    assert orphan.is_dir()

    with workspace.worktree("octo/app", "main", label="live") as live:
        report = workspace.cleanup()
        assert live.path.is_dir()
        assert (live.path / "README.md").read_text() == "hello\n"

    assert report.removed_worktrees == (orphan.name,)
    assert not orphan.exists()
    assert not list((tmp_path / "data" / "git" / "worktrees").glob("*/*/*"))
    assert not any((workspace.mirror_path("octo/app") / "worktrees").glob("*"))


@pytest.fixture
def three_repos(
    tmp_path: Path, remotes: Remotes, upstream: Upstream, upstream_template: Upstream
) -> list[str]:
    for name in ("beta", "gamma"):
        copy = copy_upstream(upstream_template, tmp_path / "remotes", name)
        remotes.urls[f"octo/{name}"] = copy.url
    return ["octo/app", "octo/beta", "octo/gamma"]


def fetch_in_order(workspace: Workspace, repos: list[str], clock: FakeClock) -> None:
    for repo in repos:
        clock.advance(60)
        workspace.fetch(repo, ["main"])


def sizes(workspace: Workspace) -> dict[str, int]:
    def size(path: Path) -> int:
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())

    return {repo: size(workspace.mirror_path(repo)) for repo in workspace.mirrors()}


def test_cleanup_evicts_least_recently_used_mirrors_over_the_bound(
    make_workspace: WorkspaceFactory, three_repos: list[str], clock: FakeClock
) -> None:
    unbounded = make_workspace()
    fetch_in_order(unbounded, three_repos, clock)
    clock.advance(60)
    unbounded.read_file("octo/app", "main", "README.md")  # app is now the most recent
    size = sizes(unbounded)
    bound = size["octo/app"] + size["octo/gamma"]

    report = make_workspace(max_cache_bytes=bound).cleanup()

    assert report.evicted_mirrors == ("octo/beta",)
    assert unbounded.mirrors() == ["octo/app", "octo/gamma"]
    assert report.cache_bytes <= bound


def test_a_mirror_with_a_live_worktree_is_never_evicted(
    make_workspace: WorkspaceFactory, three_repos: list[str], clock: FakeClock
) -> None:
    workspace = make_workspace()
    fetch_in_order(workspace, three_repos, clock)
    smallest = min(sizes(workspace).values())
    bounded = make_workspace(max_cache_bytes=smallest)

    with bounded.worktree("octo/app", "main"):
        clock.advance(60)
        report = bounded.cleanup()

    assert set(report.evicted_mirrors) == {"octo/beta", "octo/gamma"}
    assert bounded.mirrors() == ["octo/app"]


def test_fetch_enforces_the_bound_but_keeps_the_mirror_it_just_fetched(
    make_workspace: WorkspaceFactory, three_repos: list[str], clock: FakeClock
) -> None:
    workspace = make_workspace(max_cache_bytes=1)
    fetch_in_order(workspace, three_repos, clock)

    assert workspace.mirrors() == ["octo/gamma"]
    assert workspace.read_file("octo/gamma", "main", "README.md") == b"hello\n"


def test_an_evicted_mirror_is_rebuilt_on_next_use(
    make_workspace: WorkspaceFactory, three_repos: list[str], clock: FakeClock
) -> None:
    workspace = make_workspace(max_cache_bytes=1)
    fetch_in_order(workspace, three_repos, clock)

    shas = workspace.fetch("octo/app", ["main"])

    assert workspace.read_file("octo/app", shas["main"], "src/app.py") == b"print('hi')\n"
    assert workspace.mirrors() == ["octo/app"]

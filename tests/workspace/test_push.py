"""Pushing branches with a lease: idempotent creates and updates, clear refusals."""

from __future__ import annotations

import threading

import pytest

from bot.errors import LeaseMismatch, WorkspaceError
from bot.workspace import Identity, PushOutcome, Workspace
from tests.workspace.conftest import Upstream, git

AUTHOR = Identity("Ada Lovelace", "ada@example.invalid")


def make_commit(workspace: Workspace, base: str, name: str) -> str:
    with workspace.worktree("octo/app", base) as tree:
        (tree.path / f"{name}.txt").write_text(f"{name}\n")
        sha = tree.commit_all(name, author=AUTHOR, trailers=[("TechLead-Task", name)])
    assert sha is not None
    return sha


@pytest.fixture
def commits(workspace: Workspace, upstream: Upstream) -> tuple[str, str, str]:
    main = workspace.fetch("octo/app", ["main"])["main"]
    first = make_commit(workspace, main, "first")
    second = make_commit(workspace, first, "second")
    return main, first, second


def test_push_creates_then_updates_a_branch(
    workspace: Workspace, upstream: Upstream, commits: tuple[str, str, str]
) -> None:
    _, first, second = commits

    created = workspace.push_branch("octo/app", "techlead/T1", first, expected=None)
    updated = workspace.push_branch("octo/app", "techlead/T1", second, expected=first)

    assert (created, updated) == (PushOutcome.CREATED, PushOutcome.UPDATED)
    assert upstream.branches()["techlead/T1"] == second
    assert workspace.resolve("octo/app", "techlead/T1") == second


@pytest.mark.parametrize(
    "stale_expected",
    [None, "first"],
    ids=["retry-of-create", "retry-of-update"],
)
def test_pushing_the_same_commit_again_is_a_no_op_success(
    workspace: Workspace,
    upstream: Upstream,
    commits: tuple[str, str, str],
    stale_expected: str | None,
) -> None:
    _, first, second = commits
    workspace.push_branch("octo/app", "techlead/T1", first, expected=None)
    workspace.push_branch("octo/app", "techlead/T1", second, expected=first)
    expected = first if stale_expected else None

    again = workspace.push_branch("octo/app", "techlead/T1", second, expected=expected)

    assert again is PushOutcome.UNCHANGED
    assert upstream.branches()["techlead/T1"] == second


def test_a_branch_moved_by_someone_else_raises_lease_mismatch(
    workspace: Workspace, upstream: Upstream, commits: tuple[str, str, str]
) -> None:
    _, first, second = commits
    workspace.push_branch("octo/app", "techlead/T1", first, expected=None)
    theirs = upstream.commit({"theirs.txt": "x\n"}, "human pushed", branch="techlead/T1")

    with pytest.raises(LeaseMismatch) as caught:
        workspace.push_branch("octo/app", "techlead/T1", second, expected=first)

    assert caught.value.actual == theirs
    assert caught.value.expected == first
    assert f"expected {first}, found {theirs}" in str(caught.value)
    assert upstream.branches()["techlead/T1"] == theirs


def test_creating_a_branch_that_already_exists_elsewhere_is_refused(
    workspace: Workspace, upstream: Upstream, commits: tuple[str, str, str]
) -> None:
    main, first, _ = commits

    with pytest.raises(LeaseMismatch, match="expected absent, found"):
        workspace.push_branch("octo/app", "main", first, expected=None)
    assert upstream.sha("main") == main


def test_worktree_push_sends_its_head(
    workspace: Workspace, upstream: Upstream, commits: tuple[str, str, str]
) -> None:
    main = commits[0]
    with workspace.worktree("octo/app", main) as tree:
        (tree.path / "w.txt").write_text("w\n")
        sha = tree.commit_all("w", author=AUTHOR)
        outcome = tree.push("techlead/T9", expected=None)

    assert outcome is PushOutcome.CREATED
    assert upstream.branches()["techlead/T9"] == sha
    assert git(upstream.bare, "cat-file", "-p", f"{sha}:w.txt") == "w"


def test_remote_sha_reports_the_remote_branch_or_none(
    workspace: Workspace, upstream: Upstream
) -> None:
    assert workspace.remote_sha("octo/app", "main") == upstream.sha("main")
    assert workspace.remote_sha("octo/app", "no-such-branch") is None


@pytest.mark.parametrize(
    ("sha", "expected"),
    [("abc", None), ("main", None), ("0" * 40, "HEAD")],
    ids=["short-sha", "branch-name", "expected-not-a-sha"],
)
def test_push_needs_full_shas(
    workspace: Workspace, upstream: Upstream, sha: str, expected: str | None
) -> None:
    with pytest.raises(WorkspaceError, match="full commit SHAs"):
        workspace.push_branch("octo/app", "techlead/T1", sha, expected=expected)


def test_a_push_refused_by_the_remote_names_the_reason(
    workspace: Workspace, upstream: Upstream, commits: tuple[str, str, str]
) -> None:
    hook = upstream.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)

    with pytest.raises(WorkspaceError, match="refused: remote rejected") as caught:
        workspace.push_branch("octo/app", "techlead/T1", commits[1], expected=None)
    assert not isinstance(caught.value, LeaseMismatch)
    assert "techlead/T1" not in upstream.branches()


def test_parallel_tasks_each_get_a_worktree_and_push_their_own_branch(
    workspace: Workspace, upstream: Upstream
) -> None:
    main = workspace.fetch("octo/app", ["main"])["main"]
    pushed: dict[str, str] = {}
    errors: list[BaseException] = []

    def task(number: int) -> None:
        try:
            with workspace.worktree("octo/app", main, label=f"T{number}") as tree:
                (tree.path / f"task{number}.txt").write_text(f"{number}\n")
                sha = tree.commit_all(f"task {number}", author=AUTHOR)
                assert sha is not None
                tree.push(f"techlead/T{number}", expected=None)
                pushed[f"techlead/T{number}"] = sha
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=task, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {k: v for k, v in upstream.branches().items() if k != "main"} == pushed
    assert len(set(pushed.values())) == 6
    assert not list(workspace.root.glob("worktrees/*/*/*"))

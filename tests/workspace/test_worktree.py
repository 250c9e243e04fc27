"""Worktrees per unit of work, commits with trailers, and reads without a worktree."""

from __future__ import annotations

import pytest
from unidiff import PatchSet

from bot.errors import RefNotFound, WorkspaceError
from bot.workspace import Identity, TreeEntry, Workspace
from tests.workspace.conftest import BOT, FakeClock, Upstream, git

AUTHOR = Identity("Ada Lovelace", "ada@example.invalid")


@pytest.fixture
def fetched(workspace: Workspace, upstream: Upstream) -> Workspace:
    workspace.fetch("octo/app", ["main"])
    return workspace


def registered_worktrees(workspace: Workspace) -> list[str]:
    out = git(workspace.mirror_path("octo/app"), "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def test_worktree_checks_out_the_ref_and_disappears_afterwards(
    fetched: Workspace, upstream: Upstream
) -> None:
    with fetched.worktree("octo/app", "main", label="task-T3") as tree:
        assert (tree.path / "src" / "app.py").read_text() == "print('hi')\n"
        assert tree.base == tree.head() == upstream.sha("main")
        assert tree.path.name.startswith("task-T3-")
        assert str(tree.path) in registered_worktrees(fetched)
        path = tree.path

    assert not path.exists()
    assert registered_worktrees(fetched) == [str(fetched.mirror_path("octo/app"))]


def test_worktree_is_removed_even_when_the_work_fails(fetched: Workspace) -> None:
    with pytest.raises(RuntimeError), fetched.worktree("octo/app", "main") as tree:
        path = tree.path
        raise RuntimeError("agent crashed")

    assert not path.exists()
    assert len(registered_worktrees(fetched)) == 1


def test_two_worktrees_of_one_repository_are_independent(
    fetched: Workspace, upstream: Upstream
) -> None:
    old = upstream.sha("main")
    new = upstream.commit({"README.md": "v2\n"}, "v2")
    fetched.fetch("octo/app", ["main"])

    with fetched.worktree("octo/app", old) as first, fetched.worktree("octo/app", "main") as second:
        (first.path / "README.md").write_text("first's edit\n")
        assert (second.path / "README.md").read_text() == "v2\n"
        assert (first.head(), second.head()) == (old, new)


def test_worktree_of_an_unknown_ref_says_to_fetch_it(fetched: Workspace) -> None:
    with pytest.raises(RefNotFound, match="fetch it first"), fetched.worktree("octo/app", "nope"):
        pass


def test_commit_all_records_every_change_with_author_committer_and_trailers(
    fetched: Workspace, clock: FakeClock
) -> None:
    with fetched.worktree("octo/app", "main") as tree:
        (tree.path / "new.txt").write_text("new\n")
        (tree.path / "README.md").write_text("changed\n")
        (tree.path / "src" / "app.py").unlink()
        trailers = [("Co-authored-by", "Bob <bob@example.invalid>"), ("TechLead-Task", "T3")]
        message = "Add new.txt\n\nBecause the plan says so."
        sha = tree.commit_all(message, author=AUTHOR, trailers=trailers)

        assert sha == tree.head() != tree.base
        mirror = fetched.mirror_path("octo/app")
        fmt = "%an <%ae>|%cn <%ce>|%at|%B"
        author, committer, stamp, body = git(mirror, "log", "-1", f"--format={fmt}", sha).split("|")
        names = git(mirror, "diff", "--name-status", tree.base, sha).splitlines()

    assert author == "Ada Lovelace <ada@example.invalid>"
    assert committer == f"{BOT.name} <{BOT.email}>"
    assert int(stamp) == int(clock.now)
    assert body.splitlines() == [
        "Add new.txt",
        "",
        "Because the plan says so.",
        "",
        "Co-authored-by: Bob <bob@example.invalid>",
        "TechLead-Task: T3",
    ]
    assert sorted(names) == ["A\tnew.txt", "D\tsrc/app.py", "M\tREADME.md"]


def test_commit_all_without_changes_returns_none(fetched: Workspace) -> None:
    with fetched.worktree("octo/app", "main") as tree:
        assert tree.commit_all("nothing", author=AUTHOR) is None
        assert tree.head() == tree.base


@pytest.mark.parametrize(
    ("key", "value"),
    [("Bad Key", "x"), ("Co-authored-by", "two\nlines"), ("TechLead-Task", " "), (":", "x")],
    ids=["space-in-key", "newline-in-value", "blank-value", "colon-key"],
)
def test_malformed_trailers_are_refused_before_committing(
    fetched: Workspace, key: str, value: str
) -> None:
    with fetched.worktree("octo/app", "main") as tree:
        (tree.path / "x.txt").write_text("x\n")
        with pytest.raises(WorkspaceError, match="not a valid commit trailer"):
            tree.commit_all("msg", author=AUTHOR, trailers=[(key, value)])
        assert tree.head() == tree.base


def test_commits_made_in_a_worktree_outlive_it_in_the_mirror(fetched: Workspace) -> None:
    with fetched.worktree("octo/app", "main") as tree:
        (tree.path / "kept.txt").write_text("kept\n")
        sha = tree.commit_all("keep", author=AUTHOR)
    assert sha is not None

    assert fetched.read_file("octo/app", sha, "kept.txt") == b"kept\n"


def test_read_file_returns_bytes_at_a_ref_and_none_for_missing_paths(
    fetched: Workspace, upstream: Upstream
) -> None:
    old = upstream.sha("main")
    upstream.commit({"README.md": "new text\n"}, "edit")
    fetched.fetch("octo/app", ["main"])

    assert fetched.read_file("octo/app", old, "README.md") == b"hello\n"
    assert fetched.read_file("octo/app", "main", "README.md") == b"new text\n"
    assert fetched.read_file("octo/app", "main", "missing.txt") is None
    assert fetched.read_file("octo/app", "main", "src") is None


def test_list_files_walks_the_tree_without_a_checkout(fetched: Workspace) -> None:
    entries = fetched.list_files("octo/app", "main")
    under_src = fetched.list_files("octo/app", "main", "src")

    assert [(e.path, e.kind, e.size) for e in entries] == [
        ("README.md", "blob", 6),
        ("src/app.py", "blob", 12),
    ]
    assert [e.path for e in under_src] == ["src/app.py"]
    assert all(isinstance(e, TreeEntry) and len(e.sha) == 40 for e in entries)


def test_diff_between_refs_parses_as_a_unified_diff(fetched: Workspace, upstream: Upstream) -> None:
    base = upstream.sha("main")
    upstream.commit({"README.md": "hello\nworld\n", "docs/guide.md": "guide\n"}, "docs")
    fetched.fetch("octo/app", ["main"])

    patch = PatchSet(fetched.diff("octo/app", base, "main"))
    only_docs = PatchSet(fetched.diff("octo/app", base, "main", paths=["docs"]))

    assert {(f.path, f.added, f.removed) for f in patch} == {
        ("README.md", 1, 0),
        ("docs/guide.md", 1, 0),
    }
    assert [f.path for f in only_docs] == ["docs/guide.md"]


def test_merge_base_diff_shows_only_the_branch_changes(
    fetched: Workspace, upstream: Upstream
) -> None:
    upstream.commit({"feature.txt": "f\n"}, "feature", branch="feature")
    upstream.commit({"README.md": "main moved on\n"}, "main moves")
    fetched.fetch("octo/app", ["main", "feature"])

    two_dot = PatchSet(fetched.diff("octo/app", "main", "feature"))
    three_dot = PatchSet(fetched.diff("octo/app", "main", "feature", merge_base=True))

    assert {f.path for f in two_dot} == {"README.md", "feature.txt"}
    assert [f.path for f in three_dot] == ["feature.txt"]

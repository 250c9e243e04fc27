"""Review inputs made from real git repositories: a base commit, a head commit, their diff."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from gates.model import Finding
from reviewers.anchor import Diff
from reviewers.model import ReviewInput, ReviewSettings


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return done.stdout.decode()


def write_tree(repo: Path, files: Mapping[str, str | None]) -> None:
    for path, text in files.items():
        file = repo / path
        if text is None:
            file.unlink(missing_ok=True)
            continue
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)


def review_input(
    tmp_path: Path,
    base: Mapping[str, str],
    head: Mapping[str, str | None],
    findings: tuple[Finding, ...] = (),
    settings: ReviewSettings | None = None,
) -> ReviewInput:
    """Commit ``base``, then ``head`` over it (None deletes), and read both back by git."""
    repo = tmp_path / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    write_tree(repo, base)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    write_tree(repo, head)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "head")
    diff = Diff.parse(git(repo, "diff", "-M", "HEAD~1", "HEAD"))
    paths = frozenset(git(repo, "ls-files").splitlines())

    def reader(rev: str):  # type: ignore[no-untyped-def]
        def read(path: str) -> str | None:
            try:
                return git(repo, "show", f"{rev}:{path}")
            except subprocess.CalledProcessError:
                return None

        return read

    return ReviewInput(
        diff=diff,
        base=reader("HEAD~1"),
        head=reader("HEAD"),
        findings=findings,
        settings=settings or ReviewSettings(),
        head_paths=paths,
    )

"""Real git repositories in tmp_path standing in for GitHub remotes, and a Workspace over them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.workspace import Credentials, Identity, Workspace

BOT = Identity("TechLead", "techlead@example.invalid")
# Keep the developer's own git configuration (signing, hooks, templates) out of fixtures.
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Upstream Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.invalid",
    "GIT_COMMITTER_NAME": "Upstream Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.invalid",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Upstream:
    """A bare repository playing GitHub, with a scratch clone to make commits in."""

    bare: Path
    scratch: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str | None], message: str, branch: str = "main") -> str:
        git(self.scratch, "fetch", "-q", "origin")
        known = git(self.scratch, "branch", "-r", "--list", f"origin/{branch}")
        start = f"origin/{branch}" if known else "origin/main"
        git(self.scratch, "checkout", "-q", "-B", branch, start, check=bool(known))
        for name, content in files.items():
            target = self.scratch / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        git(self.scratch, "add", "--all")
        git(self.scratch, "commit", "-q", "--allow-empty", "-m", message)
        git(self.scratch, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return self.sha(branch)

    def sha(self, branch: str) -> str:
        return git(self.bare, "rev-parse", f"refs/heads/{branch}")

    def branches(self) -> dict[str, str]:
        out = git(
            self.bare, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"
        )
        return dict(line.split() for line in out.splitlines())

    def delete_branch(self, branch: str) -> None:
        git(self.bare, "update-ref", "-d", f"refs/heads/{branch}")


def make_upstream(root: Path, name: str) -> Upstream:
    bare, scratch = root / f"{name}.git", root / f"{name}-scratch"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "clone", "-q", str(bare), str(scratch))
    upstream = Upstream(bare, scratch)
    git(scratch, "checkout", "-q", "-b", "main")
    upstream.commit({"README.md": "hello\n", "src/app.py": "print('hi')\n"}, "initial")
    return upstream


@dataclass
class Remotes:
    """repo -> remote URL, editable by tests (e.g. to prove no network is used)."""

    urls: dict[str, str] = field(default_factory=dict)

    def __call__(self, repo: str) -> str:
        return self.urls[repo]


def copy_upstream(template: Upstream, root: Path, name: str) -> Upstream:
    """A private copy of a prepared upstream (copying beats re-running git init/commit)."""
    copy = Upstream(root / f"{name}.git", root / f"{name}-scratch")
    shutil.copytree(template.bare, copy.bare)
    shutil.copytree(template.scratch, copy.scratch)
    git(copy.scratch, "remote", "set-url", "origin", str(copy.bare))
    return copy


@pytest.fixture(scope="session")
def upstream_template(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    return make_upstream(tmp_path_factory.mktemp("upstream-template"), "template")


@pytest.fixture
def upstream(tmp_path: Path, upstream_template: Upstream) -> Upstream:
    (tmp_path / "remotes").mkdir()
    return copy_upstream(upstream_template, tmp_path / "remotes", "octo-app")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def remotes(upstream: Upstream) -> Remotes:
    return Remotes({"octo/app": upstream.url})


WorkspaceFactory = Callable[..., Workspace]


@pytest.fixture
def make_workspace(tmp_path: Path, clock: FakeClock, remotes: Remotes) -> WorkspaceFactory:
    def build(
        credentials: Callable[[str], Credentials | None] = lambda repo: None, **kwargs: object
    ) -> Workspace:
        settings = Settings(data_dir=tmp_path / "data")
        return Workspace(
            settings,
            committer=BOT,
            credentials=credentials,
            clock=clock,
            remote_url=remotes,
            **kwargs,  # type: ignore[arg-type]
        )

    return build


@pytest.fixture
def workspace(make_workspace: WorkspaceFactory) -> Workspace:
    return make_workspace()

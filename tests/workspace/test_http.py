"""The workspace against an authenticated git HTTP remote (the sandbox's smart HTTP)."""

from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import LeaseMismatch, WorkspaceError
from bot.sandbox import ManualClock, Sandbox
from bot.settings import Settings
from bot.workspace import Identity, PushOutcome, Workspace
from tests.conftest import World, build_world
from tests.support.gitcli import GitCli, clone_url
from tests.workspace.conftest import BOT, FakeClock

pytestmark = pytest.mark.sandbox

AUTHOR = Identity("Ada", "ada@example.invalid")


class Tokens:
    """A credentials provider handing out the current installation token, refreshable."""

    def __init__(self, sandbox: Sandbox, installation_id: int) -> None:
        self.sandbox = sandbox
        self.installation_id = installation_id
        self.current = sandbox.installation_token(installation_id)
        self.handed_out: list[str] = []

    def refresh(self) -> None:
        self.current = self.sandbox.installation_token(self.installation_id)

    def __call__(self, repo: str) -> tuple[str, str]:
        self.handed_out.append(self.current)
        return ("x-access-token", self.current)


@pytest.fixture
def private_world(sandbox: Sandbox, sandbox_api_url: str, app_key: tuple[str, str]) -> World:
    files = {"README.md": "# Private\n", "src/app.py": "print('hi')\n"}
    return build_world(sandbox, sandbox_api_url, app_key, private=True, files=files)


@pytest.fixture
def tokens(sandbox: Sandbox, private_world: World) -> Tokens:
    return Tokens(sandbox, private_world.installation.id)


@pytest.fixture
def http_workspace(tmp_path: Path, sandbox: Sandbox, tokens: Tokens) -> Workspace:
    return Workspace(
        Settings(data_dir=tmp_path / "data", api_url=sandbox.api_url),
        committer=BOT,
        credentials=tokens,
        clock=FakeClock(),
    )


def sandbox_branch(sandbox: Sandbox, world: World, branch: str) -> str | None:
    return sandbox.repo(world.repo.full_name).git.ref_sha(f"refs/heads/{branch}")


def all_secret_forms(tokens: Tokens) -> set[str]:
    forms = set()
    for token in tokens.handed_out:
        forms |= {token, base64.b64encode(f"x-access-token:{token}".encode()).decode()}
    return forms


def test_fetch_work_and_push_over_authenticated_http(
    http_workspace: Workspace, sandbox: Sandbox, private_world: World
) -> None:
    repo = private_world.repo.full_name
    main = http_workspace.fetch(repo, ["main"])["main"]
    assert main == private_world.repo.head_sha

    with http_workspace.worktree(repo, main, label="task-T1") as tree:
        (tree.path / "src" / "app.py").write_text("print('hello')\n")
        sha = tree.commit_all("Greet properly", author=AUTHOR, trailers=[("TechLead-Task", "T1")])
        outcome = tree.push("techlead/T1", expected=None)
        again = tree.push("techlead/T1", expected=None)

    assert (outcome, again) == (PushOutcome.CREATED, PushOutcome.UNCHANGED)
    assert sandbox_branch(sandbox, private_world, "techlead/T1") == sha
    bot = sandbox.state.user_by_login(private_world.app.bot_login)
    pushes = [e for e in sandbox.events if e.name == "push" and e.repo_id == private_world.repo.id]
    assert [(e.sender_id, e.body(sandbox.urls)["after"]) for e in pushes] == [(bot.id, sha)]  # type: ignore[union-attr]


def test_a_moved_remote_branch_raises_lease_mismatch_over_http(
    http_workspace: Workspace, sandbox: Sandbox, private_world: World, tmp_path: Path
) -> None:
    (tmp_path / "home").mkdir()
    git_cli = GitCli(tmp_path / "home")
    repo = private_world.repo.full_name
    main = http_workspace.fetch(repo, ["main"])["main"]
    checkout = tmp_path / "human"
    owner_token = private_world.user.token
    git_cli.ok("clone", "-q", clone_url(sandbox, private_world), str(checkout), token=owner_token)
    git_cli.ok("commit", "-q", "--allow-empty", "-m", "human", cwd=checkout)
    git_cli.ok("push", "-q", "origin", "HEAD:main", cwd=checkout, token=owner_token)
    theirs = git_cli.ok("rev-parse", "HEAD", cwd=checkout)

    with http_workspace.worktree(repo, main) as tree:
        (tree.path / "mine.txt").write_text("mine\n")
        tree.commit_all("mine", author=AUTHOR)
        with pytest.raises(LeaseMismatch) as caught:
            tree.push("main", expected=main)

    assert caught.value.actual == theirs
    assert sandbox_branch(sandbox, private_world, "main") == theirs


def test_an_expired_token_fails_cleanly_and_a_refreshed_one_works(
    http_workspace: Workspace, sandbox: Sandbox, private_world: World, tokens: Tokens
) -> None:
    repo = private_world.repo.full_name
    http_workspace.fetch(repo, ["main"])
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.clock.advance(3601)

    with pytest.raises(WorkspaceError, match="authentication failed") as caught:
        http_workspace.fetch(repo, ["main"])
    tokens.refresh()

    assert http_workspace.fetch(repo, ["main"]) == {"main": private_world.repo.head_sha}
    for secret in all_secret_forms(tokens):
        assert secret not in str(caught.value)


def test_a_token_without_contents_write_cannot_push(
    tmp_path: Path, sandbox: Sandbox, private_world: World
) -> None:
    read_only = sandbox.installation_token(
        private_world.installation.id, permissions={"contents": "read"}
    )
    workspace = Workspace(
        Settings(data_dir=tmp_path / "ro", api_url=sandbox.api_url),
        committer=BOT,
        credentials=lambda repo: ("x-access-token", read_only),
    )
    repo = private_world.repo.full_name
    main = workspace.fetch(repo, ["main"])["main"]
    with workspace.worktree(repo, main) as tree:
        (tree.path / "x.txt").write_text("x\n")
        tree.commit_all("x", author=AUTHOR)
        with pytest.raises(WorkspaceError, match="permission denied") as caught:
            tree.push("techlead/ro", expected=None)

    assert read_only not in str(caught.value)
    assert sandbox_branch(sandbox, private_world, "techlead/ro") is None


class CommandLineWatcher:
    """Reads every process's command line while git runs, as ``ps`` would show it."""

    def __init__(self, needle: str) -> None:
        self.needle = needle
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                if self.needle in line:
                    self.seen.append(line)

    def __enter__(self) -> CommandLineWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def watcher(sandbox: Sandbox) -> Iterator[CommandLineWatcher]:
    assert sandbox.base_url is not None
    with CommandLineWatcher(sandbox.base_url) as watching:
        yield watching


def test_the_token_never_shows_in_ps_on_disk_in_logs_or_errors(
    http_workspace: Workspace,
    sandbox: Sandbox,
    private_world: World,
    tokens: Tokens,
    watcher: CommandLineWatcher,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    repo = private_world.repo.full_name
    for _ in range(20):  # network commands until ps has caught git talking to the remote
        http_workspace.remote_sha(repo, "main")
        if watcher.seen:
            break
    main = http_workspace.fetch(repo, ["main"])["main"]
    with http_workspace.worktree(repo, main) as tree:
        (tree.path / "leak.txt").write_text("no\n")
        tree.commit_all("check", author=AUTHOR)
        tree.push("techlead/leak", expected=None)
        gitfile = (tree.path / ".git").read_text()
    tokens.current = "ghs_wrong000000000000000000000000000000"
    with pytest.raises(WorkspaceError) as caught:
        http_workspace.fetch(repo, ["main"])

    secrets = all_secret_forms(tokens)
    assert watcher.seen, "no git command line was observed"
    on_disk = [
        path
        for path in (tmp_path / "data").rglob("*")
        if path.is_file() and any(s.encode() in path.read_bytes() for s in secrets)
    ]
    out, err = capfd.readouterr()
    texts = {
        "ps": "\n".join(watcher.seen),
        "mirror config": (http_workspace.mirror_path(repo) / "config").read_text(),
        "worktree .git": gitfile,
        "logs": caplog.text,
        "output": out + err,
        "exception": str(caught.value),
    }
    assert on_disk == []
    for where, text in texts.items():
        assert not [s for s in secrets if s in text], f"token found in {where}"
    assert "git" in caplog.text and os.path.basename(str(tmp_path)) in caplog.text

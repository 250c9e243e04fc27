"""TechLead in-process against the GitHub sandbox: real webhooks, real worker, real gates.

- ``sandbox_session``: a session sandbox that also speaks git over HTTP.
- ``techlead_for(world)``: the TechLead app with every feature
  (:func:`tests.support.techlead.start_techlead`), its own data dir, and the world's
  webhooks pointed at it (App mode; token mode for a ``TokenWorld``).
  ``techlead.settle()`` waits until the sandbox has delivered every webhook and
  TechLead's queue has nothing left to do.
- ``pull_world_for(files, app=True)``: a repository holding a pinned ruff configuration
  and ``files``, with a checkout the test commits and pushes from; ``app=False`` makes
  one without any App installed (for token mode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import github
import httpx
import pytest

from bot.github import GitHubClient
from bot.sandbox import Sandbox
from bot.sandbox.sandbox import SandboxRepo, SandboxUser
from bot.settings import Settings
from bot.worker import WorkerConfig
from tests.conftest import World, build_world, make_github, unique
from tests.support.gitcli import GitCli
from tests.support.techlead import LocalTechLead, served_sandbox, start_techlead, techlead_settings

SECRET = "gates-e2e-secret"
REVIEW_SUMMARY = "<!-- techlead:review-summary -->"
# Pinned so the tests do not depend on ruff's changing defaults.
PYPROJECT = '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint]\nselect = ["E", "F"]\n'
BASE_FILES: dict[str, str] = {"README.md": "# Project\n", "pyproject.toml": PYPROJECT}
WORKER = WorkerConfig(threads=3, poll_seconds=0.05, heartbeat_seconds=5)

TechLead = LocalTechLead


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with served_sandbox(tmp_path_factory.mktemp("gates-sandbox")) as sandbox:
        yield sandbox


TechLeadFactory = Callable[..., TechLead]


@pytest.fixture
def techlead_for(sandbox: Sandbox, tmp_path: Path) -> Iterator[TechLeadFactory]:
    made: list[TechLead] = []

    def make(world: World | TokenWorld) -> TechLead:
        settings = techlead_settings_for(world, tmp_path / f"techlead-{len(made)}")
        client = GitHubClient(settings, clock=sandbox.clock)
        app_id = world.app.id if isinstance(world, World) else None
        made.append(start_techlead(sandbox, client, SECRET, worker=WORKER, app_id=app_id))
        return made[-1]

    yield make
    sandbox.set_webhook(None, None)
    for techlead in made:
        techlead.bot.stop()


def techlead_settings_for(world: World | TokenWorld, data_dir: Path) -> Settings:
    if isinstance(world, TokenWorld):
        return techlead_settings(world.api_url, data_dir, SECRET, github_token=world.user.token)
    return techlead_settings(
        world.api_url,
        data_dir,
        SECRET,
        app_id=world.app.id,
        private_key=world.private_key,
        bot_login=world.app.bot_login,
    )


@dataclass
class TokenWorld:
    """A repository with no App installed: TechLead acts with its owner's token."""

    sandbox: Sandbox
    api_url: str
    user: SandboxUser
    repo: SandboxRepo
    user_gh: github.Github

    def close(self) -> None:
        self.user_gh.close()


@dataclass
class PullWorld:
    """A world plus a checkout of its repository to push branches from."""

    world: World | TokenWorld
    git: GitCli
    checkout: Path

    @property
    def repo(self) -> str:
        return self.world.repo.full_name

    def push(self, branch: str, files: dict[str, str | None], message: str = "change") -> str:
        """Commit ``files`` on ``branch`` (created from main when new) and push it."""
        if branch not in self.git.ok("branch", "--list", branch, cwd=self.checkout):
            self.git.ok("checkout", "-q", "-b", branch, "origin/main", cwd=self.checkout)
        else:
            self.git.ok("checkout", "-q", branch, cwd=self.checkout)
        sha = self.git.commit(self.checkout, files, message)
        self.git.ok("push", "-q", "origin", branch, cwd=self.checkout, token=self.world.user.token)
        return sha

    def open_pull(self, branch: str, title: str = "A change", *, draft: bool = False) -> int:
        repo = self.world.user_gh.get_repo(self.repo)
        pull = repo.create_pull(base="main", head=branch, title=title, body="", draft=draft)
        return int(pull.number)

    def runs(self, sha: str, *, latest: bool = False) -> list[dict[str, Any]]:
        """Check runs on ``sha`` (every one, or the newest per name), oldest first."""
        query = {"filter": "latest" if latest else "all", "per_page": 100}
        data = self.api("GET", f"/repos/{self.repo}/commits/{sha}/check-runs", params=query)
        return sorted(data["check_runs"], key=lambda run: run["id"])

    def run_named(self, sha: str, name: str) -> dict[str, Any]:
        found = [run for run in self.runs(sha, latest=True) if run["name"] == name]
        assert len(found) == 1, [run["name"] for run in self.runs(sha)]
        return found[0]

    def annotations(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            url = f"/repos/{self.repo}/check-runs/{run['id']}/annotations"
            batch = self.api("GET", url, params={"per_page": 100, "page": page})
            found += batch
            if len(batch) < 100:
                return found
            page += 1

    def as_app(self, verb: str, path: str, **options: Any) -> Any:
        """A request with an installation token (only the App may re-request its runs)."""
        assert isinstance(self.world, World)
        token = self.world.sandbox.installation_token(self.world.installation.id)
        return self.api(verb, path, token=token, **options)

    def api(self, verb: str, path: str, *, token: str | None = None, **options: Any) -> Any:
        headers = {"Authorization": f"token {token or self.world.user.token}"}
        with httpx.Client(base_url=self.world.api_url, headers=headers, timeout=15) as http:
            answer = http.request(verb, path, **options)
        answer.raise_for_status()
        return answer.json() if answer.content else None


def make_pull_world(
    sandbox: Sandbox,
    app_key: tuple[str, str],
    tmp_path: Path,
    files: dict[str, str],
    *,
    app: bool = True,
) -> PullWorld:
    world: World | TokenWorld
    if app:
        world = build_world(sandbox, sandbox.api_url, app_key, files={**BASE_FILES, **files})
    else:
        world = token_world(sandbox, {**BASE_FILES, **files})
    home = tmp_path / unique("home")
    home.mkdir()
    git = GitCli(home)
    checkout = tmp_path / unique("checkout")
    url = f"{sandbox.base_url}/{world.repo.full_name}.git"
    git.ok("clone", "-q", url, str(checkout), token=world.user.token)
    return PullWorld(world, git, checkout)


def token_world(sandbox: Sandbox, files: dict[str, str]) -> TokenWorld:
    user = sandbox.create_user(unique("owner"), name="Repo Owner")
    repo = sandbox.create_repo(user.login, unique("project"), files=dict(files))
    client = make_github(github.Auth.Token(user.token), sandbox.api_url)
    return TokenWorld(sandbox, sandbox.api_url, user, repo, client)


PullWorldFactory = Callable[..., PullWorld]


@pytest.fixture
def pull_world_for(
    sandbox: Sandbox, app_key: tuple[str, str], tmp_path: Path
) -> Iterator[PullWorldFactory]:
    """``pull_world_for(files)``: a fresh repository holding ``files`` besides the base ones."""
    made: list[PullWorld] = []

    def make(files: dict[str, str] | None = None, *, app: bool = True) -> PullWorld:
        made.append(make_pull_world(sandbox, app_key, tmp_path, files or {}, app=app))
        return made[-1]

    yield make
    for item in made:
        item.world.close()


def statuses(pr: PullWorld, sha: str) -> dict[str, dict[str, Any]]:
    """The newest commit status of each context on ``sha``."""
    combined = pr.api("GET", f"/repos/{pr.repo}/commits/{sha}/status")
    return {status["context"]: status for status in combined["statuses"]}


def comments(pr: PullWorld, number: int) -> list[dict[str, Any]]:
    """The gates' comments on the pull request (the reviewers' summary is another's)."""
    found: list[dict[str, Any]] = pr.api(
        "GET", f"/repos/{pr.repo}/issues/{number}/comments", params={"per_page": 100}
    )
    return [comment for comment in found if REVIEW_SUMMARY not in comment["body"]]

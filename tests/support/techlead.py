"""TechLead served in-process for end-to-end tests: the sandbox it talks to, starting, settling.

- :func:`served_sandbox`: a strict sandbox on a manual clock that also speaks git over
  HTTP (research clones, gate fetches), served by uvicorn on 127.0.0.1.
- :func:`techlead_settings`: TechLead's settings for the sandbox (App or token mode).
- :func:`start_techlead`: the app as ``techlead serve`` composes it (``bot.demo.LocalBot``:
  intake, router, every feature, the worker started by the lifespan), with the sandbox's
  webhooks pointed at it; :meth:`LocalTechLead.settle` waits until the sandbox delivered
  every webhook and the queue has nothing left to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.demo import LocalBot, sandbox_modules, wait_idle
from bot.github import GitHubClient
from bot.jobs import Job, JobState
from bot.sandbox import ManualClock, Sandbox
from bot.sandbox.sandbox import SandboxApp
from bot.sandbox.server import ServerThread
from bot.settings import Settings
from bot.worker import WorkerConfig

SETTLE_TIMEOUT = 60.0


@contextmanager
def served_sandbox(root: Path) -> Iterator[Sandbox]:
    sandbox = Sandbox(root, clock=ManualClock(), strict=True, modules=sandbox_modules())
    server = ServerThread(sandbox)
    server.start()
    try:
        yield sandbox
    finally:
        server.stop()


def techlead_settings(api_url: str, data_dir: Path, secret: str, **credentials: Any) -> Settings:
    """``credentials``: ``app_id``, ``private_key`` and ``bot_login``, or ``github_token``."""
    return Settings(
        webhook_secrets=(secret,),
        api_url=api_url,
        data_dir=data_dir,
        write_interval=0.0,
        **credentials,
    )


@dataclass
class LocalTechLead:
    """The TechLead app on a local port, and the sandbox whose webhooks it answers."""

    bot: LocalBot
    client: GitHubClient
    sandbox: Sandbox

    @property
    def url(self) -> str:
        return self.bot.webhook_url

    @property
    def settings(self) -> Settings:
        return self.bot.settings

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Until every webhook is delivered and every job done (retries included)."""
        assert wait_idle(self.sandbox, self.bot, timeout), f"still busy: {self.busy()}"

    def jobs(self, kind: str | None = None) -> list[Job]:
        """Every job (of ``kind``), oldest first."""
        found = self.bot.services.queue.list(limit=10_000)
        return [job for job in found if kind in (None, job.kind)]

    def busy(self) -> list[str]:
        unfinished = [job for job in self.jobs() if job.state is not JobState.DONE]
        return [f"{job.id} {job.kind} {job.state.value}" for job in unfinished]


def start_techlead(
    sandbox: Sandbox,
    client: GitHubClient,
    secret: str,
    *,
    worker: WorkerConfig,
    app_id: int | None = None,
) -> LocalTechLead:
    """Start TechLead; the App's webhook (or, without ``app_id``, the sandbox's) points at it."""
    bot = LocalBot(client.settings, client, worker=worker)
    bot.start()
    if app_id is None:
        sandbox.set_webhook(bot.webhook_url, secret)
    else:
        sandbox.set_app_webhook(app_id, bot.webhook_url, secret)
    return LocalTechLead(bot, client, sandbox)


def no_wait(seconds: float) -> None:
    """The port's retry pause in tests: the sandbox answers at once."""


@dataclass
class AppTechLead(LocalTechLead):
    """TechLead serving as a sandbox App (the App, its key, its webhook pointed at it)."""

    app: SandboxApp

    @property
    def github(self) -> GitHubClient:
        return self.client


@contextmanager
def app_techlead(
    sandbox: Sandbox,
    app_key: tuple[str, str],
    data_dir: Path,
    secret: str,
    *,
    name: str,
    worker: WorkerConfig,
) -> Iterator[AppTechLead]:
    """A new App on the sandbox, installed nowhere yet, and TechLead running as it."""
    private_key, public_key = app_key
    owner = sandbox.create_user(f"{name}-owner")
    app = sandbox.create_app(owner.login, name, public_key_pem=public_key)
    settings = techlead_settings(
        sandbox.api_url,
        data_dir,
        secret,
        app_id=app.id,
        private_key=private_key,
        bot_login=app.bot_login,
    )
    client = GitHubClient(settings, sleep=no_wait)
    started = start_techlead(sandbox, client, secret, worker=worker, app_id=app.id)
    try:
        yield AppTechLead(started.bot, started.client, started.sandbox, app)
    finally:
        started.bot.stop()

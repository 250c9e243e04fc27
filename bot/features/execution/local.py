"""``techlead run``: carry out an issue's plan for a local repository, with no GitHub.

The local repository is pushed to a private, in-process GitHub sandbox on 127.0.0.1;
the whole app (planning, execution, gates) runs against it exactly as it runs against
GitHub, with the plan approved at once; then the branches TechLead made
(``techlead/*``: the integration branch, and task branches that were not merged)
are fetched back into the local repository. Gates run on this machine. Nothing leaves
it: the sandbox is a local process and the agents are whatever the roster names.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.demo import LocalBot, Person, app_settings, sandbox_modules, wait_idle
from bot.errors import RepoConfigError, WorkspaceError
from bot.features.execution import render, templates
from bot.features.execution.model import Run
from bot.github import GitHubClient
from bot.plans import PlanRecord
from bot.repo_config import RepoConfig, fetch_repo_config, load_defaults
from bot.sandbox import Sandbox
from bot.sandbox.server import ServerThread
from bot.state import open_run_store
from bot.worker import WorkerConfig
from bot.workspace import exchange, git_remote_url

OWNER = "local"
BRANCHES = "+refs/heads/techlead/*:refs/heads/techlead/*"
WORKER = WorkerConfig(threads=8, poll_seconds=0.05)
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class LocalResult:
    record: PlanRecord
    run: Run
    branches: tuple[str, ...]


@dataclass
class Forge:
    """The sandbox standing in for GitHub, and TechLead answering its webhooks."""

    sandbox: Sandbox
    bot: LocalBot
    person: Person
    repo: str
    url: str
    token: str
    config: RepoConfig

    def settle(self, timeout: float) -> None:
        if not wait_idle(self.sandbox, self.bot, timeout):
            raise TimeoutError(f"TechLead did not finish within {timeout:g}s")


def issue_text(text: str) -> tuple[str, str]:
    """A Markdown file as an issue: the first non-empty line (without ``#``) is the title."""
    lines = text.strip().splitlines()
    if not lines:
        raise ValueError("the issue file is empty")
    return lines[0].lstrip("#").strip() or "Local issue", "\n".join(lines[1:]).strip() + "\n"


@contextmanager
def forge(repo_path: Path, data_dir: Path) -> Iterator[Forge]:
    sandbox = Sandbox(data_dir / "forge", modules=sandbox_modules())
    server = ServerThread(sandbox)
    server.start()
    try:
        owner = sandbox.create_user(OWNER)
        name = _NAME.sub("-", repo_path.resolve().name).strip(".-") or "project"
        repo = sandbox.create_repo(owner.login, name)
        url = git_remote_url(sandbox.api_url, repo.full_name)
        exchange(repo_path, "push", url, ["HEAD:refs/heads/main"], ("x-access-token", owner.token))
        app = sandbox.create_app(owner.login, "techlead-local")
        installation = sandbox.install_app(app.id, owner.login, repositories=[repo.name])
        secret = secrets.token_hex(16)
        settings = app_settings(sandbox, app, data_dir / "techlead", secret)
        client = GitHubClient(settings)
        try:
            config = fetch_repo_config(client.port(installation.id), repo.full_name)
        except RepoConfigError:
            config = load_defaults()  # the plan comment will say what is wrong
        bot = LocalBot(settings, client, worker=WORKER)
        bot.start()
        sandbox.set_app_webhook(app.id, bot.webhook_url, secret)
        person = Person(sandbox.api_url, owner.login, owner.token)
        try:
            yield Forge(sandbox, bot, person, repo.full_name, url, owner.token, config)
        finally:
            person.close()
            bot.stop()
    finally:
        server.stop()


def run_locally(
    repo_path: Path, title: str, body: str, data_dir: Path, out: TextIO, timeout: float
) -> LocalResult:
    """Plan, approve and execute; bring the branches back; say what happened on ``out``."""
    with forge(repo_path, data_dir) as local:
        words = local.config.trigger
        issue = local.person.open_issue(local.repo, title, body)
        local.person.label(local.repo, issue, words.label)
        local.settle(timeout)
        record = local.bot.plan(local.repo, issue)
        if record.plan is not None and record.error is None:
            local.person.comment(local.repo, issue, f"{words.command} approve")
            local.settle(timeout)
        record = local.bot.plan(local.repo, issue)
        with open_run_store(local.bot.settings) as runs:
            run = runs.load(local.repo, issue)
        branches = _bring_back(repo_path, local, run)
    _report(out, record, run, branches, local.config.execution.max_parallel)
    return LocalResult(record, run, branches)


def _bring_back(repo_path: Path, local: Forge, run: Run) -> tuple[str, ...]:
    if not run.integration_branch:
        return ()
    try:
        exchange(repo_path, "fetch", local.url, [BRANCHES], ("x-access-token", local.token))
    except WorkspaceError:
        return ()
    names = [run.integration_branch, *(task.branch for task in run.tasks.values())]
    heads = repo_path / ".git" / "refs" / "heads"
    packed = repo_path / ".git" / "packed-refs"
    listed = packed.read_text() if packed.exists() else ""
    return tuple(n for n in dict.fromkeys(names) if n and ((heads / n).exists() or n in listed))


def _report(
    out: TextIO, record: PlanRecord, run: Run, branches: tuple[str, ...], parallel: int
) -> None:
    plan = record.plan
    if plan is None or record.error is not None:
        out.write(f"No plan: {record.error or 'the issue was not planned'}\n")
        return
    out.write(f"Plan v{plan.version} · {plan.state.value} · {len(plan.tasks)} tasks\n\n")
    for task in plan.tasks:
        state = run.task(task.id)
        phase = templates.PHASE_NAMES[state.phase.value]
        reason = f" · {state.reason}" if state.reason else ""
        out.write(f"- {task.id} {task.title} · {task.agent} · {phase}{reason}\n")
    section = render.section(plan, run, parallel)
    metrics = [line for line in section.splitlines() if line.startswith("Parallel efficiency")]
    if metrics:
        out.write(f"\n{metrics[0]}\n")
    if branches:
        out.write("\nBranches in the local repository:\n")
        out.write("".join(f"  {name}\n" for name in branches))

"""Test helpers that stand in for what later versions do (a task failing) or for other bots."""

from __future__ import annotations

import itertools
from dataclasses import replace

from bot.actions import UpsertComment
from bot.demo import Person
from bot.executor import Executor
from bot.features.planning.decide import checklist_body
from bot.plan.checklist import PLAN_MARKER
from bot.plan.model import TaskStatus
from bot.plans import PlanStore
from bot.sandbox.sandbox import SandboxApp
from tests.planning.conftest import Project

_apps = itertools.count(1)


def fail_task(project: Project, issue: int, task_id: str) -> None:
    """Mark a task failed, as the executor of a later version would, and show it."""
    with PlanStore.open(project.techlead.settings.data_dir) as plans:
        record = plans.load(project.name, issue)
        assert record.plan is not None
        failed = record.plan.with_task(task_id, status=TaskStatus.FAILED)
        saved = plans.save(replace(record, plan=failed))
    port = project.techlead.github.port(project.installation_id)
    body = checklist_body(saved, "/techlead")
    Executor(port).apply_one(
        UpsertComment(project.name, issue, PLAN_MARKER, body, comment_id=saved.comment_id)
    )
    project.settle()


def github_as_app(project: Project, app: SandboxApp | None = None) -> Person:
    """Someone acting as a GitHub App's bot: TechLead's own (``app``) or another App."""
    sandbox = project.sandbox
    if app is None:
        app = sandbox.create_app(project.owner.login, f"other-bot-{next(_apps)}-{project.repo.id}")
        installation = sandbox.install_app(
            app.id, project.owner.login, repositories=[project.repo.name]
        )
        installation_id = installation.id
    else:
        installation_id = project.installation_id
    token = sandbox.installation_token(installation_id)
    person = Person(sandbox.api_url, app.bot_login, token)
    project.people.append(person)
    return person

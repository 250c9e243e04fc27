"""Execution end to end: the sandbox (git over HTTP), TechLead in-process, a command agent.

- ``techlead``: one TechLead App and server per session, with enough worker threads for
  four tasks at once beside the gates.
- ``project``: per test, a fresh repository whose ``.github/techlead.yml`` gives every
  task to one specialist running ``tests/execution/agent_script.py`` as its
  ``command:`` executor, with only the lint gate enabled.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.demo import Person
from bot.features.execution.model import Run
from bot.features.execution.store import RunStore
from bot.plan.checklist import PLAN_MARKER, parse_state
from bot.plan.model import Plan
from bot.plans import PlanRecord
from bot.sandbox import Sandbox
from bot.sandbox.sandbox import SandboxRepo
from bot.worker import WorkerConfig
from tests.support.techlead import AppTechLead, app_techlead, served_sandbox

SECRET = "execution-webhook-secret"
SETTLE_TIMEOUT = 90.0
WORKER = WorkerConfig(threads=8, poll_seconds=0.05)
AGENT = Path(__file__).with_name("agent_script.py")
_names = itertools.count(1)

FILES = {
    "README.md": "# Shop\n\nCarts, prices and coupons over HTTP.\n",
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0.1.0"\n',
    "src/shop/__init__.py": "",
    "src/shop/cart.py": "def total(items):\n    return sum(price for _, price in items)\n",
    "tests/test_cart.py": "def test_total():\n    assert True\n",
}


def config_text(task_seconds: float = 60, extra: str = "") -> str:
    return f"""\
agents_replace: true
agents:
  - name: coder
    description: Does every task of these tests.
    keywords: [coupon, schema, database, cart, tests, docs]
    executor: "command:{sys.executable} {AGENT}"
  - name: person
    description: Tasks only a person can do.
    keywords: [manual]
    executor: handoff
planning:
  require_approval: true
execution:
  max_parallel: 4
  task_seconds: {task_seconds}
  maintainers: [shop-lead]
{extra}gates:
  contracts: {{enabled: false}}
  integration: {{enabled: false}}
  performance: {{enabled: false}}
  security: {{enabled: false}}
"""


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with served_sandbox(tmp_path_factory.mktemp("execution-sandbox")) as sandbox:
        yield sandbox


TechLead = AppTechLead


@pytest.fixture(scope="session")
def techlead(
    sandbox_session: Sandbox, app_key: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TechLead]:
    data_dir = tmp_path_factory.mktemp("techlead-data")
    name = f"techlead-exec-{next(_names)}"
    with app_techlead(sandbox_session, app_key, data_dir, SECRET, name=name, worker=WORKER) as app:
        yield app


@dataclass
class Project:
    sandbox: Sandbox
    techlead: TechLead
    repo: SandboxRepo
    maintainer: Person
    owner: Person
    installation_id: int
    people: list[Person] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.repo.full_name

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        self.techlead.settle(timeout)

    def configure(self, text: str) -> None:
        content = base64.b64encode(text.encode()).decode()
        path = f"/repos/{self.name}/contents/.github/techlead.yml"
        change = {"message": "Configure TechLead", "content": content}
        with contextlib.suppress(httpx.HTTPStatusError):  # none yet: the first configuration
            change["sha"] = self.owner.call("GET", path)["sha"]
        self.owner.call("PUT", path, change)

    def planned(self, body: str, title: str = "Coupons at checkout") -> int:
        number = self.maintainer.open_issue(self.name, title, body)
        self.maintainer.label(self.name, number, "techlead")
        self.settle()
        return number

    def approve(self, issue: int) -> None:
        self.maintainer.comment(self.name, issue, "/techlead approve")
        self.settle()

    def plan_comment(self, issue: int) -> dict[str, Any]:
        found = [
            c
            for c in self.maintainer.comments(self.name, issue)
            if c["body"].lstrip().startswith(PLAN_MARKER)
        ]
        assert len(found) == 1, f"expected one plan comment, found {len(found)}"
        return found[0]

    def shown_plan(self, issue: int) -> Plan:
        plan = parse_state(self.plan_comment(issue)["body"])
        assert plan is not None
        return plan

    def record(self, issue: int) -> PlanRecord:
        return self.techlead.bot.plan(self.name, issue)

    def run(self, issue: int) -> Run:
        with RunStore.open(self.techlead.settings.data_dir) as runs:
            return runs.load(self.name, issue)

    def pulls(self, state: str = "all") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.maintainer.call(
            "GET", f"/repos/{self.name}/pulls?state={state}&per_page=100"
        )
        return found

    def branches(self) -> list[str]:
        found = self.maintainer.call("GET", f"/repos/{self.name}/branches?per_page=100")
        return sorted(item["name"] for item in found)

    def file(self, path: str, ref: str) -> str | None:
        try:
            data = self.maintainer.call("GET", f"/repos/{self.name}/contents/{path}?ref={ref}")
        except httpx.HTTPStatusError:  # a missing file is a 404
            return None
        return base64.b64decode(data["content"]).decode()


@pytest.fixture
def project(sandbox: Sandbox, techlead: TechLead) -> Iterator[Project]:
    number = next(_names)
    owner = sandbox.create_user(f"shop-owner-{number}")
    repo = sandbox.create_repo(owner.login, f"shop-{number}", files=FILES)
    installation = sandbox.install_app(techlead.app.id, owner.login, repositories=[repo.name])
    maintainer_user = sandbox.create_user(f"maintainer-{number}")
    sandbox.set_role(repo.full_name, maintainer_user.login, "write")
    owner_person = Person(sandbox.api_url, owner.login, owner.token)
    maintainer = Person(sandbox.api_url, maintainer_user.login, maintainer_user.token)
    made = Project(
        sandbox,
        techlead,
        repo,
        maintainer=maintainer,
        owner=owner_person,
        installation_id=installation.id,
        people=[owner_person, maintainer],
    )
    made.configure(config_text())
    yield made
    made.settle()
    for person in made.people:
        person.close()


def checklist_history(project: Project, issue: int) -> list[str]:
    """Every version of the plan comment TechLead wrote, in order (the App's webhook log)."""
    bodies = []
    for delivery in project.sandbox.webhook_deliveries(project.techlead.app.id):
        if delivery.event != "issue_comment" or delivery.repository_id != project.repo.id:
            continue
        payload = json.loads(delivery.body)
        body = str(payload["comment"]["body"])
        if payload["issue"]["number"] == issue and body.startswith(PLAN_MARKER):
            bodies.append(body)
    return bodies

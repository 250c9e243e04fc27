"""The planning feature end to end: the sandbox (with git over HTTP) and TechLead in-process.

- ``sandbox_session``: the shared sandbox, speaking git's smart HTTP (research clones).
- ``techlead``: one TechLead App and one TechLead server per test session: the real app
  (:func:`tests.support.techlead.start_techlead`: signed webhook intake, router, worker,
  planning jobs) served by uvicorn on 127.0.0.1, with the App's webhook pointed at it.
  The GitHub port talks to the sandbox over HTTP with write pacing 0 and waits skipped
  (5xx backoff, short rate-limit waits).
- ``project``: per test, a fresh owner with a small Python repository the App is
  installed on, a maintainer (write), a triager and a reader, each acting through the
  REST API with their own token; ``project.settle()`` waits until every webhook was
  delivered and every job ran.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.demo import Person
from bot.jobs import Job
from bot.plan.checklist import PLAN_MARKER, parse_state
from bot.plan.model import Plan
from bot.plans import PlanRecord
from bot.sandbox import Sandbox
from bot.sandbox.sandbox import SandboxRepo
from bot.worker import WorkerConfig
from tests.support.techlead import AppTechLead, app_techlead, served_sandbox

SECRET = "planning-webhook-secret"
SETTLE_TIMEOUT = 30.0
WORKER = WorkerConfig(threads=2, poll_seconds=0.05)
_names = itertools.count(1)

PROJECT_FILES = {
    "README.md": "# Shop\n\nCarts, prices and coupons over HTTP.\n",
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0.1.0"\n',
    "src/shop/__init__.py": "",
    "src/shop/cart.py": "def total(items):\n    return sum(price for _, price in items)\n",
    "src/shop/api.py": "def add_item(cart, sku):\n    cart.append(sku)\n",
    "tests/test_cart.py": "from shop.cart import total\n\n\ndef test_total():\n"
    "    assert total([]) == 0\n",
    "docs/api.md": "# API\n\n- POST /carts/{id}/items\n",
}

ISSUE_BODY = """\
Checkout needs coupons.

- [ ] Define the coupon API schema (high)
- [ ] Store coupons in the database (after 1)
- [ ] Apply coupons to the cart total (after 1, 2)
- [ ] Add tests for coupons (after 3)
"""


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with served_sandbox(tmp_path_factory.mktemp("planning-sandbox")) as sandbox:
        yield sandbox


TechLead = AppTechLead


@pytest.fixture(scope="session")
def techlead(
    sandbox_session: Sandbox, app_key: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TechLead]:
    data_dir = tmp_path_factory.mktemp("techlead-data")
    name = f"techlead-e2e-{next(_names)}"
    with app_techlead(sandbox_session, app_key, data_dir, SECRET, name=name, worker=WORKER) as app:
        yield app


@dataclass
class Project:
    """One test's repository with TechLead installed, and the people working on it."""

    sandbox: Sandbox
    techlead: TechLead
    repo: SandboxRepo
    maintainer: Person
    triager: Person
    reader: Person
    installation_id: int
    people: list[Person] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.repo.full_name

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        self.techlead.settle(timeout)

    def open_issue(self, title: str = "Coupons at checkout", body: str = ISSUE_BODY) -> int:
        return self.maintainer.open_issue(self.name, title, body)

    def planned_issue(self, body: str = ISSUE_BODY) -> int:
        """An issue labelled by the maintainer and planned by TechLead."""
        number = self.open_issue(body=body)
        self.maintainer.label(self.name, number, "techlead")
        self.settle()
        return number

    def comments(self, issue: int) -> list[dict[str, Any]]:
        return self.maintainer.comments(self.name, issue)

    def plan_comments(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments(issue) if c["body"].lstrip().startswith(PLAN_MARKER)]

    def plan_comment(self, issue: int) -> dict[str, Any]:
        found = self.plan_comments(issue)
        assert len(found) == 1, f"expected one plan comment, found {len(found)}"
        return found[0]

    def shown_plan(self, issue: int) -> Plan:
        """The plan mirrored in the comment's hidden state block."""
        plan = parse_state(self.plan_comment(issue)["body"])
        assert plan is not None, "the plan comment has no state block"
        return plan

    def record(self, issue: int) -> PlanRecord:
        return self.techlead.bot.plan(self.name, issue)

    def replies(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments(issue) if "techlead:reply:" in c["body"]]

    def reactions(self, comment_id: int) -> list[str]:
        found = self.maintainer.call(
            "GET", f"/repos/{self.name}/issues/comments/{comment_id}/reactions"
        )
        return sorted(item["content"] for item in found)

    @property
    def owner(self) -> Person:
        return self.people[0]

    def write_config(self, text: str) -> None:
        """Commit ``.github/techlead.yml`` on the default branch, as the owner would."""
        content = base64.b64encode(text.encode()).decode()
        self.owner.call(
            "PUT",
            f"/repos/{self.name}/contents/.github/techlead.yml",
            {"message": "Configure TechLead", "content": content},
        )

    def jobs(self, kind: str, issue: int) -> list[Job]:
        """This repository's jobs of ``kind`` for ``issue``, oldest first."""
        return [
            job
            for job in self.techlead.jobs(kind)
            if job.payload.get("repo") == self.name and job.payload.get("issue") == issue
        ]


@pytest.fixture
def project(sandbox: Sandbox, techlead: TechLead) -> Iterator[Project]:
    number = next(_names)
    owner = sandbox.create_user(f"shop-owner-{number}")
    repo = sandbox.create_repo(owner.login, f"shop-{number}", files=PROJECT_FILES)
    installation = sandbox.install_app(techlead.app.id, owner.login, repositories=[repo.name])
    people = [Person(sandbox.api_url, owner.login, owner.token)]
    for role in ("write", "triage", "read"):
        user = sandbox.create_user(f"{role}-person-{number}")
        sandbox.set_role(repo.full_name, user.login, role)
        people.append(Person(sandbox.api_url, user.login, user.token))
    made = Project(
        sandbox,
        techlead,
        repo,
        maintainer=people[1],
        triager=people[2],
        reader=people[3],
        installation_id=installation.id,
        people=people,
    )
    yield made
    made.settle()
    for person in people:
        person.close()
